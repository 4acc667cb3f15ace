"""The zh-CN pages (Jinja2, server-rendered) beside the API."""

from __future__ import annotations

from fastapi import FastAPI


def install(api: FastAPI) -> None:
    """Mount the pages, their static files and the HTML error page on ``api``."""
