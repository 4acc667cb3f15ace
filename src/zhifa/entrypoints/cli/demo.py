"""``zhifa demo``: the Anhui reference province with simulated weighings, in the browser.

Seeds what a province would have registered (weighing sites at real expressway junctions, two of
them with lapsed metrological verification, synthetic transport enterprises and trucks), starts
the platform, and feeds it weighings over HTTP as the sites would.

With ``--live`` (the default) it also builds the simulated province of issue #6 (the expressway
graph, a fleet of ``--live-vehicles`` vehicles and a simulated day of their traffic), registers
its enterprises, key vehicles, terminals and weighing sites, starts the JT/T 808 gateway in a
thread and replays the day at ``--speedup`` (simulator/live.py): positions over TCP, gantry
passages and weighings over signed HTTP ingest. The day ends where the wall clock is, so no
reading lies in the future.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from zhifa.bootstrap import App
from zhifa.domain.accounts import Department, Role, Unit
from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.permissions import Permission
from zhifa.domain.sites import SiteKind
from zhifa.domain.vehicles import VehicleKind
from zhifa.entrypoints.cli.platform import open_app, settings_with, start_lake_writer
from zhifa.entrypoints.cli.simulate import describe
from zhifa.entrypoints.simulated import register_simulated, replay_key
from zhifa.services import accounts, registers
from zhifa.simulator.feed import HttpFeeder
from zhifa.simulator.live import LiveConfig, LiveReplay, LiveStats, replay_start
from zhifa.simulator.registers import SimVehicle, make_enterprises, make_vehicles
from zhifa.simulator.weighings import SimSite, WeighingStream

MARKER = ".zhifa-demo"
LAPSED_SITES = (4, 10)  # positions (by city order) whose verification has lapsed
ENTRANCE_SITE = 2  # an expressway-entrance weighing station (105 % rule)
FIXED_SITE = 7  # a static 超限检测站


def _prepare_dir(data_dir: Path, reset: bool) -> None:
    if reset and data_dir.exists():
        if not (data_dir / MARKER).exists():
            raise typer.BadParameter(f"{data_dir} is not a demo data directory; refusing to delete it")
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).write_text("created by zhifa demo; --reset may delete this directory\n")


def seed_sites(app: App, province: str, today: date, seed: int) -> list[str]:
    """One weighing site per city at a named junction of the real expressway network."""
    with app.uow() as uow:
        existing = [s.id for s in uow.sites.list()]
    if existing:
        return sorted(existing, key=lambda site_id: site_id.rsplit("-", 1)[1])  # placement order
    ids = []
    for i, (junction, county) in enumerate(app.reference.site_junctions(province, per_city=1, seed=seed)):
        kind, accuracy = SiteKind.WEIGH_IN_MOTION, Decimal(5)
        if i == ENTRANCE_SITE:
            kind, accuracy = SiteKind.EXPRESSWAY_ENTRANCE, Decimal(1)
        elif i == FIXED_SITE:
            kind, accuracy = SiteKind.FIXED_STATION, Decimal("0.5")
        # Verified within the last year (检定周期 one year), so the last sites fall due within
        # 30 days and show as 即将到期; the lapsed ones expired weeks ago.
        verified = today - timedelta(days=20 + 21 * i)
        valid_until = verified + timedelta(days=364)
        if i in LAPSED_SITES:
            verified = today - timedelta(days=400)
            valid_until = today - timedelta(days=20 + i)
        site_id = f"{'WIM' if kind is SiteKind.WEIGH_IN_MOTION else 'WS'}-{county.code}-{i + 1:02d}"
        suffix = {
            SiteKind.WEIGH_IN_MOTION: "不停车检测点",
            SiteKind.EXPRESSWAY_ENTRANCE: "入口称重检测点",
            SiteKind.FIXED_STATION: "超限检测站",
        }[kind]
        registers.save_site(
            app.uow,
            registers.SiteInput(
                id=site_id,
                name=f"{junction.name}{suffix}（模拟）",
                kind=kind,
                lon=junction.lon,
                lat=junction.lat,
                jurisdiction=county.code,
                accuracy_class=accuracy,
                device_serial=f"SIM-{county.code}-{i + 1:02d}",
                verification_certificate=f"模拟检定〔{verified.year}〕{100 + i}号",
                verified_on=verified,
                verification_valid_until=valid_until,
                enforcement_approved_on=verified + timedelta(days=10),
                road=f"{junction.name}互通" + (f"（出口{junction.ref}）" if junction.ref else ""),
            ).to_site(),
            clock=app.clock,
        )
        ids.append(site_id)
    return ids


def seed_fleet(app: App, seed: int, vehicles: int) -> list[SimVehicle]:
    """Synthetic enterprises and trucks; the same seed gives the same fleet, registered once."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    enterprises = make_enterprises(rng, 24)
    fleet = make_vehicles(rng, enterprises, vehicles)
    with app.uow() as uow:
        seeded = uow.enterprises.get_by_uscc(enterprises[0].uscc) is not None
    if not seeded:
        for e in enterprises:
            registers.register_enterprise(
                app.uow, app.ids, clock=app.clock, uscc=e.uscc, name=e.name, division=e.division
            )
        for v in fleet:
            entry = v.register_entry() | {"kind": VehicleKind(v.kind)}
            registers.register_vehicle(app.uow, app.ids, registers.VehicleInput(**entry), clock=app.clock)
    return fleet


