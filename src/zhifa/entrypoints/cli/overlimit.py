"""``zhifa overlimit``: over-limit determination from the command line."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Annotated, NoReturn

import typer

from zhifa.domain.overlimit import (
    EXPRESSWAY_ENTRANCE_THRESHOLD_PCT,
    Measurement,
    OverlimitInputError,
    PartTonne,
    PenaltyPolicy,
    Tolerance,
    VehicleConfiguration,
    assess,
    assessment_to_dict,
    millimetres,
)

app = typer.Typer(
    help="超限认定与处罚: over-limit determination (超限规定 第三条、第四十三条).", no_args_is_help=True
)

# Bad input exits like a Click usage error, so scripts need to know one code for "fix your call".
EXIT_BAD_INPUT = 2


class _BadInput(Exception):
    """An argument Typer accepted but the command cannot use; the message is the one line printed."""


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _decimal(text: str, option: str) -> Decimal:
    """A finite decimal read from the text itself: a float would turn 4.001 into 4.00099999…"""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise _BadInput(f"{option} must be a decimal number, got {text!r}") from None
    if not value.is_finite():
        raise _BadInput(f"{option} must be a finite number, got {text!r}")
    return value


def _metres_to_mm(text: str | None, option: str) -> int | None:
    """Whole millimetres, rounded half up, so the 超过 comparison of 第三条 is exact."""
    if text is None:
        return None
    metres = _decimal(text, option)
    if metres <= 0:
        raise _BadInput(f"{option} must be positive, got {text}")
    try:
        mm = millimetres(metres)
    except ArithmeticError:  # decimal.Overflow or InvalidOperation: beyond the decimal context
        raise _BadInput(f"{option} is out of range, got {text}") from None
    if mm <= 0:
        raise _BadInput(f"{option} is below one millimetre, got {text}")
    return mm


def _axle_limits(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(part.strip()) for part in text.split(","))
    except ValueError:
        raise _BadInput(
            f"--axle-limits-kg must be whole kilograms separated by commas, got {text!r}"
        ) from None


@app.command("assess")
def assess_command(
    axles: Annotated[
        int, typer.Option("--axles", help="Number of axles (2–20); an axle group counts each axle.")
    ],
    gross_kg: Annotated[int, typer.Option("--gross-kg", help="Measured gross mass (车货总质量), kg.")],
    combination: Annotated[
        bool, typer.Option("--combination", help="汽车列车: tractor with semi-trailer or truck with trailer.")
    ] = False,
    single_drive_axle: Annotated[
        bool,
        typer.Option(
            "--single-drive-axle", help="牵引车驱动轴为单轴: 46 000 kg for 6+ axles (第三条第一款第八项)."
        ),
    ] = False,
    single_tyre_axles: Annotated[
        int,
        typer.Option(
            "--single-tyre-axles",
            help="Non-drive axles with single tyres: −3 000 kg each (第三条第二款第二项).",
        ),
    ] = 0,
    height_m: Annotated[
        str | None, typer.Option("--height-m", help="Height from the ground, m (limit 4 m).")
    ] = None,
    width_m: Annotated[str | None, typer.Option("--width-m", help="Width, m (limit 2.55 m).")] = None,
    length_m: Annotated[str | None, typer.Option("--length-m", help="Length, m (limit 18.1 m).")] = None,
    tolerance_pct: Annotated[
        str,
        typer.Option(
            "--tolerance-pct", help="Device accuracy deducted from the measured mass, % (≤2 decimals)."
        ),
    ] = "0",
    entrance: Annotated[
        bool,
        typer.Option(
            "--entrance",
            help=f"Expressway-entrance weighing: over only above {EXPRESSWAY_ENTRANCE_THRESHOLD_PCT} % "
            "of the limit (交办公路明电〔2019〕117号).",
        ),
    ] = False,
    licensed_gross_kg: Annotated[
        int | None,
        typer.Option(
            "--licensed-gross-kg",
            help="Tractor, farm vehicle or low-speed truck: the 行驶证 mass is the limit "
            "(第三条第二款第四项).",
        ),
    ] = None,
    axle_limits_kg: Annotated[
        str | None,
        typer.Option(
            "--axle-limits-kg",
            help="Permitted load of each axle, comma-separated, e.g. 7000,11500: the gross limit is "
            "never above their sum (第三条第二款第三项).",
        ),
    ] = None,
    part_tonne: Annotated[
        PartTonne,
        typer.Option(
            "--part-tonne", help="A part 1 000 kg step beyond the last whole one: drop it or count it whole."
        ),
    ] = PartTonne.DROP,
) -> None:
    """Decide whether a weighed vehicle is 超限 (第三条) and the penalty (第四十三条); print JSON."""
    try:
        vehicle = VehicleConfiguration(
            axles,
            combination=combination,
            single_drive_axle=single_drive_axle,
            single_tyre_axles=single_tyre_axles,
            licensed_gross_kg=licensed_gross_kg,
            axle_load_limits_kg=_axle_limits(axle_limits_kg),
        )
        measurement = Measurement(
            gross_kg,
            height_mm=_metres_to_mm(height_m, "--height-m"),
            width_mm=_metres_to_mm(width_m, "--width-m"),
            length_mm=_metres_to_mm(length_m, "--length-m"),
        )
        tolerance = Tolerance(
            deduct_pct=_decimal(tolerance_pct, "--tolerance-pct"),
            threshold_pct=EXPRESSWAY_ENTRANCE_THRESHOLD_PCT if entrance else Decimal(100),
        )
        assessment = assess(vehicle, measurement, tolerance, PenaltyPolicy(part_tonne))
    except (OverlimitInputError, _BadInput) as exc:
        _fail(str(exc))
    typer.echo(json.dumps(assessment_to_dict(assessment), ensure_ascii=False))
