"""Peak power over the integration period, and debiting (billing) periods.

Peak power: at the end of every integration period (Z4: 15, 30 or 60 min) the average powers
of the period are compared with the maxima P+max, Q+max (total and per tariff), S+max and S-max,
each kept with its RTC time (1.1.1.6.x, class 4 capture_time). A period whose average P+ exceeds
the configured threshold counts in the power-threshold counter.

Debiting: at 00:00 on the debiting stop date (Z6) of the months the interval (Z7) selects, the
meter stores the values of the data sheet's "Permanent memory" table in the billing logger,
counts the stop, adds each maximum to its accumulated register and starts new maxima.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from .clock import naive_to_us
from .energy import NJ_PER_WH

__all__ = ["BillingRecord", "Debiting", "PeakPower", "debiting_months"]

#: Billing logger 1 depth (emulator's choice; the public documents do not give it).
BILLING_DEPTH: Final = 36
_PEAK_TARIFFS: Final = (1, 2, 3, 4)
#: Maxima whose sum over billing periods the data sheet lists as "accumulated".
ACCUMULATED: Final = ("p_plus", "p_plus_t1", "p_plus_t2", "q_plus")


def debiting_months(interval: int) -> frozenset[int]:
    """Months with a debiting stop for Z7 code *interval* (empty: externally controlled)."""
    if interval == 0:
        return frozenset()
    if interval == 1:
        return frozenset(range(1, 13))
    if interval in (2, 3):
        return frozenset(range(interval - 1, 13, 2))
    if interval in (4, 5, 6):
        return frozenset(range(interval - 3, 13, 3))
    if 7 <= interval <= 12:
        return frozenset({interval - 6, interval})
    if 13 <= interval <= 24:
        return frozenset({interval - 12})
    raise ValueError("Z7 debiting interval codes are 0-24")


@dataclass(frozen=True, slots=True)
class Peak:
    """One maximum demand register: watts (var, VA) and when."""

    value: int
    local: datetime
    dst: bool


@dataclass(slots=True)
class PeakPower:
    """Maximum-demand registers over the integration period."""

    period_min: int
    threshold_w: int
    maxima: dict[str, Peak] = field(default_factory=dict)
    accumulated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACCUMULATED, 0))
    threshold_count: int = 0
    _start_nj: dict[str, int] = field(default_factory=dict)

    def start(self, nj: Mapping[str, int]) -> None:
        """Begin a period at the registers' current values."""
        self._start_nj = dict(nj)

    def close(
        self, local: datetime, dst: bool, tariff: int, nj: Mapping[str, int]
    ) -> dict[str, int]:
        """End the period: update maxima; returns the period's average powers."""
        period_us = self.period_min * 60_000_000
        averages: dict[str, int] = {}
        for register, name in (
            ("a_plus", "p_plus"),
            ("r_plus", "q_plus"),
            ("e_plus", "s_plus"),
            ("e_minus", "s_minus"),
        ):
            if register in nj:
                delta = nj[register] - self._start_nj.get(register, nj[register])
                averages[name] = delta // period_us // 1000  # nJ / us = mW → W
        for name, value in list(averages.items()):
            self._update(name, value, local, dst)
            if name in ("p_plus", "q_plus") and tariff in _PEAK_TARIFFS:
                self._update(f"{name}_t{tariff}", value, local, dst)
        if averages.get("p_plus", 0) > self.threshold_w:
            self.threshold_count += 1
        self.start(nj)
        return averages

    def _update(self, name: str, value: int, local: datetime, dst: bool) -> None:
        current = self.maxima.get(name)
        if current is None or value > current.value:
            self.maxima[name] = Peak(value, local, dst)

    def end_billing_period(self) -> None:
        """Add each maximum to its accumulated register and start new maxima."""
        for name in ACCUMULATED:
            peak = self.maxima.get(name)
            self.accumulated[name] += peak.value if peak else 0
        self.maxima.clear()

    def view(self) -> dict[str, Any]:
        """The running debiting period's maxima with their times, and the accumulated maxima,
        JSON-ready (the control socket's ``state``)."""
        return {
            "maxima": {
                name: {"value_w": p.value, "local": p.local.isoformat(), "dst": p.dst}
                for name, p in sorted(self.maxima.items())
            },
            "accumulated_w": dict(self.accumulated),
            "power_threshold_count": self.threshold_count,
        }

    def value(self, name: str) -> int:
        """A maximum in W (0 before the first period)."""
        peak = self.maxima.get(name)
        return peak.value if peak else 0

    def to_state(self) -> dict[str, Any]:
        """What survives a restart."""
        return {
            "maxima": {k: [p.value, p.local.isoformat(), p.dst] for k, p in self.maxima.items()},
            "accumulated": self.accumulated,
            "threshold_count": self.threshold_count,
            "start_nj": self._start_nj,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`to_state`."""
        self.maxima = {
            k: Peak(v, datetime.fromisoformat(t), d) for k, (v, t, d) in state["maxima"].items()
        }
        self.accumulated = {k: int(v) for k, v in state["accumulated"].items()}
        self.threshold_count = int(state["threshold_count"])
        self._start_nj = {k: int(v) for k, v in state["start_nj"].items()}


@dataclass(frozen=True, slots=True)
class BillingRecord:
    """Values frozen at the end of a debiting period (data sheet "Permanent memory")."""

    local: datetime
    clock_status: int
    values: dict[str, Any]


@dataclass(slots=True)
class Debiting:
    """Debiting stop schedule, counters and the billing logger."""

    stop_day: int
    interval: int
    stop_count: int = 0
    powered_us: int = 0
    pulse_input: int = 0
    records: deque[BillingRecord] = field(default_factory=lambda: deque(maxlen=BILLING_DEPTH))

    @property
    def hour_counter(self) -> int:
        """Whole hours with supply."""
        return self.powered_us // 3_600_000_000

    def next_stop_local(self, local: datetime) -> int | None:
        """Local microseconds of the next debiting stop after *local*."""
        months = debiting_months(self.interval)
        if not months:
            return None
        year, month = local.year, local.month
        for _ in range(25):
            if month in months:
                stop = datetime(year, month, self.stop_day)
                if stop > local:
                    return naive_to_us(stop)
            month += 1
            if month > 12:
                year, month = year + 1, 1
        return None

    def stop(
        self, local: datetime, clock_status: int, registers: Mapping[str, int], peaks: PeakPower
    ) -> BillingRecord:
        """Freeze the permanent-memory values and start a new period."""
        self.stop_count += 1
        values: dict[str, Any] = {
            "hour_counter": self.hour_counter,
            "debiting_stop_counter": self.stop_count,
            "power_threshold_counter": peaks.threshold_count,
            "pulse_input": self.pulse_input,
        }
        names = ("a_plus", "a_minus", "r_plus", "r_minus", "e_plus", "e_minus")
        tariffs = tuple(f"{r}_t{t}" for r in ("a_plus", "r_plus") for t in range(1, 5))
        for name in (*names, *tariffs):
            if name in registers:
                values[f"{name}_wh"] = registers[name] // NJ_PER_WH
        for name in (
            "p_plus",
            "p_plus_t1",
            "p_plus_t2",
            "q_plus",
            "q_plus_t1",
            "q_plus_t2",
            "s_plus",
            "s_minus",
        ):
            peak = peaks.maxima.get(name)
            values[f"{name}_max_w"] = peak.value if peak else 0
            values[f"{name}_max_time"] = peak.local.isoformat() if peak else None
            values[f"{name}_max_dst"] = peak.dst if peak else False
        peaks.end_billing_period()
        for name, total in peaks.accumulated.items():
            values[f"{name}_max_accumulated_w"] = total
        record = BillingRecord(local, clock_status, values)
        self.records.append(record)
        return record

    def to_state(self) -> dict[str, Any]:
        """What survives a restart."""
        return {
            "stop_count": self.stop_count,
            "powered_us": self.powered_us,
            "pulse_input": self.pulse_input,
            "records": [[r.local.isoformat(), r.clock_status, r.values] for r in self.records],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`to_state`."""
        self.stop_count = int(state["stop_count"])
        self.powered_us = int(state["powered_us"])
        self.pulse_input = int(state["pulse_input"])
        self.records.clear()
        for local, status, values in state["records"]:
            self.records.append(BillingRecord(datetime.fromisoformat(local), status, values))
