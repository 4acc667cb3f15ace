"""Parsing weighing records: one record in, a WeighingReading or every problem of it out.

Times are literals: ``NOW`` stands for the platform clock at receipt (12:00 in Hefei).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhifa.domain.overlimit import Measurement
from zhifa.domain.vehicles import PlateColour, VehicleKey, VehicleKind
from zhifa.domain.weighings import (
    MAX_IMAGES,
    EvidenceRef,
    ImageKind,
    InvalidRecord,
    WeighingReading,
    parse_weighing,
)

NOW = datetime(2026, 5, 1, 4, 0, tzinfo=UTC)  # 2026-05-01 12:00 Asia/Shanghai
RECORD_ID = "WIM-340102-01-20260501100000-000001"
KINDS = ("front", "side", "rear", "panorama", "plate")


def _sha(kind: str) -> str:
    return hashlib.sha256(f"{RECORD_ID}/{kind}".encode()).hexdigest()


def _images(kinds: tuple[str, ...] = KINDS) -> list[dict[str, str]]:
    return [{"kind": k, "uri": f"https://wim.example/{RECORD_ID}/{k}.jpg", "sha256": _sha(k)} for k in kinds]


def record(**changes: Any) -> dict[str, Any]:
    """A complete, valid record as a weigh-in-motion site sends it; ``changes`` override fields."""
    raw: dict[str, Any] = {
        "record_id": RECORD_ID,
        "site_id": "WIM-340102-01",
        "measured_at": "2026-05-01T10:00:00+08:00",
        "plate": "皖A12345",
        "plate_colour": 2,
        "axles": 6,
        "gross_kg": 52_340,
        "axle_loads_kg": [6_000, 9_000, 9_000, 9_340, 9_500, 9_500],
        "height_m": 4.2,
        "width_m": 2.5,
        "length_m": 17.95,
        "speed_kmh": 62.5,
        "lane": 2,
        "direction": "上行",
        "vehicle_kind": "combination",
        "images": _images(),
    }
    raw.update(changes)
    return raw


def errors_of(raw: object, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRecord) as info:
        parse_weighing(raw, NOW, **kwargs)
    return [(e.field, e.reason) for e in info.value.errors]


def fields_of(raw: object, **kwargs: Any) -> list[str]:
    return [field for field, _ in errors_of(raw, **kwargs)]


def refused_fields(raw: object) -> list[str]:
    """The fields refused, or [] when the record was accepted (for tests that expect a refusal)."""
    try:
        parse_weighing(raw, NOW)
    except InvalidRecord as exc:
        return [e.field for e in exc.errors]
    return []


# ---------------------------------------------------------------------------------------------
# The happy path
# ---------------------------------------------------------------------------------------------


def test_full_record_parses_every_field() -> None:
    """Every field lands in the reading: metres to millimetres, the time in UTC, images kept in order."""
    reading = parse_weighing(record(), NOW)
    assert reading == WeighingReading(
        record_id=RECORD_ID,
        site_id="WIM-340102-01",
        measured_at=datetime(2026, 5, 1, 2, 0, tzinfo=UTC),
        vehicle=VehicleKey("皖A12345", PlateColour.YELLOW),
        axles=6,
        gross_kg=52_340,
        axle_loads_kg=(6_000, 9_000, 9_000, 9_340, 9_500, 9_500),
        height_mm=4_200,
        width_mm=2_500,
        length_mm=17_950,
        speed_kmh=Decimal("62.5"),
        lane=2,
        direction="上行",
        vehicle_kind=VehicleKind.COMBINATION,
        images=tuple(
            EvidenceRef(ImageKind(k), f"https://wim.example/{RECORD_ID}/{k}.jpg", _sha(k)) for k in KINDS
        ),
    )
    assert reading.measured_at.utcoffset() == timedelta(0)
    assert reading.measurement == Measurement(52_340, 4_200, 2_500, 17_950)


def test_minimal_record_has_no_optional_fields() -> None:
    """Only the seven required fields: the optional ones stay None or empty."""
    minimal = {k: record()[k] for k in ("record_id", "site_id", "measured_at", "plate", "plate_colour")}
    reading = parse_weighing({**minimal, "axles": 2, "gross_kg": 18_000}, NOW)
    assert (reading.axles, reading.gross_kg) == (2, 18_000)
    assert reading.axle_loads_kg is None
    assert (reading.height_mm, reading.width_mm, reading.length_mm) == (None, None, None)
    assert (reading.speed_kmh, reading.lane, reading.direction, reading.vehicle_kind) == (
        None,
        None,
        None,
        None,
    )
    assert reading.images == ()


def test_plate_is_normalised_and_site_id_trimmed() -> None:
    """The plate is stored in its normal form; the site id without surrounding blanks."""
    reading = parse_weighing(record(plate="皖a·12345", plate_colour="2", site_id=" WIM-340102-01 "), NOW)
    assert reading.vehicle == VehicleKey("皖A12345", PlateColour.YELLOW)
    assert reading.site_id == "WIM-340102-01"


@pytest.mark.parametrize(
    ("metres", "mm"),
    [
        pytest.param(4.2, 4_200, id="4.2"),
        pytest.param(4.2005, 4_201, id="half-up"),
        pytest.param(4.2004, 4_200, id="below-half"),
        pytest.param("4.2005", 4_201, id="string-half-up"),
        pytest.param(4, 4_000, id="integer"),
        pytest.param(0.0005, 1, id="half-a-millimetre"),
        pytest.param(10, 10_000, id="maximum"),
    ],
)
def test_metres_to_millimetres_round_half_up(metres: object, mm: int) -> None:
    """Metres become whole millimetres, half a millimetre rounding up (decimal, not binary float)."""
    assert parse_weighing(record(height_m=metres), NOW).height_mm == mm


@pytest.mark.parametrize(
    "measured_at",
    [
        pytest.param("2026-05-01T10:00:00+08:00", id="beijing-offset"),
        pytest.param("2026-05-01T02:00:00Z", id="z-suffix"),
        pytest.param("2026-05-01T02:00:00+00:00", id="utc-offset"),
        pytest.param("2026-05-01T03:00:00+01:00", id="other-offset"),
    ],
)
def test_measured_at_is_converted_to_utc(measured_at: str) -> None:
    """Any explicit offset is accepted and the instant kept, in UTC."""
    reading = parse_weighing(record(measured_at=measured_at), NOW)
    assert reading.measured_at == datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
    assert reading.measured_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(1000.0, 1_000, id="integral-float"),
        pytest.param("1000", 1_000, id="digit-string"),
        pytest.param(1, 1, id="minimum"),
        pytest.param(500_000, 500_000, id="maximum"),
    ],
)
def test_integral_kilograms_accepted(raw: object, expected: int) -> None:
    """1000.0 is a whole number of kilograms; JSON encoders sometimes send it so."""
    assert parse_weighing(record(gross_kg=raw, axle_loads_kg=None), NOW).gross_kg == expected


@pytest.mark.parametrize("skew", [timedelta(minutes=5), timedelta(minutes=4, seconds=59)])
def test_time_within_clock_skew_is_accepted(skew: timedelta) -> None:
    """A device clock up to 5 minutes ahead of ours is tolerated."""
    at = (NOW + skew).isoformat()
    assert parse_weighing(record(measured_at=at), NOW).measured_at == NOW + skew


def test_uppercase_sha256_is_normalised() -> None:
    """Hex digests compare in lower case."""
    upper = _sha("front").upper()
    reading = parse_weighing(record(images=[{"kind": "front", "uri": "u.jpg", "sha256": upper}]), NOW)
    assert reading.images == (EvidenceRef(ImageKind.FRONT, "u.jpg", upper.lower()),)


def test_twenty_images_are_accepted() -> None:
    """MAX_IMAGES is the bound itself."""
    images = [{"kind": "front", "uri": f"u{i}.jpg", "sha256": "a" * 64} for i in range(MAX_IMAGES)]
    assert len(parse_weighing(record(images=images), NOW).images) == 20


@pytest.mark.parametrize(
    ("speed", "expected"), [(0, Decimal(0)), (200, Decimal(200)), ("61.25", Decimal("61.25"))]
)
def test_speed_bounds_are_inclusive(speed: object, expected: Decimal) -> None:
    """A standing vehicle (0 km/h) and 200 km/h are valid speeds."""
    assert parse_weighing(record(speed_kmh=speed), NOW).speed_kmh == expected


# ---------------------------------------------------------------------------------------------
# Refusals: each names its field
# ---------------------------------------------------------------------------------------------


def test_not_a_mapping() -> None:
    """A record that is no JSON object is refused as a whole."""
    assert errors_of(["x"]) == [("record", "must be a JSON object")]


def test_empty_record_lists_every_required_field() -> None:
    """All seven required fields are reported, in order, at once."""
    assert errors_of({}) == [
        ("record_id", "is required"),
        ("site_id", "is required"),
        ("measured_at", "is required"),
        ("plate", "is required"),
        ("plate_colour", "is required"),
        ("axles", "is required"),
        ("gross_kg", "is required"),
    ]


def test_required_field_given_as_null() -> None:
    """null is as good as missing."""
    assert errors_of(record(gross_kg=None)) == [("gross_kg", "is required")]


def test_unknown_fields_are_named() -> None:
    """A field the protocol does not know is refused (sorted), not silently dropped."""
    assert errors_of(record(colour="yellow", weight=1)) == [("record", "unknown fields: colour, weight")]


def test_all_problems_are_reported_at_once() -> None:
    """A bad plate, a negative mass and a naive time: three errors in one answer."""
    assert fields_of(record(plate="皖A1234I", gross_kg=-5, measured_at="2026-05-01T10:00:00")) == [
        "measured_at",
        "plate",
        "gross_kg",
    ]


def test_many_problems_are_reported_at_once() -> None:
    """Every optional field wrong as well: one error per field."""
    raw = record(
        record_id=" bad",
        site_id="",
        axles=1,
        axle_loads_kg=[],
        height_m=0,
        width_m=11,
        length_m=-1,
        speed_kmh=300,
        lane=0,
        direction=5,
        vehicle_kind="tractor",
        images="none",
    )
    assert fields_of(raw) == [
        "record_id",
        "site_id",
        "axles",
        "axle_loads_kg",
        "height_m",
        "width_m",
        "length_m",
        "speed_kmh",
        "lane",
        "direction",
        "vehicle_kind",
        "images",
    ]


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        # record_id: the 检测单号 printed on the notice.
        pytest.param({"record_id": ""}, "record_id", "letters, digits or _.:-", id="record-id-empty"),
        pytest.param({"record_id": "-R1"}, "record_id", "letters, digits or _.:-", id="record-id-leading"),
        pytest.param({"record_id": "R/1"}, "record_id", "letters, digits or _.:-", id="record-id-slash"),
        pytest.param({"record_id": "R" * 65}, "record_id", "1-64", id="record-id-too-long"),
        pytest.param({"record_id": 12}, "record_id", "letters, digits or _.:-", id="record-id-int"),
        pytest.param({"site_id": "  "}, "site_id", "must be a non-empty string", id="site-id-blank"),
        pytest.param({"site_id": 7}, "site_id", "must be a non-empty string", id="site-id-int"),
        # measured_at: aware, ISO 8601, not in the future.
        pytest.param(
            {"measured_at": "2026-05-01T10:00:00"}, "measured_at", "must carry a UTC offset", id="naive-time"
        ),
        pytest.param({"measured_at": "yesterday"}, "measured_at", "is not an ISO 8601 time", id="not-iso"),
        pytest.param({"measured_at": 1777600800}, "measured_at", "ISO 8601 time string", id="epoch-int"),
        pytest.param(
            {"measured_at": "2026-05-01T12:05:01+08:00"}, "measured_at", "lies in the future", id="future"
        ),
        # plate and colour.
        pytest.param({"plate": "皖A1234I"}, "plate", "GA 36-2018", id="plate-bad"),
        pytest.param({"plate": 12345}, "plate", "must be a string", id="plate-int"),
        pytest.param({"plate_colour": 7}, "plate_colour", "unknown plate colour 7", id="colour-7"),
        pytest.param({"plate_colour": True}, "plate_colour", "JT/T 697.7 code", id="colour-bool"),
        # axles and masses.
        pytest.param({"axles": 1, "axle_loads_kg": None}, "axles", "between 2 and 20", id="axles-1"),
        pytest.param({"axles": 21, "axle_loads_kg": None}, "axles", "between 2 and 20", id="axles-21"),
        pytest.param({"axles": True, "axle_loads_kg": None}, "axles", "got bool", id="axles-bool"),
        pytest.param({"axles": 2.5, "axle_loads_kg": None}, "axles", "whole number", id="axles-fraction"),
        pytest.param({"axles": "six", "axle_loads_kg": None}, "axles", "must be an integer", id="axles-word"),
        pytest.param({"gross_kg": 0}, "gross_kg", "between 1 and 500000", id="gross-zero"),
        pytest.param({"gross_kg": -1}, "gross_kg", "between 1 and 500000", id="gross-negative"),
        pytest.param({"gross_kg": 500_001}, "gross_kg", "between 1 and 500000", id="gross-too-heavy"),
        pytest.param({"gross_kg": 1.5}, "gross_kg", "whole number", id="gross-fraction"),
        pytest.param({"gross_kg": False}, "gross_kg", "got bool", id="gross-bool"),
        pytest.param({"gross_kg": float("nan")}, "gross_kg", "whole number", id="gross-nan"),
        pytest.param({"gross_kg": [1]}, "gross_kg", "got list", id="gross-list"),
        # axle loads: one per axle, whole kilograms.
        pytest.param({"axle_loads_kg": []}, "axle_loads_kg", "non-empty list", id="loads-empty"),
        pytest.param({"axle_loads_kg": "9000"}, "axle_loads_kg", "non-empty list", id="loads-string"),
        pytest.param(
            {"axle_loads_kg": [9_000] * 5}, "axle_loads_kg", "has 5 loads for 6 axles", id="loads-5"
        ),
        pytest.param(
            {"axle_loads_kg": [9_000] * 7}, "axle_loads_kg", "has 7 loads for 6 axles", id="loads-7"
        ),
        pytest.param(
            {"axle_loads_kg": [9_000] * 5 + [0]}, "axle_loads_kg[5]", "between 1 and", id="load-zero"
        ),
        pytest.param(
            {"axle_loads_kg": [1.5] + [9_000] * 5}, "axle_loads_kg[0]", "whole number", id="load-fraction"
        ),
        # dimensions and speed.
        pytest.param({"height_m": 0}, "height_m", "greater than 0", id="height-zero"),
        pytest.param({"height_m": 10.001}, "height_m", "at most 10", id="height-too-high"),
        pytest.param({"height_m": "tall"}, "height_m", "must be a number", id="height-word"),
        pytest.param({"height_m": True}, "height_m", "got bool", id="height-bool"),
        pytest.param({"width_m": -2.5}, "width_m", "greater than 0", id="width-negative"),
        pytest.param({"length_m": 100.5}, "length_m", "at most 100", id="length-too-long"),
        pytest.param({"length_m": float("inf")}, "length_m", "at most 100", id="length-inf"),
        pytest.param({"speed_kmh": -1}, "speed_kmh", "at least 0", id="speed-negative"),
        pytest.param({"speed_kmh": 200.1}, "speed_kmh", "at most 200", id="speed-too-fast"),
        pytest.param({"lane": 0}, "lane", "between 1 and 99", id="lane-0"),
        pytest.param({"lane": 100}, "lane", "between 1 and 99", id="lane-100"),
        pytest.param({"direction": 1}, "direction", "at most 32", id="direction-int"),
        pytest.param({"direction": "上" * 33}, "direction", "at most 32", id="direction-long"),
        # the device classification: only truck or combination.
        pytest.param({"vehicle_kind": "tractor"}, "vehicle_kind", "truck, combination", id="kind-tractor"),
        pytest.param({"vehicle_kind": "farm_vehicle"}, "vehicle_kind", "truck, combination", id="kind-farm"),
        pytest.param({"vehicle_kind": "bus"}, "vehicle_kind", "truck, combination", id="kind-unknown"),
        # images.
        pytest.param({"images": "front.jpg"}, "images", "must be a list", id="images-string"),
        pytest.param({"images": ["front.jpg"]}, "images[0]", "must be an object", id="image-string"),
        pytest.param(
            {"images": [{"kind": "xray", "uri": "u", "sha256": "a" * 64}]},
            "images[0].kind",
            "front, side, rear, panorama, plate, video",
            id="image-bad-kind",
        ),
        pytest.param(
            {"images": [{"kind": "front", "uri": "u"}]},
            "images[0].sha256",
            "64 hexadecimal",
            id="image-no-sha",
        ),
        pytest.param(
            {"images": [{"kind": "front", "uri": "u", "sha256": "g" * 64}]},
            "images[0].sha256",
            "64 hexadecimal",
            id="image-sha-not-hex",
        ),
        pytest.param(
            {"images": [{"kind": "front", "uri": "u", "sha256": "a" * 63}]},
            "images[0].sha256",
            "64 hexadecimal",
            id="image-sha-short",
        ),
        pytest.param(
            {"images": [{"kind": "front", "uri": " ", "sha256": "a" * 64}]},
            "images[0].uri",
            "non-empty string",
            id="image-blank-uri",
        ),
        pytest.param(
            {"images": [{"kind": "front", "uri": "u" * 1025, "sha256": "a" * 64}]},
            "images[0].uri",
            "at most 1024",
            id="image-long-uri",
        ),
        pytest.param(
            {"images": [{"kind": "front", "uri": "u", "sha256": "a" * 64}] * 21},
            "images",
            "at most 20 images per record, got 21",
            id="images-21",
        ),
    ],
)
def test_refusal_names_the_field(changes: dict[str, Any], field: str, reason: str) -> None:
    """One wrong field gives exactly one error, naming that field and saying why."""
    errors = errors_of(record(**changes))
    assert [f for f, _ in errors] == [field]
    assert reason in errors[0][1]


def test_image_errors_name_their_position() -> None:
    """Two bad images among good ones: each error points at its index."""
    images = _images()
    images[1] = {"kind": "side", "uri": "u"}
    images[3] = {"kind": "xray", "uri": "u", "sha256": "a" * 64}
    assert fields_of(record(images=images)) == ["images[1].sha256", "images[3].kind"]


def test_future_time_with_a_stricter_skew() -> None:
    """The skew is a parameter: with none, one second ahead is refused."""
    at = (NOW + timedelta(seconds=1)).isoformat()
    assert fields_of(record(measured_at=at), clock_skew=timedelta(0)) == ["measured_at"]
    assert (
        parse_weighing(record(measured_at=NOW.isoformat()), NOW, clock_skew=timedelta(0)).measured_at == NOW
    )


def test_nev_marks_reach_the_plate_check() -> None:
    """A province that extends the new-energy letters passes them to parse_weighing."""
    assert fields_of(record(plate="皖AA12345")) == ["plate"]
    assert parse_weighing(record(plate="皖AA12345"), NOW, nev_marks="ADF").vehicle.plate == "皖AA12345"


# ---------------------------------------------------------------------------------------------
# Defects found by these tests and fixed: kept so they stay fixed.
# ---------------------------------------------------------------------------------------------


def test_record_id_with_trailing_newline_is_refused() -> None:
    """'R1\\n' is not letters, digits or _.:- ; it must not become a 检测单号."""
    assert refused_fields(record(record_id="R1\n")) == ["record_id"]


def test_sha256_with_trailing_newline_is_refused() -> None:
    """A 65-character 'digest' is not a SHA-256."""
    image = {"kind": "front", "uri": "u", "sha256": "a" * 64 + "\n"}
    assert refused_fields(record(images=[image])) == ["images[0].sha256"]


def test_dimension_rounding_to_zero_millimetres_is_refused() -> None:
    """0.0004 m is 0 mm after rounding: the record must be refused, not crash later on .measurement."""
    assert refused_fields(record(height_m=0.0004)) == ["height_m"]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"plate": "皖A1234I", "plate_colour": 7}, id="both-invalid"),
        pytest.param({"plate": "皖A1234I", "plate_colour": None}, id="plate-invalid-colour-missing"),
    ],
)
def test_bad_plate_and_bad_colour_are_both_reported(changes: dict[str, Any]) -> None:
    """Every wrong field at once: a bad plate is reported even when the colour is also wrong."""
    assert sorted(refused_fields(record(**changes))) == ["plate", "plate_colour"]


# ---------------------------------------------------------------------------------------------
# content_digest: a re-sent id with other content is a conflict
# ---------------------------------------------------------------------------------------------


BASE_DIGEST = parse_weighing(record(), NOW).content_digest()


def test_digest_is_a_sha256_hex() -> None:
    """64 lower-case hex characters."""
    assert len(BASE_DIGEST) == 64
    assert BASE_DIGEST.lower() == BASE_DIGEST
    int(BASE_DIGEST, 16)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="same-record"),
        pytest.param({"measured_at": "2026-05-01T02:00:00Z"}, id="same-instant-other-offset"),
        pytest.param({"plate": "皖a 12345", "plate_colour": "2"}, id="same-plate-other-spelling"),
        pytest.param({"gross_kg": 52_340.0}, id="same-mass-as-float"),
        pytest.param({"height_m": "4.2000"}, id="same-height-other-spelling"),
        pytest.param(
            {"images": [{**i, "sha256": i["sha256"].upper()} for i in _images()]}, id="upper-case-digests"
        ),
    ],
)
def test_digest_is_stable_for_equal_records(changes: dict[str, Any]) -> None:
    """The digest is of the canonical reading: equal content, equal digest, however it was spelt."""
    assert parse_weighing(record(**changes), NOW).content_digest() == BASE_DIGEST


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"record_id": RECORD_ID + "2"}, id="record_id"),
        pytest.param({"site_id": "WIM-340102-02"}, id="site_id"),
        pytest.param({"measured_at": "2026-05-01T10:00:01+08:00"}, id="measured_at"),
        pytest.param({"plate": "皖A12346"}, id="plate"),
        pytest.param({"plate_colour": 1}, id="plate_colour"),
        pytest.param({"axles": 5, "axle_loads_kg": None}, id="axles"),
        pytest.param({"gross_kg": 52_341}, id="gross_kg"),
        pytest.param({"axle_loads_kg": [6_000, 9_000, 9_000, 9_500, 9_340, 9_500]}, id="axle-load-order"),
        pytest.param({"axle_loads_kg": None}, id="axle-loads-absent"),
        pytest.param({"height_m": 4.201}, id="height"),
        pytest.param({"height_m": None}, id="height-absent"),
        pytest.param({"width_m": 2.55}, id="width"),
        pytest.param({"length_m": 18}, id="length"),
        pytest.param({"speed_kmh": 62.4}, id="speed"),
        pytest.param({"lane": 3}, id="lane"),
        pytest.param({"direction": "下行"}, id="direction"),
        pytest.param({"vehicle_kind": "truck"}, id="vehicle_kind"),
        pytest.param({"vehicle_kind": None}, id="vehicle-kind-absent"),
        pytest.param({"images": _images()[:4]}, id="one-image-fewer"),
        pytest.param({"images": _images()[::-1]}, id="images-reordered"),
        pytest.param({"images": [{**_images()[0], "uri": "other.jpg"}, *_images()[1:]]}, id="image-uri"),
        pytest.param({"images": [{**_images()[0], "kind": "video"}, *_images()[1:]]}, id="image-kind"),
        pytest.param({"images": [{**_images()[0], "sha256": "0" * 64}, *_images()[1:]]}, id="image-digest"),
    ],
)
def test_digest_changes_with_any_field(changes: dict[str, Any]) -> None:
    """Any change of content, however small, gives another digest."""
    assert parse_weighing(record(**changes), NOW).content_digest() != BASE_DIGEST


@given(
    a=st.integers(min_value=1, max_value=500_000),
    b=st.integers(min_value=1, max_value=500_000),
    lane_a=st.integers(min_value=1, max_value=99),
    lane_b=st.integers(min_value=1, max_value=99),
)
def test_digest_equal_exactly_when_content_equal(a: int, b: int, lane_a: int, lane_b: int) -> None:
    """For any two masses and lanes, the digests agree if and only if the readings do."""
    ra = parse_weighing(record(gross_kg=a, lane=lane_a, axle_loads_kg=None), NOW)
    rb = parse_weighing(record(gross_kg=b, lane=lane_b, axle_loads_kg=None), NOW)
    assert (ra.content_digest() == rb.content_digest()) is ((a, lane_a) == (b, lane_b))
