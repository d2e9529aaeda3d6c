"""The demand calculator against worked examples of each shipped rule, and its invariants."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccc_gateway.demand.calculator import DemandCalculator, DemandEvent
from ccc_gateway.demand.rules import (
    BELGIUM_CAPACITY,
    NORWAY_CAPACITY,
    SWEDEN_POWER_CHARGE,
    TariffRule,
)

OSLO = ZoneInfo("Europe/Oslo")
BRUSSELS = ZoneInfo("Europe/Brussels")
STOCKHOLM = ZoneInfo("Europe/Stockholm")
SAMPLE_S = 60


class Meter:
    """A meter whose A+ register rises linearly inside each interval: the exact energy of every
    interval is known, so worked examples need no tolerance for integration error."""

    def __init__(self, calc: DemandCalculator, start: datetime) -> None:
        self.calc = calc
        # UTC: arithmetic on an aware local time is wall-clock and would skip the repeated hour.
        self.t = start.astimezone(UTC)
        self.register = 1000.0
        self.events: list[DemandEvent] = []

    def run(self, kw: float, seconds: int, *, step: int = SAMPLE_S) -> None:
        for _ in range(seconds // step):
            self.t += timedelta(seconds=step)
            self.register += kw * step / 3600.0
            self.events += self.calc.feed(self.t, kw * 1000.0, self.register)

    def hours(self, profile: Iterable[float]) -> None:
        for kw in profile:
            self.run(kw, 3600)

    def skip(self, seconds: int) -> None:
        """The gateway was away: time passes, the register rises, nothing is fed."""
        self.t += timedelta(seconds=seconds)


def _local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)  # type: ignore[arg-type, misc]


def _started(rule: TariffRule, zone: ZoneInfo, *start: int) -> Meter:
    calc = DemandCalculator(rule, zone)
    meter = Meter(calc, _local(zone, *start))
    meter.events += calc.feed(meter.t, 0.0, meter.register)
    return meter


def _day(base_kw: float, peaks: dict[int, float]) -> list[float]:
    return [peaks.get(hour, base_kw) for hour in range(24)]


def test_norway_counts_one_peak_per_day_and_picks_the_step() -> None:
    meter = _started(NORWAY_CAPACITY, OSLO, 2026, 1, 5)
    meter.hours(_day(1.0, {17: 5.0, 18: 4.0}))  # two high hours, one day
    meter.hours(_day(1.0, {8: 3.0}))
    meter.hours(_day(1.0, {20: 2.0}))
    meter.run(1.0, 3600)
    snap = meter.calc.snapshot(meter.t)
    peaks = [round(p.average_kw(3600), 6) for p in snap.peaks]
    assert peaks == [5.0, 3.0, 2.0]  # 4 kW on the 5 kW day does not count
    assert snap.billing_kw == pytest.approx(10.0 / 3)
    assert snap.step == 1  # 2-5 kW
    assert NORWAY_CAPACITY.steps[snap.step].price == 363
    assert snap.missing_intervals == 0


def test_norway_headroom_is_what_a_new_day_may_reach_before_the_next_step() -> None:
    meter = _started(NORWAY_CAPACITY, OSLO, 2026, 1, 5)
    meter.hours(_day(1.0, {17: 5.0}))
    meter.hours(_day(1.0, {8: 3.0}))
    meter.hours(_day(1.0, {20: 2.0}))
    meter.run(4.0, 1800)  # half an hour at 4 kW on a fourth day
    snap = meter.calc.snapshot(meter.t)
    # Reaching step 5-10 kW needs (5 + 3 + x) / 3 >= 5: x >= 7 kW on this day.
    assert snap.interval_limit_kw == pytest.approx(7.0, abs=1e-6)
    assert snap.interval_average_kw == pytest.approx(4.0)
    assert snap.projection_kw == pytest.approx(4.0)  # 2 kWh so far, 4 kW for the other half
    assert snap.headroom_kw == pytest.approx(3.0, abs=1e-6)


def test_events_name_new_peaks_and_step_changes() -> None:
    meter = _started(NORWAY_CAPACITY, OSLO, 2026, 1, 5)
    meter.hours(_day(0.5, {10: 12.0}))
    kinds = [(e.kind, e.fields.get("to_step")) for e in meter.events]
    assert ("demand_step_changed", 1) in kinds  # 12 / 3 = 4 kW: step 2-5 kW, index 1
    peak = next(e for e in meter.events if e.kind == "demand_peak" and e.fields["average_kw"] == 12)
    assert peak.fields["start"] == "2026-01-05T09:00:00+00:00"
    assert peak.fields["id"] == "demand_peak:no-capacity-steps:2026-01-05T09:00:00+00:00"
    assert meter.calc.snapshot(meter.t).step == 1


def test_belgium_bills_the_highest_quarter_hour_with_a_minimum() -> None:
    meter = _started(BELGIUM_CAPACITY, BRUSSELS, 2026, 2, 2)
    meter.hours(_day(0.8, {}))
    snap = meter.calc.snapshot(meter.t)
    assert snap.billing_kw == pytest.approx(2.5)  # below the minimum
    meter.run(0.8, 900 * 2)
    meter.run(9.0, 900)  # one quarter hour at 9 kW
    meter.run(0.8, 900)
    snap = meter.calc.snapshot(meter.t)
    assert snap.billing_kw == pytest.approx(9.0)
    assert [round(p.average_kw(900), 6) for p in snap.peaks] == [9.0]
    # Above 9 kW in the current quarter the month's cost rises.
    assert snap.interval_limit_kw == pytest.approx(9.0, abs=1e-6)


def test_sweden_counts_weekdays_07_to_19_only() -> None:
    # 2026-03-06 is a Friday, 2026-03-07 a Saturday.
    meter = _started(SWEDEN_POWER_CHARGE, STOCKHOLM, 2026, 3, 6)
    meter.hours(_day(1.0, {6: 9.0, 8: 4.0, 12: 3.0, 19: 8.0}))  # 06:00 and 19:00 lie outside
    meter.hours(_day(1.0, {12: 10.0}))  # Saturday
    snap = meter.calc.snapshot(meter.t)
    peaks = sorted(round(p.average_kw(3600), 6) for p in snap.peaks)
    assert peaks == [1.0, 3.0, 4.0]  # not on different days: the same Friday may give all three
    assert snap.billing_kw == pytest.approx(8.0 / 3)
    assert SWEDEN_POWER_CHARGE.kw_price(3) == 111.50
    assert snap.interval_limit_kw is None  # a Sunday hour costs nothing, whatever it draws


@pytest.mark.parametrize(
    ("day", "hours"),
    [((2026, 3, 29), 23), ((2026, 10, 25), 25)],
    ids=["spring-23h", "autumn-25h"],
)
def test_dst_days_have_their_real_number_of_hours(day: tuple[int, int, int], hours: int) -> None:
    calc = DemandCalculator(NORWAY_CAPACITY, OSLO)
    meter = Meter(calc, _local(OSLO, *day))
    calc.feed(meter.t, 0.0, meter.register)
    end = _local(OSLO, *day) + timedelta(days=1)
    # A wall-clock day in Oslo: add UTC seconds until the next local midnight.
    seconds = int((end.astimezone(UTC) - meter.t.astimezone(UTC)).total_seconds())
    meter.run(2.0, seconds)
    meter.run(1.0, 3600)
    state = calc.to_state()
    on_day = [
        s
        for s, _, _ in state["closed"]
        if datetime.fromtimestamp(s, OSLO).date() == end.date() - timedelta(days=1)
    ]
    assert len(on_day) == hours


def test_autumn_repeated_hour_counts_once_per_day() -> None:
    """02:00-03:00 happens twice on 25 Oct 2026: two intervals, one day, one peak."""
    meter = _started(NORWAY_CAPACITY, OSLO, 2026, 10, 25)
    meter.hours([1.0, 1.0, 6.0, 7.0] + [1.0] * 21)  # the 3rd and 4th UTC hours are both 02:xx
    snap = meter.calc.snapshot(meter.t)
    assert [round(p.average_kw(3600), 6) for p in snap.peaks][:1] == [7.0]
    assert snap.billing_kw == pytest.approx(7.0 / 3)  # 25 hours, one day: one peak of three


def test_a_new_month_starts_afresh_and_keeps_the_last() -> None:
    meter = _started(NORWAY_CAPACITY, OSLO, 2026, 1, 31, 20)
    meter.hours([1.0, 1.0, 9.0, 1.0, 1.0])  # 22:00 on the 31st peaks at 9 kW; then February
    snap = meter.calc.snapshot(meter.t)
    assert snap.month == "2026-02"
    assert snap.billing_kw == pytest.approx(1.0 / 3)
    assert snap.last_month is not None
    assert snap.last_month.month == "2026-01"
    assert snap.last_month.billing_kw == pytest.approx(9.0 / 3)  # one January day was seen


def test_belgium_keeps_twelve_monthly_peaks_for_the_yearly_mean() -> None:
    calc = DemandCalculator(BELGIUM_CAPACITY, BRUSSELS)
    meter = Meter(calc, _local(BRUSSELS, 2025, 1, 31, 23))
    calc.feed(meter.t, 0.0, meter.register)
    for month in range(14):
        meter.run(3.0 + month, 900)
        meter.t = _local(BRUSSELS, 2025 + (month + 2) // 12, (month + 1) % 12 + 1, 1) + timedelta(
            minutes=1
        )
        calc.feed(meter.t, 0.0, meter.register)
    history = calc.snapshot(meter.t).history_kw
    assert len(history) == 12


def test_a_gap_is_marked_incomplete_and_filled_from_the_load_profile() -> None:
    meter = _started(NORWAY_CAPACITY, OSLO, 2026, 1, 5)
    meter.hours([1.0, 1.0])
    meter.run(1.0, 1800)
    meter.skip(3 * 3600)  # gateway down from 02:30 to 05:30, the meter drew 6 kW meanwhile
    meter.run(1.0, 1800)
    meter.run(1.0, 3600)
    snap = meter.calc.snapshot(meter.t)
    # 02:00-03:00 and 05:00-06:00 were seen in part, 03:00 and 04:00 not at all.
    assert snap.missing_intervals == 4
    before = snap.billing_kw
    start = _local(OSLO, 2026, 1, 5, 2)
    for hour in range(4):
        begin = start + timedelta(hours=hour)
        meter.calc.fill(begin, begin + timedelta(hours=1), 6.0 if hour in (1, 2) else 3.5)
    snap = meter.calc.snapshot(meter.t)
    assert snap.missing_intervals == 0
    assert snap.billing_kw >= before
    assert snap.peaks[0].average_kw(3600) == pytest.approx(6.0)


def test_the_meter_clock_jumping_back_neither_crashes_nor_double_counts() -> None:
    meter = _started(NORWAY_CAPACITY, OSLO, 2026, 1, 5)
    meter.hours([2.0, 5.0, 2.0])
    billing = meter.calc.snapshot(meter.t).billing_kw
    meter.t -= timedelta(hours=2)  # the meter's clock is set back two hours
    meter.hours([1.0, 1.0, 1.0])
    snap = meter.calc.snapshot(meter.t)
    assert meter.calc.clock_jumps == 1
    assert snap.billing_kw >= billing
    assert snap.peaks[0].average_kw(3600) == pytest.approx(5.0)


def test_power_only_lists_are_integrated() -> None:
    """HAN-NVE list 1 carries power only: energy is the mean power over time."""
    calc = DemandCalculator(NORWAY_CAPACITY, OSLO)
    t = _local(OSLO, 2026, 1, 5)
    for i in range(3600 // 2 + 1):  # every 2 s, as list 1
        calc.feed(t + timedelta(seconds=2 * i), 3000.0)
    calc.feed(t + timedelta(seconds=3602), 3000.0)
    snap = calc.snapshot(t + timedelta(seconds=3602))
    assert snap.peaks[0].average_kw(3600) == pytest.approx(3.0)


# -- invariants ---------------------------------------------------------------------------------

_samples = st.lists(
    st.tuples(st.integers(1, 900), st.floats(0, 20_000, allow_nan=False)),
    min_size=1,
    max_size=400,
)


def _feed_all(
    calc: DemandCalculator, start: datetime, samples: Sequence[tuple[int, float]]
) -> list[float]:
    t = start
    billing: list[float] = []
    for dt, watts in samples:
        t += timedelta(seconds=dt)
        calc.feed(t, watts)
        billing.append(calc.snapshot(t).billing_kw)
    return billing


@settings(max_examples=60, deadline=None)
@given(_samples, st.sampled_from([NORWAY_CAPACITY, BELGIUM_CAPACITY, SWEDEN_POWER_CHARGE]))
def test_billing_never_decreases_within_a_month(
    samples: list[tuple[int, float]], rule: TariffRule
) -> None:
    calc = DemandCalculator(rule, OSLO)
    start = _local(OSLO, 2026, 3, 3)
    billing = _feed_all(calc, start, samples)
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(billing))


@settings(max_examples=60, deadline=None)
@given(_samples, st.lists(st.integers(0, 400), max_size=5))
def test_a_restart_anywhere_gives_the_same_result(
    samples: list[tuple[int, float]], cuts: list[int]
) -> None:
    """The pushes, fed in one run or in several with the state saved between, agree."""
    start = _local(OSLO, 2026, 3, 30, 22)
    straight = DemandCalculator(NORWAY_CAPACITY, OSLO)
    _feed_all(straight, start, samples)
    chunked = DemandCalculator(NORWAY_CAPACITY, OSLO)
    t = start
    for i, (dt, watts) in enumerate(samples):
        if i in cuts:
            chunked = DemandCalculator.from_state(NORWAY_CAPACITY, OSLO, chunked.to_state())
        t += timedelta(seconds=dt)
        chunked.feed(t, watts)
    assert chunked.to_state() == straight.to_state()
    assert chunked.snapshot(t) == straight.snapshot(t)


def test_a_state_of_another_rule_starts_afresh() -> None:
    meter = _started(NORWAY_CAPACITY, OSLO, 2026, 1, 5)
    meter.hours([3.0, 3.0])
    restored = DemandCalculator.from_state(BELGIUM_CAPACITY, OSLO, meter.calc.to_state())
    assert restored.snapshot(meter.t).peaks == ()
