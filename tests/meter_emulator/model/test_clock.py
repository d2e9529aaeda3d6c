"""The RTC: EU summer time from the meter's own table, the DST bit, drift, set and adjust."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meter_emulator.model.clock import HOUR, SECOND, MeterClock, eu_summer_time, from_us, to_us

from .helpers import meter


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return to_us(datetime(year, month, day, hour, minute, second, tzinfo=UTC))


def test_eu_summer_time_dates() -> None:
    start, end = eu_summer_time(2024)
    assert from_us(start) == datetime(2024, 3, 31, 1, tzinfo=UTC)
    assert from_us(end) == datetime(2024, 10, 27, 1, tzinfo=UTC)
    start, end = eu_summer_time(2026)
    assert from_us(start) == datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert from_us(end) == datetime(2026, 10, 25, 1, tzinfo=UTC)


def test_local_time_jumps_at_the_transitions() -> None:
    clock = MeterClock(gmt_offset_h=1)
    before = utc(2024, 3, 31, 0, 59, 59)
    assert clock.local(before) == (datetime(2024, 3, 31, 1, 59, 59), False)
    assert clock.local(before + SECOND) == (datetime(2024, 3, 31, 3, 0, 0), True)
    assert clock.status(before + SECOND) == 0x80
    autumn = utc(2024, 10, 27, 0, 59, 59)
    assert clock.local(autumn) == (datetime(2024, 10, 27, 2, 59, 59), True)
    assert clock.local(autumn + SECOND) == (datetime(2024, 10, 27, 2, 0, 0), False)


def test_without_the_dst_table_the_clock_stays_on_standard_time() -> None:
    clock = MeterClock(gmt_offset_h=2, eu_dst=False)
    assert clock.local(utc(2024, 7, 1, 12)) == (datetime(2024, 7, 1, 14), False)


def test_drift_in_ppm() -> None:
    clock = MeterClock(drift_ppm=5.0, reference_us=0)
    day = 24 * HOUR
    assert clock.rtc_us(day) - day == 432_000  # 5 ppm of a day = 0.432 s
    assert clock.rtc_us(clock.true_for_rtc(day)) >= day > clock.rtc_us(clock.true_for_rtc(day) - 1)


def test_set_time_settles_the_repeated_autumn_hour_by_the_dst_flag() -> None:
    clock = MeterClock()
    now = utc(2024, 10, 1)
    clock.set_local(now, datetime(2024, 10, 27, 2, 30), dst=True)
    assert from_us(clock.rtc_us(now)) == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)
    clock.set_local(now, datetime(2024, 10, 27, 2, 30), dst=False)
    assert from_us(clock.rtc_us(now)) == datetime(2024, 10, 27, 1, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="does not exist"):
        clock.set_local(now, datetime(2024, 3, 31, 2, 30))


def test_shift_and_a_long_outage_without_battery() -> None:
    clock = MeterClock()
    clock.shift(0, -1.5)
    assert clock.rtc_us(10 * SECOND) == 8_500_000
    clock.outage(0, 10 * 24 * HOUR, battery=False)  # supercap lasts 7 days
    assert clock.invalid
    assert clock.status(10 * 24 * HOUR) & 0x01
    assert clock.rtc_us(10 * 24 * HOUR) == 7 * 24 * HOUR - 1_500_000


def test_meter_clock_follows_set_time_and_the_next_boundaries_move() -> None:
    m = meter()
    m.advance_to(datetime(2024, 1, 1, 0, 5, tzinfo=UTC))
    assert m.meter_clock() == datetime(2024, 1, 1, 1, 5)
    m.set_time(datetime(2024, 1, 1, 1, 14))
    m.advance_to(datetime(2024, 1, 1, 0, 6, 30, tzinfo=UTC))
    assert m.load_profile.entries[-1].local == datetime(2024, 1, 1, 1, 15)
    assert m.events.entries[-1].kind == "clock_adjusted" or any(
        e.kind == "clock_adjusted" for e in m.events.entries
    )


def test_dst_bit_in_the_push_snapshot() -> None:
    m = meter(start=datetime(2024, 3, 31, 0, 59, tzinfo=UTC))
    assert m.push_snapshot()["clock_dst"] == 0
    m.advance_to(datetime(2024, 3, 31, 1, 0, tzinfo=UTC) + timedelta(seconds=1))
    assert m.push_snapshot()["clock_dst"] == 1
    assert m.meter_clock() == datetime(2024, 3, 31, 3, 0, 1)
