"""Peak demand of one meter under one tariff rule: sans-I/O, fed with the meter's own readings.

:class:`DemandCalculator` turns the stream of accepted pushes (meter time, import power, and the
A+ register when the list carries it) into demand intervals aligned on the rule's length, and
ranks the month's closed intervals as the rule says. It never reads a clock: the time is the
meter's, passed in with every sample.

What it promises, so that an automation can trust it:

- **The billing value is a lower bound that only rises within a month.** It is the sum of the
  month's top ``peaks`` (weighted) interval averages divided by ``peaks``: a peak not seen yet
  counts as 0, so adding an interval can never lower it. It reaches the bill's value when the
  month ends with every interval known.
- **Nothing is guessed.** Energy comes from the register difference when two consecutive samples
  carry it, else from the mean of their powers over the time between them. A gap longer than
  :attr:`max_gap_s` (a gateway restart, an outage, a meter clock jump) leaves the intervals it
  touches *incomplete*: they keep the energy actually observed (a lower bound), are flagged, and
  are counted in ``missing_intervals`` until the meter's own load profile fills them
  (:meth:`fill`).
- **The same readings give the same result however they are chunked**, and the state survives a
  restart through :meth:`to_state` / :meth:`from_state`.

Intervals are aligned on UTC multiples of their length, which for 15/30/60-minute intervals in
the meter's markets (whole-hour offsets) is the local quarter or hour; days and months are local
dates, so a 23- or 25-hour DST day simply has fewer or more intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Final, Literal

from .rules import TariffRule

__all__ = [
    "ClosedInterval",
    "DemandCalculator",
    "DemandEvent",
    "DemandSnapshot",
    "MonthSummary",
]

#: Samples further apart than this leave the intervals between them incomplete. Pushes come
#: every 10 s (Danish/Swedish lists) or 2.5 s; 120 s tolerates a few lost frames.
DEFAULT_MAX_GAP_S: Final = 120.0
#: Pushes closer than this are the same reading seen twice (a resent frame), not a new sample.
_SAME_SAMPLE_S: Final = 0.5
#: Two ranking candidates closer than this (kW) are equal: float noise is not a new peak.
_EPSILON_KW: Final = 1e-9

_STATE_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class ClosedInterval:
    """A finished demand interval: its start (UTC epoch seconds), energy and completeness."""

    start_s: int
    energy_kwh: float
    complete: bool
    weight: float

    def average_kw(self, interval_s: int) -> float:
        """The interval's average power, the quantity grid tariffs bill."""
        return self.energy_kwh * 3600.0 / interval_s

    def weighted_kw(self, interval_s: int) -> float:
        """The average as the rule counts it (night hours at half, …)."""
        return self.average_kw(interval_s) * self.weight


@dataclass(frozen=True, slots=True)
class DemandEvent:
    """``demand_peak`` (an interval closed among the month's peaks) or ``demand_step_changed``."""

    kind: Literal["demand_peak", "demand_step_changed"]
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MonthSummary:
    """A month's outcome: its peaks, billing value and step (for ``last_month``)."""

    month: str  # "2026-12"
    peaks: tuple[ClosedInterval, ...]
    billing_kw: float
    step: int | None
    missing_intervals: int


@dataclass(frozen=True, slots=True)
class DemandSnapshot:
    """Everything the ``demand`` topic publishes, at one meter time."""

    at: datetime
    rule: TariffRule
    interval_start: datetime | None
    interval_average_kw: float | None
    projection_kw: float | None
    interval_complete: bool
    interval_weight: float
    month: str | None
    peaks: tuple[ClosedInterval, ...]
    billing_kw: float
    step: int | None
    missing_intervals: int
    interval_limit_kw: float | None
    headroom_kw: float | None
    last_month: MonthSummary | None
    history_kw: tuple[float, ...]


