"""zhifa — 智慧交通综合执法监管平台, an open platform for Chinese transport enforcement."""

__version__ = "0.1.0"
