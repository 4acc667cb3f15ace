"""Migrations: ``alembic upgrade head`` on an empty database yields exactly the models' schema.

If someone changes a table without a migration (or the reverse), ``compare_metadata`` lists the
difference and these tests fail, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from zhifa.adapters.db.engine import make_engines
from zhifa.adapters.db.migrate import upgrade
from zhifa.adapters.db.tables import Base

REPO = Path(__file__).resolve().parents[2]


def _differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_upgrade_head_on_empty_sqlite_matches_models(tmp_path: Path) -> None:
    """The programmatic upgrade builds every table of the models and nothing else."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engines = make_engines(url)
    upgrade(engines)
    engines.dispose()
    assert _differences(url) == []
    tables = set(inspect(create_engine(url)).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_alembic_command_line_upgrade_head(tmp_path: Path) -> None:
    """The literal `alembic upgrade head`, configured by ZHIFA_DATABASE_URL, matches the models."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    alembic = Path(sys.executable).parent / "alembic"
    env = {**os.environ, "ZHIFA_DATABASE_URL": url}
    done = subprocess.run(
        [str(alembic), "upgrade", "head"], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert _differences(url) == []


@pytest.mark.postgres
def test_upgrade_head_on_empty_postgres_matches_models(postgres_schema_url: str) -> None:
    """The same migration on PostgreSQL gives the same schema as the models (JSONB, timestamptz)."""
    engines = make_engines(postgres_schema_url)
    upgrade(engines)
    engines.dispose()
    assert _differences(postgres_schema_url) == []


def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    """Running the upgrade on a database already at head changes nothing."""
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    engines = make_engines(url)
    upgrade(engines)
    upgrade(engines)
    engines.dispose()
    assert _differences(url) == []
