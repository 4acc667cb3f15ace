"""``zhifa overlimit assess``: the JSON contract, the options, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from zhifa.domain.legal import Citation, Law, overlimit_rules
from zhifa.entrypoints.cli import app

runner = CliRunner()


def run_ok(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["overlimit", "assess", *args])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    # One JSON object, on one line.
    assert result.stdout.count("\n") == 1
    out = json.loads(result.stdout)
    assert isinstance(out, dict)
    return out


def run_error(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["overlimit", "assess", *args])
    assert result.stdout == ""
    return result.exit_code, result.stderr


def test_contract_keys_and_fine_range() -> None:
    out = run_ok("--axles", "2", "--gross-kg", "23000", "--height-m", "4.6")
    # The contract, plus the detail assessment_to_dict adds.
    assert set(out) >= {"overlimit", "limit_kg", "excess_kg", "excess_pct", "dimensions", "penalty", "basis"}
    assert out["overlimit"] is True
    assert out["limit_kg"] == 18_000
    assert out["excess_kg"] == 5_000
    assert out["excess_pct"] == 27.78
    assert out["dimensions"] == ["height"]
    assert out["penalty"]["kind"] == "fine"
    # Tier 3 (1 000–3 000) plus 5 tonnes × 500: a range for the discretion schedule.
    assert (out["penalty"]["min_yuan"], out["penalty"]["max_yuan"]) == (3_500, 5_500)
    assert "amount_yuan" not in out["penalty"]
    assert out["basis"] == [str(overlimit_rules(3, 1, 4)), str(overlimit_rules(3, 1, 1))]
    assert out["penalty"]["basis"] == [
        str(overlimit_rules(43, 1, 1)),
        str(overlimit_rules(43, 1, 2)),
        str(overlimit_rules(43, 2)),
    ]


def test_output_is_not_ascii_escaped() -> None:
    result = runner.invoke(app, ["overlimit", "assess", "--axles", "2", "--gross-kg", "20000"])
    assert "《超限运输车辆行驶公路管理规定》第三条第一款第四项" in result.stdout
    assert "\\u" not in result.stdout


@pytest.mark.parametrize(
    ("args", "overlimit", "limit_kg", "excess_kg", "penalty", "basis"),
    [
        pytest.param(
            ["--axles", "2", "--gross-kg", "18000"],
            False,
            18_000,
            0,
            {"kind": "none"},
            overlimit_rules(3, 1, 4),
            id="at-limit",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "19000"],
            True,
            18_000,
            1_000,
            {"kind": "warning"},
            overlimit_rules(3, 1, 4),
            id="1000kg-warning",
        ),
        pytest.param(
            ["--axles", "3", "--gross-kg", "28001", "--combination"],
            True,
            27_000,
            1_001,
            {"kind": "fine", "amount_yuan": 500},
            overlimit_rules(3, 1, 5),
            id="3-axle-combination",
        ),
        pytest.param(
            ["--axles", "6", "--gross-kg", "49000", "--combination", "--single-drive-axle"],
            True,
            46_000,
            3_000,
            {"kind": "fine", "amount_yuan": 1_500},
            overlimit_rules(3, 1, 8),
            id="6-axle-single-drive",
        ),
        pytest.param(
            ["--axles", "3", "--gross-kg", "22000", "--single-tyre-axles", "2"],
            True,
            19_000,
            3_000,
            {"kind": "fine", "amount_yuan": 1_500},
            overlimit_rules(3, 2, 2),
            id="single-tyre-axles",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "6000", "--licensed-gross-kg", "4495"],
            True,
            4_495,
            1_505,
            {"kind": "fine", "amount_yuan": 500},
            overlimit_rules(3, 2, 4),
            id="licensed-gross",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "17500", "--axle-limits-kg", "7000, 10000"],
            True,
            17_000,
            500,
            {"kind": "warning"},
            overlimit_rules(3, 2, 3),
            id="axle-limits",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "19001"],
            True,
            18_000,
            1_001,
            {"kind": "fine", "amount_yuan": 500},
            overlimit_rules(43, 1, 2),
            id="part-tonne-default-drop",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "19001", "--part-tonne", "count"],
            True,
            18_000,
            1_001,
            {"kind": "fine", "amount_yuan": 1_000},
            overlimit_rules(43, 1, 2),
            id="part-tonne-count",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "18900", "--entrance"],
            False,
            18_000,
            0,
            {"kind": "none"},
            Citation(Law.EXPRESSWAY_ENTRANCE_NOTICE),
            id="entrance-105pct",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "18901", "--entrance"],
            True,
            18_000,
            901,
            {"kind": "warning"},
            Citation(Law.EXPRESSWAY_ENTRANCE_NOTICE),
            id="entrance-105pct+1",
        ),
        # 18 950 × 0.95 = 18 002.5 → 18 002 kg: the deduction rounds down.
        pytest.param(
            ["--axles", "2", "--gross-kg", "18950", "--tolerance-pct", "5"],
            True,
            18_000,
            2,
            {"kind": "warning"},
            overlimit_rules(3, 1, 4),
            id="tolerance-5pct",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "18948", "--tolerance-pct", "5.00"],
            False,
            18_000,
            0,
            {"kind": "none"},
            overlimit_rules(3, 1, 4),
            id="tolerance-5.00pct-within",
        ),
    ],
)
def test_options(
    args: list[str],
    overlimit: bool,
    limit_kg: int,
    excess_kg: int,
    penalty: dict[str, Any],
    basis: Citation,
) -> None:
    out = run_ok(*args)
    assert out["overlimit"] is overlimit
    assert out["limit_kg"] == limit_kg
    assert out["excess_kg"] == excess_kg
    assert {k: out["penalty"][k] for k in penalty} == penalty
    assert str(basis) in out["basis"] + out["penalty"]["basis"]


def test_entrance_and_tolerance_are_reported() -> None:
    out = run_ok("--axles", "2", "--gross-kg", "19896", "--entrance", "--tolerance-pct", "5")
    assert out["effective_gross_kg"] == 18_901
    assert out["tolerance_pct"] == 5.0
    assert out["threshold_pct"] == 105.0
    assert out["notes"] == ["扣除检测设备允许误差5%", "高速公路入口称重，未超过限定标准105%的不认定为超限"]


@pytest.mark.parametrize(
    ("option", "metres", "over", "fine_range"),
    [
        # Metres are read as decimals: a float would make 4.001 m 4 000.999… mm.
        pytest.param("--height-m", "4", False, None, id="height-4.000"),
        pytest.param("--height-m", "4.001", True, (0, 200), id="height-4.001"),
        pytest.param("--height-m", "4.0005", True, (0, 200), id="height-4.0005-rounds-up"),
        pytest.param("--height-m", "4.0004", False, None, id="height-4.0004-rounds-down"),
        pytest.param("--height-m", "4.2", True, (0, 200), id="height-4.2"),
        pytest.param("--height-m", "4.201", True, (200, 1_000), id="height-4.201"),
        pytest.param("--height-m", "4.5", True, (200, 1_000), id="height-4.5"),
        pytest.param("--height-m", "4.501", True, (1_000, 3_000), id="height-4.501"),
        pytest.param("--width-m", "2.55", False, None, id="width-2.55"),
        pytest.param("--width-m", "2.551", True, (0, 200), id="width-2.551"),
        pytest.param("--width-m", "3.001", True, (200, 1_000), id="width-3.001"),
        pytest.param("--width-m", "3.751", True, (1_000, 3_000), id="width-3.751"),
        pytest.param("--length-m", "18.1", False, None, id="length-18.1"),
        pytest.param("--length-m", "18.101", True, (0, 200), id="length-18.101"),
        pytest.param("--length-m", "20.001", True, (200, 1_000), id="length-20.001"),
        pytest.param("--length-m", "28.001", True, (1_000, 3_000), id="length-28.001"),
    ],
)
def test_dimensions(option: str, metres: str, over: bool, fine_range: tuple[int, int] | None) -> None:
    out = run_ok("--axles", "2", "--gross-kg", "10000", option, metres)
    dimension = option.removeprefix("--").removesuffix("-m")
    assert out["overlimit"] is over
    assert out["dimensions"] == ([dimension] if over else [])
    if fine_range is None:
        assert out["penalty"]["kind"] == "none"
    else:
        assert out["penalty"]["kind"] == "fine"
        assert (out["penalty"]["min_yuan"], out["penalty"]["max_yuan"]) == fine_range


def test_all_three_dimensions() -> None:
    out = run_ok(
        "--axles", "2", "--gross-kg", "10000", "--height-m", "4.1", "--width-m", "2.6", "--length-m", "19"
    )
    assert out["dimensions"] == ["height", "width", "length"]
    assert (out["penalty"]["min_yuan"], out["penalty"]["max_yuan"]) == (0, 200)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--axles", "1", "--gross-kg", "10000"],
            "axle count must be between 2 and 20, got 1",
            id="axles-1",
        ),
        pytest.param(
            ["--axles", "21", "--gross-kg", "10000"],
            "axle count must be between 2 and 20, got 21",
            id="axles-21",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "-5"], "gross mass must be positive, got -5 kg", id="negative-mass"
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "0"], "gross mass must be positive, got 0 kg", id="zero-mass"
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "9", "--single-tyre-axles", "2"],
            "single-tyre (non-drive) axles must be between 0 and 1, got 2",
            id="single-tyre-all-axles",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "9", "--tolerance-pct", "5.125"],
            "tolerance may have at most two decimals, got 5.125",
            id="tolerance-3-decimals",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "9", "--tolerance-pct", "100"],
            "tolerance must be in [0, 100) %, got 100",
            id="tolerance-100",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "9", "--tolerance-pct", "five"],
            "--tolerance-pct must be a decimal number, got 'five'",
            id="tolerance-text",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "9", "--tolerance-pct", "NaN"],
            "--tolerance-pct must be a finite number, got 'NaN'",
            id="tolerance-nan",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "9", "--axle-limits-kg", "7000,8000,9000"],
            "3 axle load limits given for 2 axles",
            id="axle-limits-count",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "9", "--axle-limits-kg", "7000,7.5t"],
            "--axle-limits-kg must be whole kilograms separated by commas, got '7000,7.5t'",
            id="axle-limits-text",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "9", "--axle-limits-kg", "7000,0"],
            "axle load limits must be positive",
            id="axle-limit-zero",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "9", "--licensed-gross-kg", "0"],
            "licensed gross mass must be positive",
            id="licensed-zero",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "9", "--height-m", "-4"],
            "--height-m must be positive, got -4",
            id="height-negative",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "9", "--width-m", "wide"],
            "--width-m must be a decimal number, got 'wide'",
            id="width-text",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "9", "--length-m", "0.0004"],
            "--length-m is below one millimetre, got 0.0004",
            id="length-below-1mm",
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "9", "--height-m", "1e999999"],
            "--height-m is out of range, got 1e999999",
            id="height-overflow",
        ),
    ],
)
def test_bad_input_is_one_line_on_stderr(args: list[str], message: str) -> None:
    exit_code, stderr = run_error(*args)
    assert exit_code == 2
    assert stderr == f"error: {message}\n"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        pytest.param(["--gross-kg", "10000"], "Missing option '--axles'", id="missing-axles"),
        pytest.param(["--axles", "2"], "Missing option '--gross-kg'", id="missing-gross"),
        pytest.param(
            ["--axles", "two", "--gross-kg", "10000"], "Invalid value for '--axles'", id="axles-text"
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "18.5"], "Invalid value for '--gross-kg'", id="gross-decimal"
        ),
        pytest.param(
            ["--axles", "2", "--gross-kg", "9", "--part-tonne", "half"],
            "Invalid value for '--part-tonne'",
            id="part-tonne-choice",
        ),
    ],
)
def test_usage_errors_keep_click_exit_code(args: list[str], fragment: str) -> None:
    exit_code, stderr = run_error(*args)
    assert exit_code == 2
    assert fragment in stderr


def test_installed_console_script() -> None:
    """The ``zhifa`` script that pyproject installs runs the same command in a fresh process."""
    script = Path(sys.executable).parent / "zhifa"
    assert script.is_file(), f"console script not installed at {script}"
    ok = subprocess.run(
        [str(script), "overlimit", "assess", "--axles", "6", "--gross-kg", "52000", "--combination"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["limit_kg"] == 49_000
    assert out["excess_kg"] == 3_000
    assert out["penalty"]["kind"] == "fine"
    assert out["penalty"]["amount_yuan"] == 1_500
    assert "《超限运输车辆行驶公路管理规定》第三条第一款第八项" in ok.stdout

    bad = subprocess.run(
        [str(script), "overlimit", "assess", "--axles", "1", "--gross-kg", "10000"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=60,
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr == "error: axle count must be between 2 and 20, got 1\n"
