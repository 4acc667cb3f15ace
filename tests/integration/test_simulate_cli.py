"""``zhifa simulate`` end to end on a tiny run: the lake layout, labels and registers on disk."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from zhifa.adapters.readings.schema import POSITION_SCHEMA
from zhifa.entrypoints.cli import app


def test_simulate_writes_a_lake_with_labels_and_registers(tmp_path: Path) -> None:
    """A 200-vehicle, 2-hour run writes positions, passages and weighings under
    kind=/date=/hour= with the lake's schema, labels.parquet and the four registers, and prints
    the counts and the rate."""
    out = tmp_path / "lake"
    result = CliRunner().invoke(
        app,
        ["simulate", "--vehicles", "200", "--hours", "2", "--seed", "4", "--out", str(out),
         "--start", "2026-01-05T10:00:00+08:00", "--interval", "30"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "position: " in result.output and "positions/s" in result.output
    positions = sorted(out.glob("kind=position/date=2026-01-05/hour=*/part-*.parquet"))
    assert [p.parent.name for p in positions] == ["hour=02", "hour=03"]
    assert pq.read_schema(positions[0]).equals(POSITION_SCHEMA, check_metadata=True)
    assert list(out.glob("kind=passage/date=2026-01-05/hour=*/part-*.parquet"))
    assert (out / "labels.parquet").exists()
    for name in ("vehicles", "drivers", "enterprises", "places"):
        assert pq.read_table(out / "registers" / f"{name}.parquet").num_rows > 0
