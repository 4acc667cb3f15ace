"""Readings in columnar form: Arrow schemas, bus encoding and vectorized validation."""
