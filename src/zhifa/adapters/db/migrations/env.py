"""Alembic environment: migrations run on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from zhifa.adapters.db.engine import make_engines
from zhifa.adapters.db.tables import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from zhifa.config import Settings

    return Settings().resolved_database_url


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engines = make_engines(_url())
    try:
        with engines.write.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engines.dispose()
