"""``omnipower demand``: the month's peaks, billing value and step for a capture or a profile.

For a user checking a grid bill: feed it what the meter sent (a capture of CCC pushes, hex or
raw, as ``omnipower decode`` reads them) or the meter's load profile as CSV (the ``load_profile``
topic's register readings, or any export with a time and the A+ register), name the tariff rule,
and it prints what the gateway's ``demand`` topic would say at the end of the data, month by
month. It uses the same calculator as the service, so its figures are the gateway's.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config.loader import host_zone
from .decode_cli import parse_key, read_capture
from .decode_report import UsageError
from .demand.calculator import DemandCalculator, MonthSummary
from .demand.report import demand_payload
from .demand.rules import SHIPPED_RULES, TariffRule
from .mqtt.payloads import energy_payload, meter_time, power_payload
from .protocol import Keys, PushDecoder, PushReceived, SecurityContext

__all__ = ["COMMAND", "add_demand_arguments", "run_demand"]

_TIME_COLUMNS: Final = ("end", "time", "timestamp", "ts")
_ENERGY_COLUMNS: Final = ("a_plus_kwh", "active_energy_import_kwh")


class DemandUsageError(Exception):
    """The command line or the input cannot be used; the message says what to change."""


def add_demand_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", type=Path, help="a capture of CCC pushes (hex text or raw)")
    source.add_argument(
        "--csv",
        type=Path,
        help="a load profile: columns end (or time) and a_plus_kwh (the A+ register)",
    )
    parser.add_argument(
        "--rule",
        required=True,
        choices=sorted(SHIPPED_RULES),
        help="the grid tariff's demand rule",
    )
    parser.add_argument(
        "--timezone",
        help="the meter's IANA time zone (default: the host's), e.g. Europe/Oslo",
    )
    parser.add_argument("--key", help="encryption key (KeyType 64), 32 hex digits")
    parser.add_argument("--auth-key", help="authentication key (KeyType 65), 32 hex digits")
    parser.add_argument("--json", action="store_true", help="print the demand payload as JSON")


@dataclass(frozen=True, slots=True)
class _Result:
    calculator: DemandCalculator
    last: datetime
    samples: int


def _zone(name: str | None) -> tzinfo:
    if name is None:
        zone = host_zone()
        if zone is None:
            raise DemandUsageError("the host names no IANA time zone: pass --timezone")
        return zone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DemandUsageError(f"--timezone: {name!r} is not an IANA time zone") from None


def from_capture(path: Path, rule: TariffRule, zone: tzinfo, keys: Keys | None) -> _Result:
    """Every push of *path* that passes every check, fed in order."""
    decoder = PushDecoder(security=SecurityContext(keys=keys))
    calculator = DemandCalculator(rule, zone)
    samples = 0
    last: datetime | None = None
    try:
        data = read_capture(path)
    except UsageError as exc:
        raise DemandUsageError(str(exc)) from None
    for event in [*decoder.receive_data(data), *decoder.flush()]:
        if not isinstance(event, PushReceived):
            continue
        if event.push.apdu_datetime is None:
            continue  # a push without its own time cannot be placed in an interval
        at = meter_time(event.push, zone, datetime.now(zone))
        calculator.feed(at, *_values(power_payload(event.push, at), energy_payload(event.push, at)))
        samples += 1
        last = at
    if last is None:
        raise DemandUsageError(f"{path}: no push with a time stamp passed every check")
    return _Result(calculator, last, samples)


def _values(
    power: dict[str, Any] | None, energy: dict[str, Any] | None
) -> tuple[float | None, float | None]:
    watts = None if power is None else power.get("active_power_import_w")
    register = None if energy is None else energy.get("active_energy_import_kwh")
    return (
        float(watts) if isinstance(watts, int | float) else None,
        float(register) if isinstance(register, int | float) else None,
    )


def from_profile(path: Path, rule: TariffRule, zone: tzinfo) -> _Result:
    """Register readings at interval ends, as the meter's load profile captures them."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DemandUsageError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise DemandUsageError(f"{path}: no rows")
    header = rows[0].keys()
    time_column = next((c for c in _TIME_COLUMNS if c in header), None)
    energy_column = next((c for c in _ENERGY_COLUMNS if c in header), None)
    if time_column is None or energy_column is None:
        raise DemandUsageError(
            f"{path}: needs a time column ({', '.join(_TIME_COLUMNS)}) and an A+ register "
            f"column ({', '.join(_ENERGY_COLUMNS)})"
        )
    readings: list[tuple[datetime, float]] = []
    for number, row in enumerate(rows, start=2):
        try:
            at = datetime.fromisoformat(row[time_column])
            register = float(row[energy_column])
        except (TypeError, ValueError):
            raise DemandUsageError(f"{path}, line {number}: not a time and a number") from None
        readings.append((at if at.tzinfo is not None else at.replace(tzinfo=zone), register))
    readings.sort(key=lambda r: r[0])
    periods = {int((b[0] - a[0]).total_seconds()) for a, b in itertools.pairwise(readings)}
    period = min(periods) if periods else rule.interval_s
    if period <= 0 or rule.interval_s % period:
        raise DemandUsageError(
            f"{path}: {period // 60}-minute readings cannot give this rule's "
            f"{rule.interval_minutes}-minute intervals"
        )
    # Readings one profile period apart are consecutive samples, not a gap.
    calculator = DemandCalculator(rule, zone, max_gap_s=period + 1)
    for at, register in readings:
        calculator.feed(at, None, register)
    return _Result(calculator, readings[-1][0], len(readings))


