"""The demo province is what the README promises: 16 sites at real junctions, two of them lapsed."""

from __future__ import annotations

from zhifa.bootstrap import App
from zhifa.domain.sites import SiteKind, admissibility
from zhifa.entrypoints.cli.demo import LAPSED_SITES, seed_fleet, seed_sites
from zhifa.services.weighings import RecordStatus, ingest_weighings
from zhifa.simulator.weighings import SimSite, WeighingStream


def test_sites_cover_every_city_and_only_the_lapsed_ones_are_inadmissible(app: App) -> None:
    """One site per city of Anhui, in the county the junction lies in; exactly the sites meant to
    have lapsed verification fail 超限规定 第三十八条 today, all others pass it."""
    today = app.clock.now().astimezone(app.policy.zone).date()
    ids = seed_sites(app, "340000", today, seed=7)
    with app.uow() as uow:
        sites = [uow.sites.get(i) for i in ids]
    assert all(s is not None for s in sites)
    present = [s for s in sites if s is not None]
    assert len(present) == 16
    assert len({s.jurisdiction.parent for s in present}) == 16
    inadmissible = [i for i, s in enumerate(present) if not admissibility(s, today).admissible]
    assert inadmissible == list(LAPSED_SITES)
    kinds = [s.kind for s in present]
    assert kinds.count(SiteKind.EXPRESSWAY_ENTRANCE) == 1 and kinds.count(SiteKind.FIXED_STATION) == 1
    assert seed_sites(app, "340000", today, seed=7) == ids  # a restart registers nothing twice


def test_fleet_is_registered_once_and_feeds_valid_weighings(app: App) -> None:
    """The simulated fleet registers cleanly (valid plates and codes), a second start adds nothing,
    and the stream it drives is accepted record for record."""
    today = app.clock.now().astimezone(app.policy.zone).date()
    ids = seed_sites(app, "340000", today, seed=7)
    fleet = seed_fleet(app, seed=7, vehicles=60)
    assert seed_fleet(app, seed=7, vehicles=60) == fleet
    with app.uow() as uow:
        assert all(uow.vehicles.get_by_key(_key(v.plate, v.colour)) is not None for v in fleet)
    stream = WeighingStream([SimSite(i) for i in ids], fleet, seed=1)
    records = stream.batch(app.clock.now().replace(microsecond=0) - _minutes(10), 200, _seconds(2))
    result = ingest_weighings(app.weighing_deps, records)
    assert all(r.status is RecordStatus.ACCEPTED for r in result.results)
    assert any(r.case_id for r in result.results)


def _key(plate: str, colour: int):  # type: ignore[no-untyped-def]
    from zhifa.domain.vehicles import VehicleKey

    return VehicleKey.parse(plate, colour)


def _minutes(n: int):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    return timedelta(minutes=n)


def _seconds(n: int):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    return timedelta(seconds=n)
