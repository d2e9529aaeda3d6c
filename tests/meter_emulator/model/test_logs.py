"""Load profile, billing periods, peaks and the analysis logger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meter_emulator.model import Meter
from meter_emulator.model.billing import debiting_months
from meter_emulator.model.logs import ProfileStatus, load_profile_depth
from meter_emulator.scenarios import Household

from .helpers import START, Steps, config, load, meter

HOUR = timedelta(hours=1)


def test_entries_at_period_boundaries_of_the_meter_clock() -> None:
    m = meter(load(1200.0, 300.0), start=START + timedelta(minutes=7))
    m.advance_to(START + HOUR)
    entries = list(m.load_profile.entries)
    assert [e.local.minute for e in entries] == [15, 30, 45, 0]
    assert entries[0].local == datetime(2024, 1, 1, 1, 15)
    assert m.load_profile.channels == ("a_plus", "a_minus", "r_plus", "r_minus")
    assert entries[-1].values == (1060, 0, 265, 0)  # absolute registers at 53 minutes of load


@pytest.mark.parametrize("period", [2, 3, 4])
def test_delta_entries_sum_exactly_to_the_register_change(period: int) -> None:
    source = Household(seed=3, step_s=60)
    cfg = config(
        meter={"type_number": "6861111BN242101040"},
        software={"load_profile_data": 2, "load_profile": 5, "integration_period": period},
    )
    m = Meter(cfg, start=START, source=source)
    m.advance_to(START + HOUR)  # a boundary of every period
    before = m.energy.snapshot_wh()
    first = len(m.load_profile.entries)
    m.advance_to(START + timedelta(days=3, hours=1))
    after = m.energy.snapshot_wh()
    entries = list(m.load_profile.entries)[first:]
    for index, channel in enumerate(m.load_profile.channels):
        assert sum(e.values[index] for e in entries) == after[channel] - before[channel]


def test_depth_is_bounded_like_the_real_logger() -> None:
    assert load_profile_depth(1, 15) == 278 * 96
    assert load_profile_depth(8, 60) == 489 * 24
    m = meter(load(100.0), software={"load_profile": 1, "integration_period": 4})
    m.advance_to(START + timedelta(days=1200))
    assert len(m.load_profile.entries) == 1113 * 24
    assert m.load_profile.entries[-1].local == datetime(2027, 4, 15, 2, 0)  # summer time


def test_profile_status_flags_power_failure_and_dst() -> None:
    changes = [
        (START + timedelta(minutes=20), load(100.0, voltage_v=0.0), ()),
        (START + timedelta(minutes=25), load(100.0), ()),
    ]
    m = Meter(config(), start=START, source=Steps(changes, initial=load(100.0)))
    m.advance_to(START + HOUR)
    statuses = [e.status for e in m.load_profile.entries]
    assert statuses == [
        ProfileStatus.NONE,
        ProfileStatus.POWER_FAILURE,
        ProfileStatus.NONE,
        ProfileStatus.NONE,
    ]
    summer = meter(load(100.0), start=datetime(2024, 7, 1, tzinfo=UTC))
    summer.advance_to(datetime(2024, 7, 1, 0, 15, tzinfo=UTC))
    assert summer.load_profile.entries[-1].status == ProfileStatus.DST
    assert summer.load_profile.entries[-1].local == datetime(2024, 7, 1, 2, 15)


def test_billing_values_frozen_at_the_debiting_stop_date() -> None:
    changes = [
        (datetime(2024, 1, 10, tzinfo=UTC), load(3000.0, 500.0), ()),
        (datetime(2024, 1, 10, 0, 15, tzinfo=UTC), load(1000.0, 100.0), ()),
    ]
    m = Meter(
        config(software={"debiting_stop_date": 15, "debiting_interval": 1}),
        start=START,
        source=Steps(changes),
    )
    stop = datetime(2024, 1, 14, 23, tzinfo=UTC)  # local 2024-01-15 00:00
    m.advance_to(stop - timedelta(microseconds=1))
    assert m.debiting.stop_count == 0
    m.advance_to(stop)
    assert m.debiting.stop_count == 1
    expected_a_plus = m.energy.wh("a_plus")
    m.advance_to(stop + timedelta(days=3))
    assert m.debiting.stop_count == 1
    record = m.debiting.records[0]
    assert record.local == datetime(2024, 1, 15)
    assert record.values["a_plus_wh"] == expected_a_plus
    assert record.values["debiting_stop_counter"] == 1
    assert record.values["p_plus_max_w"] == 3000
    assert record.values["p_plus_max_time"] == "2024-01-10T01:15:00"
    assert record.values["q_plus_max_w"] == 500
    assert record.values["p_plus_max_accumulated_w"] == 3000
    assert record.values["hour_counter"] == 14 * 24 - 1
    assert m.energy.wh("a_plus") > expected_a_plus  # the register goes on; the record does not
    assert m.peaks.value("p_plus") == 1000  # new maxima after the stop


@pytest.mark.parametrize(
    ("code", "months"),
    [
        (0, set()),
        (1, set(range(1, 13))),
        (2, {1, 3, 5, 7, 9, 11}),
        (3, {2, 4, 6, 8, 10, 12}),
        (6, {3, 6, 9, 12}),
        (9, {3, 9}),
        (24, {12}),
    ],
)
def test_debiting_intervals(code: int, months: set[int]) -> None:
    assert debiting_months(code) == months


def test_yearly_debiting_over_two_years() -> None:
    m = meter(load(500.0), software={"debiting_interval": 16, "debiting_stop_date": 1})
    m.advance_to(START + timedelta(days=800))
    assert [r.local for r in m.debiting.records] == [datetime(2024, 4, 1), datetime(2025, 4, 1)]
    assert m.debiting.records[0].clock_status == 0x80  # in summer time


def test_power_threshold_counter_counts_periods_over_the_limit() -> None:
    changes = [(START + HOUR, load(12_000.0), ()), (START + 2 * HOUR, load(100.0), ())]
    m = Meter(config(software={"power_threshold_w": 10_000}), start=START, source=Steps(changes))
    m.advance_to(START + 3 * HOUR)
    assert m.peaks.threshold_count == 4


def test_analysis_logger_captures_its_channels() -> None:
    m = meter(
        load(1000.0),
        software={"analysis_interval_min": 30, "analysis_channels": ["1.8.0", "32.7.0"]},
    )
    m.advance_to(START + 2 * HOUR)
    assert len(m.analysis.entries) == 4
    assert m.analysis.entries[-1][1] == (2.0, 230.0)


def test_the_tamper_scenario_logs_each_start_and_end_with_its_meter_time() -> None:
    """Issue 11: scenario actions go through the model, which logs them as they happen."""
    from ccc_gateway.protocol.omnipower_logs import EventCode
    from meter_emulator.model.clock import to_us
    from meter_emulator.scenarios import make_scenario

    start = datetime(2024, 1, 8, 10, tzinfo=UTC)
    source = make_scenario("tamper", seed=1, start_us=to_us(start))
    m = Meter(config(), start=start, source=source)
    m.advance_to(start + timedelta(hours=3))
    tamper = [
        (e.code, e.local.strftime("%H:%M"), e.duration_ms)
        for e in m.event_log.entries
        if e.code >= EventCode.TERMINAL_COVER_OPENED and e.code <= EventCode.MAGNET_GONE
    ]
    assert tamper == [
        (EventCode.MAGNET_DETECTED, "12:00", 0),  # 11:00 UTC is 12:00 CET
        (EventCode.MAGNET_GONE, "12:10", 600_000),
        (EventCode.TERMINAL_COVER_OPENED, "13:00", 0),
        (EventCode.TERMINAL_COVER_CLOSED, "13:05", 300_000),
    ]
