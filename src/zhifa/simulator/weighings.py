"""A weighing site's stream: records as a weigh-in-motion device would send them.

Masses are drawn around the legal limit of each vehicle's axle count (超限规定 第三条, through
the domain), with a share deliberately over it; a few records lack a picture or carry a device
classification instead of a registered vehicle, as real streams do.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from zhifa.domain.overlimit import VehicleConfiguration, gross_mass_limit
from zhifa.domain.vehicles import PlateColour
from zhifa.simulator.registers import ANHUI_PLATE_CITIES, SimVehicle, make_plate

IMAGE_KINDS = ("front", "side", "rear", "panorama", "plate")


@dataclass(frozen=True)
class StreamProfile:
    overlimit_share: float = 0.18  # share of records over the limit
    dimension_share: float = 0.03  # share over a dimension limit
    missing_image_share: float = 0.04  # share lacking one required picture
    unregistered_share: float = 0.10  # vehicles not in the register (the device classifies them)


@dataclass(frozen=True)
class SimSite:
    id: str


def _limit(axles: int, combination: bool) -> int:
    return gross_mass_limit(VehicleConfiguration(axles=axles, combination=combination)).kg


class WeighingStream:
    """Deterministic for a seed: the same seed and clock times give the same records."""

    def __init__(
        self,
        sites: list[SimSite],
        vehicles: list[SimVehicle],
        seed: int = 0,
        profile: StreamProfile | None = None,
    ) -> None:
        if not sites or not vehicles:
            raise ValueError("a weighing stream needs at least one site and one vehicle")
        self.sites = sites
        self.vehicles = vehicles
        self.profile = profile or StreamProfile()
        self.rng = random.Random(seed)
        self.serial = 0

    def _vehicle(self) -> tuple[str, int, int, bool, str | None]:
        """plate, colour, road axles, combination, device classification."""
        if self.rng.random() < self.profile.unregistered_share:
            axles = self.rng.choice((2, 3, 4, 5, 6, 6, 6))
            combination = axles >= 5 or self.rng.random() < 0.3
            plate = make_plate(self.rng, self.rng.choice(sorted(ANHUI_PLATE_CITIES)))
            return (
                plate,
                int(PlateColour.YELLOW),
                axles,
                combination,
                "combination" if combination else "truck",
            )
        v = self.rng.choice(self.vehicles)
        return v.plate, v.colour, v.road_axles, v.kind.is_combination or v.road_axles > v.axles, None

    def record(self, at: datetime) -> dict[str, Any]:
        site = self.rng.choice(self.sites)
        plate, colour, axles, combination, device_kind = self._vehicle()
        limit = _limit(axles, combination)
        p = self.profile
        if self.rng.random() < p.overlimit_share:
            # Over-limit vehicles cluster a little above the limit with a long tail, as in practice.
            gross = int(limit * (1.06 + self.rng.expovariate(1 / 0.18)))
        else:
            gross = int(limit * self.rng.uniform(0.35, 0.99))
        self.serial += 1
        record_id = f"{site.id}-{at:%Y%m%d%H%M%S}-{self.serial:06d}"
        loads = self._axle_loads(gross, axles)
        record: dict[str, Any] = {
            "record_id": record_id,
            "site_id": site.id,
            "measured_at": at.isoformat(),
            "plate": plate,
            "plate_colour": colour,
            "axles": axles,
            "gross_kg": gross,
            "axle_loads_kg": loads,
            "speed_kmh": round(self.rng.uniform(30, 85), 1),
            "lane": self.rng.randint(1, 3),
            "direction": self.rng.choice(("上行", "下行")),
        }
        if device_kind:
            record["vehicle_kind"] = device_kind
        if self.rng.random() < p.dimension_share:
            record["height_m"] = round(self.rng.uniform(4.05, 4.6), 2)
            record["width_m"] = 2.5
            record["length_m"] = round(self.rng.uniform(16.5, 18.0), 2)
        kinds = list(IMAGE_KINDS)
        if self.rng.random() < p.missing_image_share:
            kinds.remove(self.rng.choice(IMAGE_KINDS[1:]))
        record["images"] = [
            {
                "kind": kind,
                "uri": f"https://wim.example/{site.id}/{record_id}/{kind}.jpg",
                # Stands for the digest the device computed over the picture it keeps.
                "sha256": hashlib.sha256(f"{record_id}/{kind}".encode()).hexdigest(),
            }
            for kind in kinds
        ]
        return record

    def _axle_loads(self, gross: int, axles: int) -> list[int]:
        weights = [self.rng.uniform(0.8, 1.2) for _ in range(axles)]
        weights[0] *= 0.6  # the steer axle carries least
        total = sum(weights)
        loads = [int(gross * w / total) for w in weights]
        loads[-1] += gross - sum(loads)
        return loads

    def batch(self, start: datetime, count: int, spacing: timedelta) -> list[dict[str, Any]]:
        return [self.record(start + spacing * i) for i in range(count)]
