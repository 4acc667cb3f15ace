"""``zhifa terminals enrol | list``: enrolment from the command line, its refusals, the listing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.factories import YAOHAI, make_app
from tests.fakes import FakeClock
from zhifa.domain.vehicles import VehicleKind
from zhifa.entrypoints.cli import app as cli
from zhifa.services import registers

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory whose default SQLite store holds the vehicle 皖A12345 (yellow)."""
    monkeypatch.delenv("ZHIFA_DATABASE_URL", raising=False)
    path = tmp_path / "data"
    platform = make_app(f"sqlite:///{path / 'zhifa.db'}", path, clock)
    registers.register_vehicle(
        platform.uow,
        platform.ids,
        registers.VehicleInput("皖A12345", 2, VehicleKind.TRACTOR, 3, home_division=YAOHAI),
        clock=platform.clock,
    )
    platform.close()
    return path


def test_enrol_then_list(data_dir: Path) -> None:
    """A padded phone is enrolled under its number; the list shows it, unregistered, with the
    device fields given and no code."""
    done = runner.invoke(
        cli,
        [
            "terminals",
            "enrol",
            "013511221122",
            "皖A12345",
            "2",
            "--device-id",
            "rm1",
            "--data-dir",
            str(data_dir),
        ],
    )
    assert done.exit_code == 0, done.output
    assert "13511221122" in done.output and "RM1" in done.output
    listed = runner.invoke(cli, ["terminals", "list", "--data-dir", str(data_dir)])
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines() == ["13511221122\t皖A12345（黄色）\tRM1\t未注册"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["13511221122", "皖A99999", "2"], "不在车辆档案中", id="unknown-vehicle"),
        pytest.param(["1351122112x", "皖A12345", "2"], "终端手机号", id="bad-phone"),
        pytest.param(["13511221122", "皖AI2345", "2"], "GA 36-2018", id="bad-plate"),
    ],
)
def test_refusals_exit_1_with_the_reason(data_dir: Path, args: list[str], message: str) -> None:
    done = runner.invoke(cli, ["terminals", "enrol", *args, "--data-dir", str(data_dir)])
    assert done.exit_code == 1
    assert message in done.output


def test_a_vehicle_takes_one_terminal(data_dir: Path) -> None:
    """A second phone for an enrolled vehicle is refused (exit 1), naming the phone it holds."""
    first = runner.invoke(
        cli, ["terminals", "enrol", "13511221122", "皖A12345", "2", "--data-dir", str(data_dir)]
    )
    assert first.exit_code == 0, first.output
    second = runner.invoke(
        cli, ["terminals", "enrol", "13900000001", "皖A12345", "2", "--data-dir", str(data_dir)]
    )
    assert second.exit_code == 1 and "13511221122" in second.output
