"""Regenerate the reference data packaged under src/zhifa/adapters/geodata/data/ from its sources.

Run from the repository root:

    uv run --frozen python scripts/refresh_reference_data.py [--source /work/shared/data]

The GeoJSON files are copied byte for byte (no simplification, no reprojection) so that anyone can
compare them with the upstream files by hash. divisions.csv is extracted from AreaCity's
ok_data_level3.csv: only the reference province's own rows, with the 12-digit statistical code
cut to its 6-digit GB/T 2260 prefix. Provenance and licences: data/ATTRIBUTION.md and NOTICE.

Standard library only, so that it runs before the package is installed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_ROOT = REPO_ROOT / "src" / "zhifa" / "adapters" / "geodata" / "data"
DEFAULT_SOURCE = Path("/work/shared/data")

# The reference province: GB/T 2260 code, directory name, and how many units it must have, so
# that a changed upstream file is noticed here rather than in a failing demo.
PROVINCE_CODE = "340000"
PROVINCE_SLUG = "anhui"
EXPECTED_COUNTS = {"province": 1, "city": 16, "county": 104}

# AreaCity's `deep` column: 0 province, 1 prefecture-level city, 2 county-level unit.
LEVEL_BY_DEEP = {"0": "province", "1": "city", "2": "county"}

COPIED_FILES = (
    f"boundaries/{PROVINCE_SLUG}_{PROVINCE_CODE}_province.geojson",
    f"boundaries/{PROVINCE_SLUG}_{PROVINCE_CODE}_cities.geojson",
    f"boundaries/{PROVINCE_SLUG}_{PROVINCE_CODE}_counties.geojson",
    f"roads/osm_{PROVINCE_SLUG}_motorway_junctions.geojson",
    # The simulator's expressway graph is derived from these at run time (zhifa.simulator.province).
    f"roads/osm_{PROVINCE_SLUG}_motorway_bridges.geojson",
    f"poi/osm_{PROVINCE_SLUG}_expressway_service_areas.geojson",
)
DIVISIONS_SOURCE = "divisions/areacity_ok_data_level3.csv"

# Features in each OSM extract: a different count means upstream changed and the figures in
# data/ATTRIBUTION.md and docs/simulator.md must be measured again. The bridge extract also holds
# the 96 junction nodes its ways pass through (all of them in the junctions file too).
EXPECTED_FEATURES = {
    f"osm_{PROVINCE_SLUG}_motorway_junctions.geojson": 670,
    f"osm_{PROVINCE_SLUG}_motorway_bridges.geojson": 4958 + 96,
    f"osm_{PROVINCE_SLUG}_expressway_service_areas.geojson": 215,
}


def extract_divisions(source_csv: Path, province_code: str) -> list[dict[str, str]]:
    """The province's own rows of AreaCity's level-3 table, as code,parent_code,level,name,full_name."""
    prefix = province_code[:2]
    rows: list[dict[str, str]] = []
    # AreaCity writes UTF-8 with a byte-order mark; utf-8-sig strips it from the first header.
    with source_csv.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["id"].startswith(prefix):
                continue
            # `id` is the code without its trailing zeros (34, 3401, 340102); ext_id is the 12-digit
            # statistical code whose first six digits are the GB/T 2260 code.
            code = row["ext_id"][:6]
            if code != row["id"].ljust(6, "0"):
                raise SystemExit(f"{source_csv}: id {row['id']} and ext_id {row['ext_id']} disagree")
            # Statistical development-zone codes (county digits starting with 7) are not GB/T 2260
            # units and zhifa refuses them (domain/jurisdictions.py).
            if code[4] == "7":
                continue
            parent = "" if row["pid"] == "0" else row["pid"].ljust(6, "0")
            rows.append(
                {
                    "code": code,
                    "parent_code": parent,
                    "level": LEVEL_BY_DEEP[row["deep"]],
                    "name": row["name"],
                    "full_name": row["ext_name"],
                }
            )
    rows.sort(key=lambda r: r["code"])
    counts = {level: sum(1 for r in rows if r["level"] == level) for level in EXPECTED_COUNTS}
    if counts != EXPECTED_COUNTS:
        raise SystemExit(f"{source_csv}: expected {EXPECTED_COUNTS} for {province_code}, found {counts}")
    return rows


def write_divisions(rows: list[dict[str, str]], target: Path) -> None:
    # Plain UTF-8 without a BOM: this file is read by code, and the reader tolerates a BOM anyway.
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["code", "parent_code", "level", "name", "full_name"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the shared data folder")
    args = parser.parse_args(argv)
    source: Path = args.source

    target = TARGET_ROOT / PROVINCE_SLUG
    target.mkdir(parents=True, exist_ok=True)
    for relative in COPIED_FILES:
        copied = target / Path(relative).name
        shutil.copyfile(source / relative, copied)
        expected = EXPECTED_FEATURES.get(copied.name)
        if expected is not None:
            found = len(json.loads(copied.read_text(encoding="utf-8"))["features"])
            if found != expected:
                raise SystemExit(f"{source / relative}: expected {expected} features, found {found}")
        print(f"{sha256(copied)}  {copied.relative_to(REPO_ROOT)}  (copy of {relative})")

    divisions = target / "divisions.csv"
    write_divisions(extract_divisions(source / DIVISIONS_SOURCE, PROVINCE_CODE), divisions)
    print(f"{sha256(divisions)}  {divisions.relative_to(REPO_ROOT)}  (extract of {DIVISIONS_SOURCE})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
