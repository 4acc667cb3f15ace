"""``zhifa db upgrade``, ``zhifa reference load``, ``zhifa serve``: running the platform (with the
lake writer in a thread unless it runs as its own ``zhifa worker``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from zhifa.bootstrap import App, bootstrap
from zhifa.config import Settings
from zhifa.domain.readings import ReadingKind
from zhifa.services import registers
from zhifa.services.lake import LakeWriter

db_app = typer.Typer(help="运营数据库: the operational store.", no_args_is_help=True)
reference_app = typer.Typer(help="参考数据: packaged reference geography.", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option(help="Data directory (overrides ZHIFA_DATA_DIR)")]


def settings_with(data_dir: Path | None = None, **overrides: object) -> Settings:
    values: dict[str, object] = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)  # type: ignore[arg-type]


def open_app(settings: Settings) -> App:
    app = bootstrap(settings)
    app.upgrade_database()
    return app


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Apply every migration (alembic upgrade head) to the configured database."""
    app = open_app(settings_with(data_dir))
    typer.echo(f"database at migration head ({app.engines.dialect})")
    app.close()


@reference_app.command("load")
def reference_load(
    data_dir: DataDir = None,
    province: Annotated[str | None, typer.Option(help="GB/T 2260 province code")] = None,
) -> None:
    """Load the province's jurisdictions and boundaries into the registers (idempotent)."""
    settings = settings_with(data_dir, province_code=province)
    app = open_app(settings)
    report = registers.load_reference_province(app.uow, app.reference, settings.province_code)
    typer.echo(f"jurisdictions: {report.added} added, {report.already_present} already present")
    app.close()


def start_lake_writer(app: App, kinds: tuple[ReadingKind, ...] = tuple(ReadingKind)) -> Callable[[], None]:
    """Run the lake writer in a thread of this process; return what stops it."""
    stop = threading.Event()
    writer = LakeWriter(app.lake_deps, kinds)
    thread = threading.Thread(target=writer.run, args=(stop,), name="lake-writer", daemon=True)
    thread.start()

    def stopper() -> None:
        stop.set()
        thread.join(timeout=10)
        writer.close()

    return stopper


def serve_app(app: App, host: str, port: int) -> None:
    import uvicorn

    from zhifa.entrypoints.api import create_api

    stop_writer = start_lake_writer(app) if app.settings.lake_writer_in_process else None
    try:
        uvicorn.run(create_api(app), host=host, port=port, log_level="info")
    finally:
        if stop_writer is not None:
            stop_writer()


def serve(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
) -> None:
    """Run the API and pages in one process on the configured store (zhifa serve)."""
    app = open_app(settings_with(data_dir))
    try:
        serve_app(app, host, port)
    finally:
        app.close()


def openapi() -> None:
    """Print the OpenAPI description of the HTTP API (docs/openapi.json is this output)."""
    import json

    from zhifa.entrypoints.api import create_api

    # An in-memory store: describing the API must not create files or need a database.
    app = bootstrap(Settings(database_url="sqlite://"))
    try:
        typer.echo(json.dumps(create_api(app).openapi(), ensure_ascii=False, indent=2, sort_keys=True))
    finally:
        app.close()


def gateway(
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(help="Interface (overrides ZHIFA_GATEWAY_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (overrides ZHIFA_GATEWAY_PORT)")] = None,
) -> None:
    """Run the JT/T 808 gateway: key vehicles' terminals connect here (docs/jt808.md).

    Stops on SIGTERM or Ctrl-C after committing and acknowledging every frame already read.
    Positions go to the bus; a lake writer (``zhifa serve`` or ``zhifa worker``) stores them.
    """
    import logging

    from zhifa.entrypoints import gateway as jt808_gateway

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = open_app(settings_with(data_dir, gateway_host=host, gateway_port=port))
    try:
        stats = jt808_gateway.run(app)
        typer.echo(
            f"gateway stopped: {stats.connections} connections, {stats.positions} positions stored, "
            f"{stats.malformed} malformed frames quarantined"
        )
    finally:
        app.close()
