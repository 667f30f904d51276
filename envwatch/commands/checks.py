"""One-off checks for staff and agencies: ``envwatch aqi`` and ``envwatch water-class``.

Input is one JSON object, or ``-`` for one object per line on stdin (a bad line prints an
``error`` object on its line and the rest carry on). A bad single object exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from alerts.standards import ReadingError, aqi, water_class
from alerts.standards.editions import NoEditionError
from streams.settings import Settings

Check = Callable[[Mapping[str, Any], argparse.Namespace], dict[str, Any]]


def _aqi(values: Mapping[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    result = aqi.evaluate(values, edition=args.edition)
    out: dict[str, Any] = {
        "aqi": result.aqi,
        "iaqi": {k: v.value for k, v in result.iaqi.items()},
        "primary_pollutants": list(result.primary_pollutants),
        "category": result.category.number,
        "level": result.category.zh,
        "color": result.category.color,
        "edition": result.edition,
    }
    flags = {k: v.flag for k, v in result.iaqi.items() if v.flag}
    if flags:
        out["flags"] = flags
    return out


def _num(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _water(values: Mapping[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    verdict = water_class.sample_class(values, args.waterbody, args.edition)
    target = args.target or 3
    return {
        "class": verdict.water_class,
        "label": verdict.label,
        "by_parameter": dict(verdict.by_parameter),
        "excluded": list(verdict.excluded),
        "exceeding": {
            e.parameter: {
                "class": e.water_class,
                "limit": _num(e.limit),
                "multiple": _num(e.multiple),
                **({"shortfall": _num(e.shortfall)} if e.shortfall is not None else {}),
            }
            for e in water_class.exceeding(values, target, args.waterbody, args.edition)
        },
        "target": target,
        "edition": verdict.edition,
    }


def _judge(check: Check, line: str, args: argparse.Namespace) -> dict[str, Any]:
    try:
        values = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ReadingError(f"not JSON: {exc}") from exc
    if not isinstance(values, dict):
        raise ReadingError("expected a JSON object")
    return check(values, args)


def _run(check: Check, args: argparse.Namespace) -> int:
    def emit(obj: Mapping[str, Any]) -> None:
        print(json.dumps(obj, ensure_ascii=False, sort_keys=True), flush=True)

    if args.json != "-":
        try:
            emit(_judge(check, args.json, args))
        except (ReadingError, NoEditionError) as exc:
            print(f"envwatch {args.command}: {exc}", file=sys.stderr)
            return 2
        return 0
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            emit(_judge(check, line, args))
        except (ReadingError, NoEditionError) as exc:
            emit({"error": str(exc)})
    return 0


def aqi_command(args: argparse.Namespace, settings: Settings) -> int:
    """Print the AQI of the concentrations given."""
    return _run(_aqi, args)


def water_class_command(args: argparse.Namespace, settings: Settings) -> int:
    """Print the GB 3838 class of the sample given."""
    return _run(_water, args)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    edition_help = "standards edition: id or year, e.g. 2012 (default: the one in force today)"
    p = sub.add_parser("aqi", help="AQI of pollutant concentrations (HJ 633)")
    p.add_argument(
        "--json",
        required=True,
        help="object of {so2,no2,co,o3,pm10,pm25}_{1h,24h} and o3_8h (ug/m3, CO mg/m3), or -",
    )
    p.add_argument("--edition", help=edition_help)
    p.set_defaults(func=aqi_command)

    w = sub.add_parser("water-class", help="surface-water class of a sample (GB 3838-2002)")
    w.add_argument("--json", required=True, help="object of parameter -> mg/L (pH, count/L), or -")
    w.add_argument("--waterbody", choices=("river", "lake"), default="river")
    w.add_argument("--target", type=int, choices=range(1, 6), help="target class (default III)")
    w.add_argument("--edition", help=edition_help)
    w.set_defaults(func=water_class_command)
