"""Road features the platform places things at: expressway junctions (互通 / 枢纽)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Junction:
    """An expressway junction or interchange (OSM highway=motorway_junction)."""

    osm_id: str  # e.g. node/251191520
    name: str  # 合肥西枢纽; "" when OSM has no name
    ref: str  # exit number; "" when absent
    lon: float
    lat: float
