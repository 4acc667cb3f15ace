"""Run the Alembic migrations programmatically (what `alembic upgrade head` does)."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config

from zhifa.adapters.db.engine import Engines


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("zhifa.adapters.db") / "migrations"))
    return config


def upgrade(engines: Engines, revision: str = "head") -> None:
    config = alembic_config()
    with engines.write.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()
