"""The debiting (billing) period → the retained ``billing`` topic.

What the meter keeps per debiting period (data sheet, "Permanent memory"): the maxima of active,
reactive and apparent power with the time each was reached, per tariff and in total, the
accumulated maxima (the sum of every period's maximum), and the counters (debiting stops, hours,
power-threshold crossings, module pulse input). The current period comes from the maximum-demand
registers (class 4: value and capture_time), the last closed one from the newest entry of billing
logger 2 (1.1.98.2.0.255), which the meter writes at each debiting stop. Pure: the poller hands
in what it read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any, Final

from .session import LogEntry, MeterClock

__all__ = ["ACCUMULATED", "COUNTERS", "MAXIMA", "billing_payload"]

#: Maximum-demand registers (class 4) and the unit of their key.
MAXIMA: Final = {
    "max_active_power_import": "w",
    **{f"max_active_power_import_t{t}": "w" for t in range(1, 5)},
    "max_reactive_power_import": "var",
    **{f"max_reactive_power_import_t{t}": "var" for t in range(1, 5)},
    "max_apparent_power_import": "va",
    "max_apparent_power_export": "va",
}
ACCUMULATED: Final = {
    "accumulated_max_active_power_import": "w",
    "accumulated_max_active_power_import_t1": "w",
    "accumulated_max_active_power_import_t2": "w",
    "accumulated_max_reactive_power_import": "var",
}
#: Counter objects → their key on the topic.
COUNTERS: Final = {
    "debiting_stop_counter": "debiting_stops",
    "hour_counter": "hour_counter_h",
    "power_threshold_counter": "power_threshold_count",
    "pulse_input": "pulse_input_count",
}
_SCHEMA: Final = 1


def _moment(value: Any, zone: tzinfo) -> str | None:
    return value.aware(zone).isoformat() if isinstance(value, MeterClock) else None


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return round(value, 6) if isinstance(value, float) else value


def _maxima(values: Mapping[str, Any], times: Mapping[str, Any], zone: tzinfo) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, unit in MAXIMA.items():
        value = _number(values.get(name))
        if value is None:
            continue
        out[f"{name}_{unit}"] = value
        out[f"{name}_at"] = _moment(times.get(name), zone)
    return out


def billing_payload(
    values: Mapping[str, Any],
    times: Mapping[str, MeterClock | None],
    last: LogEntry | None,
    ts: datetime,
    zone: tzinfo,
) -> dict[str, Any] | None:
    """``billing``; None when the meter answered no maximum (it keeps no billing data)."""
    current = _maxima(values, times, zone)
    if not current:
        return None
    accumulated = {
        f"{name}_{unit}": number
        for name, unit in ACCUMULATED.items()
        if (number := _number(values.get(name))) is not None
    }
    counters = {
        key: number
        for name, key in COUNTERS.items()
        if (number := _number(values.get(name))) is not None
    }
    previous: dict[str, Any] | None = None
    if last is not None:
        stored = last.values
        previous = {
            "ended": last.clock.aware(zone).isoformat(),
            "debiting_stops": _number(stored.get("debiting_stop_counter")),
            **_maxima(
                stored, {k: stored.get(f"{k}_time") for k in MAXIMA if f"{k}_time" in stored}, zone
            ),
            **{
                f"{name}_{unit}": number
                for name, unit in ACCUMULATED.items()
                if (number := _number(stored.get(name))) is not None
            },
        }
    return {
        "ts": ts.isoformat(),
        "schema": _SCHEMA,
        "current": current,
        "accumulated": accumulated,
        "counters": counters,
        "last_period": previous,
    }
