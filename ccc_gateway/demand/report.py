"""The calculator's snapshot and events as the MQTT contract's ``demand`` and ``events`` payloads.

Times are the meter's, in its zone with their UTC offset, like every ``ts`` of the contract.
Powers are kW rounded to the watt: the calculator's floats carry no more than the meter measured.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any, Final

from .calculator import ClosedInterval, DemandEvent, DemandSnapshot, MonthSummary
from .rules import TariffRule

__all__ = ["SCHEMA_VERSION", "demand_event_payload", "demand_month_part", "demand_payload"]

SCHEMA_VERSION: Final = 1


def _kw(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@lru_cache(maxsize=256)
def _interval_time(t: float, zone: tzinfo) -> str:
    """An interval boundary as text; the same few boundaries recur on every push."""
    return datetime.fromtimestamp(t, zone).isoformat()


def _local(t: float, zone: tzinfo) -> str:
    return datetime.fromtimestamp(t, zone).isoformat()


def _peak(peak: ClosedInterval, rule: TariffRule, zone: tzinfo) -> dict[str, Any]:
    return {
        "start": _local(peak.start_s, zone),
        "end": _local(peak.start_s + rule.interval_s, zone),
        "average_kw": _kw(peak.average_kw(rule.interval_s)),
        "weighted_kw": _kw(peak.weighted_kw(rule.interval_s)),
        "complete": peak.complete,
    }


def _step(rule: TariffRule, index: int | None) -> dict[str, Any] | None:
    if index is None:
        return None
    step = rule.steps[index]
    upper = rule.steps[index + 1].lower_kw if index + 1 < len(rule.steps) else None
    return {"index": index, "lower_kw": step.lower_kw, "upper_kw": upper, "price": step.price}


def _month(summary: MonthSummary, rule: TariffRule, zone: tzinfo) -> dict[str, Any]:
    return {
        "month": summary.month,
        "peaks": [_peak(p, rule, zone) for p in summary.peaks],
        "billing_kw": _kw(summary.billing_kw),
        "step": _step(rule, summary.step),
        "missing_intervals": summary.missing_intervals,
    }


def demand_month_part(snapshot: DemandSnapshot, zone: tzinfo) -> dict[str, Any]:
    """The fields of the ``demand`` payload that change only when an interval closes (or a gap
    or a fill changes the month): the service builds them once per change, not per push."""
    rule = snapshot.rule
    price = None if snapshot.month is None else rule.kw_price(int(snapshot.month[5:7]))
    part: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "rule": rule.name,
        "interval_minutes": rule.interval_minutes,
        "peaks_counted": rule.peaks,
        "distinct_days": rule.distinct_days,
        "currency": rule.currency or None,
        "month": snapshot.month,
        "peaks": [_peak(p, rule, zone) for p in snapshot.peaks],
        "billing_kw": _kw(snapshot.billing_kw),
        "missing_intervals": snapshot.missing_intervals,
        "step": _step(rule, snapshot.step),
        "price_per_kw": price,
        "cost": None if price is None else round(price * snapshot.billing_kw, 2),
        "last_month": None
        if snapshot.last_month is None
        else _month(snapshot.last_month, rule, zone),
    }
    if rule.rolling_months:
        values = [*snapshot.history_kw[-(rule.rolling_months - 1) :], snapshot.billing_kw]
        part["rolling_billing_kw"] = _kw(sum(values) / len(values))
    return part


def demand_payload(
    snapshot: DemandSnapshot, zone: tzinfo, month_part: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The retained ``demand`` payload (docs/mqtt.md, schemas/demand.schema.json); pass a
    :func:`demand_month_part` built for the same month state to skip rebuilding it."""
    rule = snapshot.rule
    interval: dict[str, Any] | None = None
    if snapshot.interval_start is not None:
        start_s = snapshot.interval_start.timestamp()
        interval = {
            "start": _interval_time(start_s, zone),
            "end": _interval_time(start_s + rule.interval_s, zone),
            "average_kw": _kw(snapshot.interval_average_kw),
            "projection_kw": _kw(snapshot.projection_kw),
            "weight": snapshot.interval_weight,
            "complete": snapshot.interval_complete,
        }
    return {
        "ts": snapshot.at.astimezone(zone).isoformat(),
        **(month_part if month_part is not None else demand_month_part(snapshot, zone)),
        "interval": interval,
        "interval_limit_kw": _kw(snapshot.interval_limit_kw),
        "headroom_kw": _kw(snapshot.headroom_kw),
    }


def demand_event_payload(event: DemandEvent, at: datetime, zone: tzinfo) -> dict[str, Any]:
    """One ``events`` message for a ``demand_peak`` or ``demand_step_changed``."""
    fields = dict(event.fields)
    for name in ("start", "end"):
        if name in fields:
            fields[name] = datetime.fromisoformat(fields[name]).astimezone(zone).isoformat()
    return {
        "ts": at.astimezone(zone).isoformat(),
        "schema": SCHEMA_VERSION,
        "type": event.kind,
        **fields,
    }