# Demo accounts only: `make demo` prints them. Outside the demo there is no default password;
# the first administrator is made with `zhifa users create-admin`.
DEMO_PASSWORD = "Zhifa-Demo-2026"  # noqa: S105 - printed to the demo's user by design
DEMO_ACCOUNTS = (
    # username, name, division, roles, credential
    ("admin", "系统管理员（演示）", "340000", {Role.ADMIN}, ""),
    ("duty", "值班员（演示）", "340000", {Role.DUTY_OFFICER}, ""),
    ("officer", "王执法（演示）", "340000", {Role.OFFICER}, "34000020260001"),
    ("legal", "法制审核员（演示）", "340000", {Role.LEGAL_REVIEWER}, ""),
    ("head", "单位负责人（演示）", "340000", {Role.UNIT_HEAD}, ""),
    ("auditor", "审计员（演示）", "340000", {Role.AUDITOR}, ""),
    ("hefei", "合肥执法员（演示）", "340100", {Role.OFFICER}, "34010020260002"),
    ("yaohai", "瑶海执法员（演示）", "340102", {Role.OFFICER}, "34010220260003"),
)


def seed_accounts(app: App) -> list[tuple[str, str, str]]:
    """Units of the province, 合肥市 and 瑶海区 and one account per role; (username, name, unit)."""
    units: dict[str, Unit] = {}
    with app.uow() as uow:
        for unit in uow.units.list():
            units.setdefault(unit.division.code, unit)
    parent: Unit | None = None
    for code in ("340000", "340100", "340102"):
        if code not in units:
            with app.uow() as uow:
                jurisdiction = uow.jurisdictions.get(DivisionCode(code))
            if jurisdiction is None:
                raise typer.BadParameter(f"jurisdiction {code} is not loaded")
            units[code] = accounts.create_unit(
                app.account_deps,
                None,
                division=code,
                name=jurisdiction.authority,
                department=Department.ENFORCEMENT,
                parent_id=parent.id if parent else None,
            )
        parent = units[code]
    shown = []
    for username, name, code, roles, credential in DEMO_ACCOUNTS:
        with app.uow() as uow:
            exists = uow.users.get_by_username(username) is not None
        if not exists:
            accounts.create_user(
                app.account_deps,
                None,
                accounts.NewUser(username, name, units[code].id, frozenset(roles), DEMO_PASSWORD, credential),
            )
        shown.append((username, "、".join(r.label for r in sorted(roles)), units[code].name))
    return shown


