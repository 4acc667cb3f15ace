"""Shared fixtures: a fake clock, the platform on SQLite, and PostgreSQL in a schema of its own.

PostgreSQL tests use ZHIFA_TEST_POSTGRES_URL (default: the local server, database ``test``).
When it is unreachable they are skipped on a developer machine, but under CI=true a skip would
hide a broken adapter, so they fail instead.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.factories import make_app
from tests.fakes import FakeClock
from zhifa.bootstrap import App

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def postgres_url() -> str:
    return os.environ.get("ZHIFA_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    url = postgres_url()
    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        message = f"PostgreSQL unreachable at {make_url(url).render_as_string(hide_password=True)}: {exc}"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: PostgreSQL tests may not be skipped)")
        pytest.skip(message)
    return url


def nats_url() -> str:
    return os.environ.get("ZHIFA_TEST_NATS_URL", DEFAULT_NATS_URL)


@pytest.fixture(scope="session")
def nats_server() -> str:
    """The NATS server with JetStream; like PostgreSQL, never skipped under CI=true."""
    url = nats_url()
    address = url.removeprefix("nats://")
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2) as conn:
            conn.settimeout(2)
            greeting = conn.recv(4096)
        if not greeting.startswith(b"INFO") or b'"jetstream":true' not in greeting.replace(b" ", b""):
            raise ConnectionError(f"no JetStream in the server's greeting: {greeting[:200]!r}")
    except (OSError, ValueError) as exc:
        message = f"NATS JetStream unreachable at {url}: {exc}"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: NATS tests may not be skipped)")
        pytest.skip(message)
    return url


@pytest.fixture
def postgres_schema_url(postgres_server: str) -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards: tests never see each other."""
    schema = f"zhifa_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_server).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'zhifa.db'}"


@pytest.fixture
def app(sqlite_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[App]:
    """The platform on a fresh SQLite file with Anhui loaded."""
    platform = make_app(sqlite_url, tmp_path / "data", clock)
    yield platform
    platform.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_app(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[App]:
    """The platform on each supported store in turn."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'zhifa.db'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    platform = make_app(url, tmp_path / "data", clock)
    yield platform
    platform.close()


@pytest.fixture(params=["local", pytest.param("nats", marks=pytest.mark.nats)])
def bus_settings(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Settings for each bus in turn, for tests that start platform processes: LocalBus, then
    NATS on streams of their own (deleted afterwards); a short ack wait so redelivery is quick."""
    if request.param == "local":
        yield {"bus": "local", "bus_ack_wait_seconds": 1.0, "bus_partitions": 4}
        return
    url = request.getfixturevalue("nats_server")
    prefix = f"t{uuid.uuid4().hex[:8]}"
    yield {
        "bus": "nats",
        "nats_url": url,
        "nats_prefix": prefix,
        "bus_ack_wait_seconds": 1.0,
        "bus_partitions": 4,
    }
    from zhifa.adapters.bus.nats import NatsBus

    cleanup = NatsBus(url, 4, prefix=prefix)
    cleanup.delete_streams()
    cleanup.close()