def _print_month(label: str, summary: MonthSummary, rule: TariffRule, zone: tzinfo) -> None:
    print(f"{label} {summary.month}: billing value {summary.billing_kw:.3f} kW", end="")
    if summary.step is not None:
        step = rule.steps[summary.step]
        print(f", step from {step.lower_kw:g} kW ({step.price:g} {rule.currency} a month)", end="")
    print(f"; {summary.missing_intervals} intervals missing" if summary.missing_intervals else "")
    for rank, peak in enumerate(summary.peaks, start=1):
        start = datetime.fromtimestamp(peak.start_s, zone)
        end = start + timedelta(seconds=rule.interval_s)
        flag = "" if peak.complete else "  (incomplete: a lower bound)"
        print(
            f"  {rank}. {start:%Y-%m-%d %H:%M}-{end:%H:%M}  "
            f"{peak.average_kw(rule.interval_s):.3f} kW{flag}"
        )


def run_demand(args: argparse.Namespace) -> int:
    try:
        rule = SHIPPED_RULES[args.rule]
        zone = _zone(args.timezone)
        if args.file is not None:
            ek = None if args.key is None else parse_key(args.key, "--key")
            ak = None if args.auth_key is None else parse_key(args.auth_key, "--auth-key")
            if ak is not None and ek is None:
                raise DemandUsageError("--auth-key needs --key")
            result = from_capture(args.file, rule, zone, None if ek is None else Keys(ek, ak))
        else:
            result = from_profile(args.csv, rule, zone)
    except (DemandUsageError, UsageError) as exc:
        print(f"omnipower demand: {exc}", file=sys.stderr)
        return 2
    snapshot = result.calculator.snapshot(result.last)
    if args.json:
        print(json.dumps(demand_payload(snapshot, zone), indent=2))
        return 0
    until = f"{result.last:%Y-%m-%d %H:%M}"
    print(f"{rule.title} ({rule.source}); {result.samples} readings up to {until}")
    if snapshot.last_month is not None:
        _print_month("Previous month", snapshot.last_month, rule, zone)
    if snapshot.month is not None:
        current = MonthSummary(
            snapshot.month,
            snapshot.peaks,
            snapshot.billing_kw,
            snapshot.step,
            snapshot.missing_intervals,
        )
        _print_month("Month", current, rule, zone)
    return 0


#: Registered by ``ccc_gateway.cli`` when ``omnipower demand`` runs.
COMMAND = (
    "demand",
    (
        "the month's demand peaks, billing value and capacity step for a capture or a profile",
        add_demand_arguments,
        run_demand,
    ),
)
