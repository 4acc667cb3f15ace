"""Rules of the house that code review would otherwise have to catch by eye."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from zhifa.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "zhifa"

# Reading the wall clock: forbidden where time must come in as an argument (ARCHITECTURE.md §2).
CLOCK_READS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "time_ns"),
}


def _clock_reads(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = (
                owner.id
                if isinstance(owner, ast.Name)
                else owner.attr
                if isinstance(owner, ast.Attribute)
                else ""
            )
            if (name, node.func.attr) in CLOCK_READS:
                found.append(f"{path.relative_to(root)}:{node.lineno} {name}.{node.func.attr}()")
    return found


@pytest.mark.parametrize("layer", ["domain", "services"])
def test_domain_and_services_never_read_the_clock(layer: str) -> None:
    """Time is injected (a Clock port); a direct read would make rules untestable and replay wrong."""
    offences = [hit for path in sorted((SRC / layer).rglob("*.py")) for hit in _clock_reads(path)]
    assert offences == []


def test_the_clock_check_can_fail(tmp_path: Path) -> None:
    """The scanner above does find a clock read (so its empty answer means something)."""
    sample = tmp_path / "sample.py"
    sample.write_text("import datetime\nx = datetime.datetime.now()\ny = time.time()\n")
    assert _clock_reads(sample, tmp_path) == ["sample.py:2 datetime.now()", "sample.py:3 time.time()"]


def test_every_setting_is_documented() -> None:
    """docs/configuration.md names each ZHIFA_ variable the settings accept (Datasette's rule)."""
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [
        f"ZHIFA_{name.upper()}" for name in Settings.model_fields if f"ZHIFA_{name.upper()}" not in text
    ]
    assert missing == []


def test_no_documented_setting_is_stale() -> None:
    """And it documents no variable the settings no longer have."""
    import re

    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"ZHIFA_([A-Z0-9_]+)", text)) - {"TEST_POSTGRES_URL"}
    assert documented <= {name.upper() for name in Settings.model_fields}


def test_security_doc_holds_the_current_permission_matrix() -> None:
    """docs/security.md shows the role × permission table the code enforces; regenerate it with
    `zhifa security matrix` when ROLE_PERMISSIONS changes."""
    from zhifa.entrypoints.cli.accounts import permission_matrix

    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    begin = text.index("<!-- matrix:begin")
    start = text.index("\n", begin) + 1
    end = text.index("<!-- matrix:end -->")
    assert text[start:end] == permission_matrix()
