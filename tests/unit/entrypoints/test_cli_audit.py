"""``zhifa audit verify | anchor | export``: exit codes, the one-line summaries, offline checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.factories import make_app
from tests.fakes import FakeClock
from zhifa.bootstrap import App
from zhifa.domain.audit import Actor, AuditDraft
from zhifa.entrypoints.cli import app as cli
from zhifa.services import audit

runner = CliRunner()
OFFICER = Actor("user", "U-1", "张伟")


@pytest.fixture
def data_dir(tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data directory whose default SQLite store holds 12 audit entries."""
    monkeypatch.delenv("ZHIFA_DATABASE_URL", raising=False)
    path = tmp_path / "data"
    platform = make_app(f"sqlite:///{path / 'zhifa.db'}", path, clock)
    append(platform, clock, 12)
    platform.close()
    yield path


def append(platform: App, clock: FakeClock, n: int) -> None:
    for i in range(n):
        clock.advance(seconds=1)
        with platform.uow() as uow:
            audit.record(
                uow, AuditDraft(clock.now(), OFFICER, "case.file", "case", f"C-{i}", detail={"i": i})
            )
            uow.commit()


def tamper(data_dir: Path, clock: FakeClock, statement: str) -> None:
    platform = make_app(f"sqlite:///{data_dir / 'zhifa.db'}", data_dir, clock)
    with platform.engines.write.begin() as conn:
        conn.execute(text(statement))
    platform.close()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli, ["audit", *args])
    return result.exit_code, result.output


def test_verify_intact(data_dir: Path) -> None:
    """An intact chain: exit 0 and one summary line naming the count and the head."""
    code, out = run("verify", "--data-dir", str(data_dir))
    assert code == 0, out
    assert out.startswith("audit chain intact: 12 entries, head #12 ")
    assert out.count("\n") == 1


def test_verify_reports_the_tampered_entry(data_dir: Path, clock: FakeClock) -> None:
    """A row changed in SQL: exit 1, and the line names the entry and the kind of break."""
    tamper(data_dir, clock, "UPDATE audit_log SET actor_name = '李四' WHERE seq = 7")
    code, out = run("verify", "--data-dir", str(data_dir))
    assert code == 1
    assert out.startswith("audit chain BROKEN at entry #7: modified — ")


def test_anchor_then_verify_against_anchors(data_dir: Path, clock: FakeClock) -> None:
    """`anchor` appends the head to the default anchors file, which `verify` then checks."""
    code, out = run("anchor", "--data-dir", str(data_dir))
    assert code == 0, out
    anchors = data_dir / "audit" / "anchors.jsonl"
    assert json.loads(out)["seq"] == 12
    assert anchors.read_text(encoding="utf-8") == out
    code, out = run("verify", "--data-dir", str(data_dir))
    assert (code, "1 anchors checked" in out) == (0, True)

    # Rewinding both the tail and the head row passes the chain check, not the anchor.
    tamper(data_dir, clock, "DELETE FROM audit_log WHERE seq > 10")
    tamper(
        data_dir,
        clock,
        "UPDATE audit_head SET seq = 10, hash = (SELECT hash FROM audit_log WHERE seq = 10)",
    )
    other = data_dir.parent / "elsewhere.jsonl"
    other.write_text("", encoding="utf-8")
    assert run("verify", "--data-dir", str(data_dir), "--anchors", str(other))[0] == 0
    code, out = run("verify", "--data-dir", str(data_dir), "--anchors", str(anchors))
    assert code == 1
    assert out.startswith("audit chain BROKEN at entry #11: truncated — ")


def test_export_and_verify_offline(data_dir: Path, tmp_path: Path) -> None:
    """`export` writes JSON lines that `verify --export` checks without a database."""
    out_file = tmp_path / "export" / "audit.jsonl"
    code, out = run("export", "--out", str(out_file), "--data-dir", str(data_dir))
    assert code == 0, out
    lines = out_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 12
    (data_dir / "zhifa.db").rename(tmp_path / "moved.db")  # offline: no store to be read
    code, out = run("verify", "--export", str(out_file), "--data-dir", str(data_dir))
    assert code == 0, out
    assert out.startswith("audit chain intact: 12 entries, head #12 ")
    assert not (data_dir / "zhifa.db").exists()

    entry = json.loads(lines[4])
    entry["detail"] = {"i": 400}
    lines[4] = json.dumps(entry, ensure_ascii=False)
    out_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out = run("verify", "--export", str(out_file), "--data-dir", str(data_dir))
    assert code == 1
    assert out.startswith("audit chain BROKEN at entry #5: modified — ")


def test_bad_anchors_file_is_a_usage_error(data_dir: Path, tmp_path: Path) -> None:
    """An anchors file that does not parse stops with exit 2 and the line at fault."""
    bad = tmp_path / "anchors.jsonl"
    bad.write_text('{"seq": 1}\n', encoding="utf-8")
    result = runner.invoke(cli, ["audit", "verify", "--data-dir", str(data_dir), "--anchors", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:1" in result.stderr