def feeder_key(app: App) -> tuple[str, bytes]:
    """A fresh API key of the province unit for the simulated weighing sites."""
    province = DivisionCode(app.settings.province_code)
    with app.uow() as uow:
        unit = next(u for u in uow.units.list(province) if u.division == province)
    issued = accounts.issue_api_key(
        app.account_deps,
        None,
        unit_id=unit.id,
        name="演示称重数据源（模拟）",
        scopes={Permission.WEIGHINGS_INGEST},
    )
    return issued.key.id, bytes.fromhex(issued.secret)


def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its store")] = Path("var/demo"),
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    reset: Annotated[bool, typer.Option(help="Start from an empty store")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the simulated registers and traffic")] = 7,
    vehicles: Annotated[int, typer.Option(help="Registered trucks")] = 400,
    interval: Annotated[float, typer.Option(help="Seconds between weighing batches")] = 2.0,
    batch: Annotated[int, typer.Option(help="Weighings per batch")] = 6,
    live: Annotated[
        bool, typer.Option(help="Also replay a simulated day of the province's traffic (JT/T 808 + HTTP)")
    ] = True,
    live_vehicles: Annotated[
        int, typer.Option(min=1, help="Vehicles of the simulated province (terminals driven at most)")
    ] = 300,
    speedup: Annotated[float, typer.Option(min=1.0, help="Simulated seconds per real second")] = 60.0,
    live_hours: Annotated[float, typer.Option(min=0.1, help="Simulated hours replayed")] = 24.0,
    gateway_port: Annotated[
        int, typer.Option(help="TCP port of the JT/T 808 gateway (0: any free port, printed)")
    ] = 0,
) -> None:
    """Run the platform on its embedded store with Anhui, a simulated weighing feed and a live
    replay of the simulated province's traffic."""
    import uvicorn

    from zhifa.entrypoints.api import create_api

    began = time.monotonic()
    _prepare_dir(data_dir, reset)
    settings = settings_with(data_dir, database_url="")
    app = open_app(settings)
    report = registers.load_reference_province(app.uow, app.reference, settings.province_code)
    today = app.clock.now().astimezone(app.policy.zone).date()
    site_ids = seed_sites(app, settings.province_code, today, seed)
    fleet = seed_fleet(app, seed, vehicles)
    stream = WeighingStream([SimSite(s) for s in site_ids], fleet, seed=seed + int(time.time()))
    demo_users = seed_accounts(app)
    key = feeder_key(app)

    base = f"http://{host}:{port}"
    replay: LiveReplay | None = None
    stop_gateway = None
    live_lines: list[str] = []
    if live:
        replay, stop_gateway, live_lines = _prepare_live(
            app, base, host, gateway_port, seed, live_vehicles, live_hours, speedup, today
        )
    typer.echo(
        "\n".join(
            [
                "",
                "zhifa demo — 智慧交通综合执法监管平台 · 安徽省参考数据 + 模拟称重",
                f"  网页 Web:    {base}/",
                f"  接口 API:    {base}/docs   (OpenAPI: {base}/openapi.json)",
                f"  登录 Login:  {base}/login — demo accounts, password {DEMO_PASSWORD} (demo only):",
                *(f"               {u:<8} {roles} · {unit}" for u, roles, unit in demo_users),
                f"  数据 Data:   {data_dir} (SQLite + evidence files); "
                f"{report.added + report.already_present} jurisdictions, {len(site_ids)} weighing sites",
                *live_lines,
                f"  Alerts and cases appear within seconds (ready in {time.monotonic() - began:.0f} s); "
                "Ctrl+C stops.",
                "",
            ]
        )
    )

    server = uvicorn.Server(uvicorn.Config(create_api(app), host=host, port=port, log_level="warning"))

    def report_batch(result: dict[str, object]) -> None:
        results = result.get("results")
        rows = [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []
        over = sum(1 for r in rows if str(r.get("disposition") or "").startswith("overlimit"))
        stamp = app.clock.now().astimezone(app.policy.zone).strftime("%H:%M:%S")
        typer.echo(
            f"[{stamp}] 称重 {len(rows)} 条：接受 {result.get('accepted')}，"
            f"重复 {result.get('duplicates')}，拒绝 {result.get('rejected')}；超限 {over}"
        )

    feeder = HttpFeeder(
        base, stream, app.clock.now, batch_size=batch, interval=interval, on_result=report_batch, key=key
    )

    stops: list[Callable[[], None]] = []

    def start_feeding() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.1)
        if server.started:
            if replay is not None:
                stops.append(replay.start_in_thread()[1])
            feeder.run()

    thread = threading.Thread(target=start_feeding, name="weighing-feed", daemon=True)
    thread.start()
    stop_writer = start_lake_writer(app)
    try:
        server.run()
    finally:
        feeder.stop()
        for stop in stops:
            stop()
        if stop_gateway is not None:
            stop_gateway()
        stop_writer()
        thread.join(timeout=5)
        app.close()


