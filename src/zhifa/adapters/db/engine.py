"""Engines for the operational store: SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; NORMAL sync is durable across application
    # crashes in WAL mode (only an OS crash can lose the last commits); foreign keys are off by
    # default in SQLite and must be switched on per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()
    # Let SQLAlchemy, not the driver, decide where transactions begin (see _begin_immediate).
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Any) -> None:
    # A deferred SQLite transaction that reads and then writes fails at once with "database is
    # locked" when another writer got there first; taking the write lock at BEGIN makes writers
    # queue on the busy timeout instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_deferred(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


@dataclass(frozen=True)
class Engines:
    """The engine writers use and the one read models use (the same one on PostgreSQL)."""

    write: Engine
    read: Engine

    @property
    def dialect(self) -> str:
        return self.write.dialect.name

    def dispose(self) -> None:
        self.write.dispose()
        if self.read is not self.write:
            self.read.dispose()


def _sqlite_engine(url: str, *, immediate: bool, **kwargs: Any) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _begin_immediate if immediate else _begin_deferred)
    return engine


def make_engines(url: str, **kwargs: Any) -> Engines:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return Engines(
            write=_sqlite_engine(url, immediate=True, **kwargs),
            read=_sqlite_engine(url, immediate=False, **kwargs),
        )
    if backend == "postgresql":
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
        return Engines(write=engine, read=engine)
    raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