class DemandCalculator:
    """One meter's demand under one rule. Feed it samples in meter time; read snapshots."""

    def __init__(
        self, rule: TariffRule, zone: tzinfo, *, max_gap_s: float = DEFAULT_MAX_GAP_S
    ) -> None:
        self.rule = rule
        self.zone = zone
        self.max_gap_s = max_gap_s
        self._length = rule.interval_s
        # The interval being measured.
        self._current_start: int | None = None
        self._current_energy = 0.0
        self._current_complete = False
        # The last sample: meter time (epoch s), import power (kW), A+ register (kWh).
        self._last_t: float | None = None
        self._last_kw: float | None = None
        self._last_register: float | None = None
        # The month being ranked.
        self._month: tuple[int, int] | None = None
        self._closed: dict[int, ClosedInterval] = {}
        self._missing: set[int] = set()
        self._ranking: tuple[ClosedInterval, ...] = ()
        self._billing = 0.0
        self._step: int | None = rule.step_index(0.0)
        self._rank_version = 0
        self._day_best: dict[date, ClosedInterval] = {}
        self._weight_cache: tuple[int | None, float] = (None, 0.0)
        #: Closes since the last :meth:`drain_journal`, and whether more than closes changed.
        self._journal: list[list[Any]] = []
        self._rewrite = False
        #: Bumped on every change to the month's closed intervals: what caches key on.
        self.version = 0
        self._incomplete: tuple[int, int] = (-1, 0)
        self._limit_cache: tuple[tuple[int | None, int], float | None] = ((None, -1), None)
        self._last_month: MonthSummary | None = None
        #: Billing values of past months, newest last, for rules with a rolling mean.
        self._history: list[float] = []
        #: Samples the calculator could not use (time ran backwards beyond a resend).
        self.clock_jumps = 0

    # -- input ---------------------------------------------------------------------------------

    def feed(
        self, at: datetime, power_w: float | None, energy_kwh: float | None = None
    ) -> list[DemandEvent]:
        """One accepted push: meter time *at*, import power (W), A+ register (kWh) if carried.

        Returns the events of every interval this sample closed, in order.
        """
        t = at.timestamp()
        kw = None if power_w is None else max(0.0, power_w) / 1000.0
        events: list[DemandEvent] = []
        if self._last_t is None:
            self._start_at(t, kw, events)
            self._remember(t, kw, energy_kwh)
            return events
        dt = t - self._last_t
        if abs(dt) <= _SAME_SAMPLE_S:
            # A resent frame, or a push with the same second: keep the newest values only.
            self._remember(self._last_t, kw if kw is not None else self._last_kw, energy_kwh)
            return events
        if dt < 0 or dt > self.max_gap_s:
            if dt < 0:
                self.clock_jumps += 1
            self._gap_to(t, kw, events)
            self._remember(t, kw, energy_kwh)
            return events
        energy = self._energy_between(dt, kw, energy_kwh)
        self._advance(self._last_t, t, energy, events)
        self._remember(t, kw, energy_kwh)
        return events

    def fill(self, start: datetime, end: datetime, energy_kwh: float) -> list[DemandEvent]:
        """A load-profile entry from the meter (its own record of *start*–*end*).

        Accepted only where it covers whole rule intervals of a month being ranked; it replaces
        intervals that are missing or incomplete and never a complete one.
        """
        s, e = int(start.timestamp()), int(end.timestamp())
        if e <= s or s % self._length or (e - s) % self._length:
            return []
        events: list[DemandEvent] = []
        if self._month is None:
            self._enter_month(s, events)
        count = (e - s) // self._length
        for i in range(count):
            begin = s + i * self._length
            if self._month_of(begin) != self._month or begin == self._current_start:
                continue
            known = self._closed.get(begin)
            if known is not None and known.complete:
                continue
            self._missing.discard(begin)
            self._close(begin, energy_kwh / count, True, events, from_meter=True)
        return events

    # -- output --------------------------------------------------------------------------------

    def headroom_kw(self) -> float | None:
        """:attr:`DemandSnapshot.headroom_kw` without building a snapshot (checked every push)."""
        start = self._current_start
        if start is None or self._last_t is None:
            return None
        if self._weight_cache[0] != start:
            self._weight_cache = (start, self.rule.weight(self._local(start)))
        weight = self._weight_cache[1]
        limit = self._current_limit()
        if limit is None or weight <= 0:
            return None
        remaining = max(0.0, self._length - max(0.0, self._last_t - start))
        expected_kwh = self._current_energy + (self._last_kw or 0.0) * remaining / 3600.0
        return limit / weight - expected_kwh * 3600.0 / self._length

    def last_sample_time(self, zone: tzinfo) -> datetime | None:
        """The meter time of the last sample, in *zone* (None before the first)."""
        return None if self._last_t is None else datetime.fromtimestamp(self._last_t, zone)

    @property
    def current_interval_start(self) -> int | None:
        """UTC epoch seconds of the interval being measured (None before the first sample)."""
        return self._current_start

    def snapshot(self, at: datetime) -> DemandSnapshot:
        """The state to publish at meter time *at* (projection at the last sample's power)."""
        rule = self.rule
        start = self._current_start
        average = projection = None
        weight = 0.0
        if start is not None and self._last_t is not None:
            elapsed = max(0.0, self._last_t - start)
            remaining = max(0.0, self._length - elapsed)
            if elapsed > 0:
                average = self._current_energy * 3600.0 / elapsed
            now_kw = self._last_kw or 0.0
            projection = (
                (self._current_energy + now_kw * remaining / 3600.0) * 3600.0 / self._length
            )
            weight = rule.weight(self._local(start))
        limit = headroom = None
        weighted_limit = self._current_limit()
        if weighted_limit is not None and weight > 0:
            limit = weighted_limit / weight
            if projection is not None:
                headroom = limit - projection
        return DemandSnapshot(
            at=at,
            rule=rule,
            interval_start=None if start is None else self._utc(start),
            interval_average_kw=average,
            projection_kw=projection,
            interval_complete=self._current_complete,
            interval_weight=weight,
            month=None if self._month is None else f"{self._month[0]:04d}-{self._month[1]:02d}",
            peaks=self._ranking,
            billing_kw=self._billing,
            step=self._step,
            missing_intervals=self._missing_count(),
            interval_limit_kw=limit,
            headroom_kw=headroom,
            last_month=self._last_month,
            history_kw=tuple(self._history),
        )

    # -- persistence ---------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """A JSON-able picture of everything needed to go on after a restart."""
        last = self._last_month
        return {
            "version": _STATE_VERSION,
            "rule": self.rule.name,
            "interval_s": self._length,
            "current": None
            if self._current_start is None
            else [self._current_start, self._current_energy, self._current_complete],
            "last": [self._last_t, self._last_kw, self._last_register],
            "month": None if self._month is None else list(self._month),
            "closed": [[c.start_s, c.energy_kwh, c.complete] for c in self._closed.values()],
            "missing": sorted(self._missing),
            "history": list(self._history),
            "last_month": None
            if last is None
            else {
                "month": last.month,
                "peaks": [[c.start_s, c.energy_kwh, c.complete] for c in last.peaks],
                "billing_kw": last.billing_kw,
                "step": last.step,
                "missing_intervals": last.missing_intervals,
            },
            "clock_jumps": self.clock_jumps,
        }

    def drain_journal(self) -> tuple[bool, dict[str, Any] | None]:
        """What changed since the last call, for a state store that appends rather than
        rewrites: (True, None) when only a full :meth:`to_state` says it (a gap, a fill, a new
        month), else (False, an entry for :meth:`replay`, or None when nothing closed)."""
        rewrite, journal = self._rewrite, self._journal
        self._rewrite, self._journal = False, []
        if rewrite:
            return True, None
        if not journal:
            return False, None
        current = (
            None
            if self._current_start is None
            else [self._current_start, self._current_energy, self._current_complete]
        )
        return False, {
            "closed": journal,
            "current": current,
            "last": [self._last_t, self._last_kw, self._last_register],
        }

    def replay(self, entry: dict[str, Any]) -> None:
        """Apply a :meth:`drain_journal` entry to a state loaded with :meth:`from_state`."""
        for start_s, energy, complete in entry["closed"]:
            self._closed[int(start_s)] = self._interval(int(start_s), float(energy), bool(complete))
            self._missing.discard(int(start_s))
        current = entry["current"]
        if current is not None:
            self._current_start = int(current[0])
            self._current_energy = float(current[1])
            self._current_complete = bool(current[2])
        last_t, last_kw, last_register = entry["last"]
        self._last_t = None if last_t is None else float(last_t)
        self._last_kw = None if last_kw is None else float(last_kw)
        self._last_register = None if last_register is None else float(last_register)
        self._rank()
        self._journal, self._rewrite = [], False

    @classmethod
    def from_state(
        cls,
        rule: TariffRule,
        zone: tzinfo,
        state: dict[str, Any],
        *,
        max_gap_s: float = DEFAULT_MAX_GAP_S,
    ) -> DemandCalculator:
        """Rebuild from :meth:`to_state`; a state of another rule or version starts afresh."""
        calc = cls(rule, zone, max_gap_s=max_gap_s)
        if (
            not isinstance(state, dict)
            or state.get("version") != _STATE_VERSION
            or state.get("rule") != rule.name
            or state.get("interval_s") != rule.interval_s
        ):
            return calc
        current = state.get("current")
        if current is not None:
            calc._current_start = int(current[0])
            calc._current_energy = float(current[1])
            calc._current_complete = bool(current[2])
        last_t, last_kw, last_register = state.get("last", [None, None, None])
        calc._last_t = None if last_t is None else float(last_t)
        calc._last_kw = None if last_kw is None else float(last_kw)
        calc._last_register = None if last_register is None else float(last_register)
        month = state.get("month")
        calc._month = None if month is None else (int(month[0]), int(month[1]))
        for start_s, energy, complete in state.get("closed", []):
            calc._closed[int(start_s)] = calc._interval(int(start_s), float(energy), bool(complete))
        calc._missing = {int(s) for s in state.get("missing", [])}
        calc._history = [float(v) for v in state.get("history", [])]
        last = state.get("last_month")
        if last is not None:
            calc._last_month = MonthSummary(
                month=str(last["month"]),
                peaks=tuple(calc._interval(int(s), float(e), bool(c)) for s, e, c in last["peaks"]),
                billing_kw=float(last["billing_kw"]),
                step=None if last["step"] is None else int(last["step"]),
                missing_intervals=int(last["missing_intervals"]),
            )
        calc.clock_jumps = int(state.get("clock_jumps", 0))
        calc._rank()
        calc._journal, calc._rewrite = [], False
        return calc

    # -- the interval machine ------------------------------------------------------------------

    def _remember(self, t: float, kw: float | None, register: float | None) -> None:
        self._last_t = t
        self._last_kw = kw
        self._last_register = register

    def _energy_between(self, dt: float, kw: float | None, register: float | None) -> float:
        """kWh between the last sample and this one: the meter's register if both carry it."""
        previous = self._last_register
        if register is not None and previous is not None and register >= previous:
            return register - previous
        powers = [p for p in (self._last_kw, kw) if p is not None]
        if not powers:
            return 0.0
        return sum(powers) / len(powers) * dt / 3600.0

    def _start_at(self, t: float, kw: float | None, events: list[DemandEvent]) -> None:
        """Begin measuring at *t*: complete only if the unseen head is short enough to bridge."""
        start = self._floor(t)
        self._enter_month(start, events)
        head = t - start
        self._current_start = start
        # A head with no power to bridge it is known only when there is none (on a boundary).
        self._current_complete = head == 0 or (head <= self.max_gap_s and kw is not None)
        self._current_energy = (kw or 0.0) * head / 3600.0 if self._current_complete else 0.0

    def _gap_to(self, t: float, kw: float | None, events: list[DemandEvent]) -> None:
        """Samples too far apart (or time running backwards): what happened in between is
        unknown. Still inside the interval being measured, that interval is marked incomplete
        and goes on; otherwise it closes incomplete, the intervals never seen are recorded as
        missing, and measuring starts again at *t*."""
        current = self._current_start
        if current is not None and current <= t < current + self._length:
            self._current_complete = False
            return
        if current is not None:
            self._close(current, self._current_energy, False, events)
            for begin in range(current + self._length, self._floor(t), self._length):
                if self._month_of(begin) != self._month:
                    self._enter_month(begin, events)
                if begin not in self._closed:
                    self._missing.add(begin)
                    self.version += 1
                    self._rewrite = True
        self._current_start = None
        self._start_at(t, kw, events)

    def _advance(self, t0: float, t1: float, energy: float, events: list[DemandEvent]) -> None:
        """Spread *energy* over t0–t1, closing every interval boundary crossed on the way."""
        assert self._current_start is not None
        span = t1 - t0
        cursor = t0
        while True:
            end = self._current_start + self._length
            if t1 < end:
                self._current_energy += energy * (t1 - cursor) / span
                return
            self._current_energy += energy * (end - cursor) / span
            self._close(self._current_start, self._current_energy, self._current_complete, events)
            cursor = end
            self._current_start = end
            self._current_energy = 0.0
            self._current_complete = True
            self._enter_month(end, events)

    def _close(
        self,
        start: int,
        energy: float,
        complete: bool,
        events: list[DemandEvent],
        *,
        from_meter: bool = False,
    ) -> None:
        """Record a finished interval and re-rank. An interval measured twice (the meter clock
        ran back over it) keeps a complete first measurement, and an incomplete one keeps the
        larger lower bound; only the meter's own load profile (*from_meter*) overrides."""
        if self._month_of(start) != self._month:
            return  # an interval of a month already summarised: it can no longer change a bill
        known = self._closed.get(start)
        if known is not None and not from_meter:
            if known.complete:
                return
            energy = max(energy, known.energy_kwh)
        interval = self._interval(start, energy, complete)
        self._closed[start] = interval
        self._missing.discard(start)
        self.version += 1
        self._journal.append([start, energy, complete])
        self._rewrite |= from_meter or known is not None
        if interval.weight <= 0:
            return
        before_step = self._step
        self._rank(interval if known is None else None)
        if any(p.start_s == start for p in self._ranking):
            rank_of = next(i for i, p in enumerate(self._ranking) if p.start_s == start) + 1
            events.append(
                DemandEvent(
                    "demand_peak",
                    {
                        "id": f"demand_peak:{self.rule.name}:{self._utc(start).isoformat()}",
                        "start": self._utc(start).isoformat(),
                        "end": self._utc(start + self._length).isoformat(),
                        "average_kw": round(interval.average_kw(self._length), 3),
                        "weighted_kw": round(interval.weighted_kw(self._length), 3),
                        "complete": interval.complete,
                        "rank": rank_of,
                        "billing_kw": round(self._billing, 3),
                    },
                )
            )
        if self._step != before_step:
            stamp = self._utc(start).isoformat()
            events.append(
                DemandEvent(
                    "demand_step_changed",
                    {
                        "id": f"demand_step_changed:{self.rule.name}:{stamp}",
                        "from_step": before_step,
                        "to_step": self._step,
                        "billing_kw": round(self._billing, 3),
                    },
                )
            )

    def _enter_month(self, start: int, events: list[DemandEvent]) -> None:
        """Roll the ranking over when *start* lies in a new local month."""
        month = self._month_of(start)
        if month == self._month:
            return
        if self._month is not None and month < self._month:
            return  # the meter clock went back over a month boundary: stay in the newer month
        if self._month is not None:
            self._last_month = MonthSummary(
                month=f"{self._month[0]:04d}-{self._month[1]:02d}",
                peaks=self._ranking,
                billing_kw=self._billing,
                step=self._step,
                missing_intervals=len(self._missing)
                + sum(1 for c in self._closed.values() if not c.complete),
            )
            if self.rule.rolling_months:
                self._history = [*self._history, self._billing][-self.rule.rolling_months :]
        self._month = month
        self._closed = {}
        self._missing = set()
        self._rewrite = True
        self._rank()

    def _rank(self, added: ClosedInterval | None = None) -> None:
        """The month's peaks, billing value and step: from scratch, or (given the interval
        just *added*, new to the month) by merging it into what is known, so that a month of
        15-minute intervals does not sort thousands of them at every close."""
        rule = self.rule
        length = self._length
        if added is None:
            counted = [c for c in self._closed.values() if c.weight > 0]
            if rule.distinct_days:
                best: dict[date, ClosedInterval] = {}
                for c in counted:
                    day = self._local(c.start_s).date()
                    kept = best.get(day)
                    if kept is None or c.weighted_kw(length) > kept.weighted_kw(length):
                        best[day] = c
                self._day_best = best
                counted = list(best.values())
        elif rule.distinct_days:
            day = self._local(added.start_s).date()
            kept = self._day_best.get(day)
            if kept is None or added.weighted_kw(length) > kept.weighted_kw(length):
                self._day_best[day] = added
            counted = list(self._day_best.values())
        else:
            counted = [*self._ranking, added]
        counted.sort(key=lambda c: (-c.weighted_kw(self._length), c.start_s))
        self._ranking = tuple(counted[: rule.peaks])
        total = sum(c.weighted_kw(self._length) for c in self._ranking)
        self._billing = max(rule.minimum_kw, total / rule.peaks)
        self._step = rule.step_index(self._billing)
        self._rank_version += 1
        self.version += 1

    def _missing_count(self) -> int:
        """Intervals never seen plus those seen in part (cached per version: not per push)."""
        if self._incomplete[0] != self.version:
            partial = sum(1 for c in self._closed.values() if not c.complete)
            self._incomplete = (self.version, len(self._missing) + partial)
        return self._incomplete[1]

    def _current_limit(self) -> float | None:
        """:meth:`_interval_limit`, computed once per interval and ranking (not per push)."""
        key = (self._current_start, self._rank_version)
        if self._limit_cache[0] != key:
            self._limit_cache = (key, self._interval_limit())
        return self._limit_cache[1]

    def _interval_limit(self) -> float | None:
        """The weighted average above which the interval being measured raises the month's
        cost: the next step's threshold for step rules, the billing value otherwise."""
        rule = self.rule
        if self._current_start is None:
            return None
        values = self._candidates_besides_current()
        today = values.pop("today", 0.0)
        others = sorted(values.values(), reverse=True)

        def billing_with(x: float) -> float:
            pool = sorted([*others, max(today, x)], reverse=True)[: rule.peaks]
            return max(rule.minimum_kw, sum(pool) / rule.peaks)

        if rule.steps and self._step is not None:
            if self._step + 1 >= len(rule.steps):
                return None  # already in the top step: nothing more to lose
            target = rule.steps[self._step + 1].lower_kw
        else:
            target = self._billing + _EPSILON_KW * 10
        if billing_with(0.0) >= target:
            return 0.0
        low, high = 0.0, max(target * rule.peaks, 1.0)
        while billing_with(high) < target:
            high *= 2
        for _ in range(60):
            mid = (low + high) / 2
            if billing_with(mid) >= target:
                high = mid
            else:
                low = mid
        return high

    def _candidates_besides_current(self) -> dict[Any, float]:
        """Weighted values the current interval competes with: per day (distinct days, the
        current day under the key "today") or per interval."""
        assert self._current_start is not None
        out: dict[Any, float] = {}
        current_day = self._local(self._current_start).date()
        for c in self._closed.values():
            if c.weight <= 0 or c.start_s == self._current_start:
                continue
            value = c.weighted_kw(self._length)
            if self.rule.distinct_days:
                day = self._local(c.start_s).date()
                key: Any = "today" if day == current_day else day
                out[key] = max(out.get(key, 0.0), value)
            else:
                out[c.start_s] = value
        return out

    # -- time ------------------------------------------------------------------------------------

    def _interval(self, start: int, energy: float, complete: bool) -> ClosedInterval:
        return ClosedInterval(start, energy, complete, self.rule.weight(self._local(start)))

    def _floor(self, t: float) -> int:
        return math.floor(t / self._length) * self._length

    def _utc(self, t: float) -> datetime:
        return datetime.fromtimestamp(t, UTC)

    def _local(self, t: float) -> datetime:
        return datetime.fromtimestamp(t, self.zone)

    def _month_of(self, t: float) -> tuple[int, int]:
        local = self._local(t)
        return (local.year, local.month)


def interval_end(start: datetime, rule: TariffRule) -> datetime:
    """Where an interval of *rule* starting at *start* ends."""
    return start + timedelta(seconds=rule.interval_s)