def _prepare_live(
    app: App,
    base: str,
    host: str,
    gateway_port: int,
    seed: int,
    vehicles: int,
    hours: float,
    speedup: float,
    today: date,
) -> tuple[LiveReplay, Callable[[], None], list[str]]:
    """The simulated province, its registers, the gateway and a replay ready to start."""
    from zhifa.bootstrap import reference_road_sources
    from zhifa.entrypoints.gateway import start_in_thread
    from zhifa.simulator.fleet import make_fleet
    from zhifa.simulator.province.graph import build_province
    from zhifa.simulator.province.routing import Router
    from zhifa.simulator.traffic import TrafficConfig, build_routes, simulate

    began = time.monotonic()
    typer.echo(
        f"模拟路网 simulated province: building the graph, {vehicles} vehicles and {hours:g} h of traffic…"
    )
    province = build_province(reference_road_sources(), seed=seed)
    fleet = make_fleet(vehicles, seed=seed)
    config = TrafficConfig(start=replay_start(app.clock.now(), hours, speedup), hours=hours, seed=seed)
    routes = build_routes(
        province, Router(province), seed=seed, sources=config.od_sources, per_source=config.od_per_source
    )
    result = simulate(province, fleet, config, routes=routes)
    gateway, stop_gateway = start_in_thread(app, host=host, port=gateway_port)
    assert gateway.port is not None  # noqa: S101 - started
    replay = LiveReplay(
        result,
        gateway=(host, gateway.port),
        api_url=base,
        now=app.clock.now,
        config=LiveConfig(speedup=speedup, max_terminals=vehicles),
        on_progress=_print_progress,
    )
    added = register_simulated(app, province, fleet, replay.vehicles, today)
    replay.key = replay_key(app, "演示路网数据源（模拟）")
    local = result.start.astimezone(app.policy.zone)
    lines = [
        f"  路网 Live:   JT/T 808 gateway {host}:{gateway.port}; {len(replay.vehicles)} terminals replay "
        f"{result.positions.num_rows} positions, {result.passages.num_rows} gantry passages and "
        f"{result.weighings.num_rows} weighings",
        f"               of {hours:g} simulated hours from {local:%m-%d %H:%M} at {speedup:g}x "
        f"(ends in {hours * 3600 / speedup / 60:.0f} min); registered now: "
        + ", ".join(f"{n} {k}" for k, n in added.items())
        + f"; prepared in {time.monotonic() - began:.0f} s",
    ]
    return replay, stop_gateway, lines


def _print_progress(stats: LiveStats) -> None:
    typer.echo(("回放结束 replay finished " if stats.finished else "") + describe(stats))
