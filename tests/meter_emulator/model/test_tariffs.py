"""Tariffs switch at the calendar's local times, also on the days the clocks change."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from meter_emulator.model.config import TariffSwitch
from meter_emulator.model.tariffs import TariffControl, TariffSource

from .helpers import load, meter


def switches(m: object) -> list[tuple[datetime, str]]:
    return [(e.local, e.detail) for e in m.events.entries if e.kind == "tariff_changed"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("day", "utc_hour_of_6_local"),
    [
        (datetime(2024, 3, 29, tzinfo=UTC), 5),  # Friday before the spring change: CET
        (datetime(2024, 4, 1, tzinfo=UTC), 4),  # Monday after: CEST
        (datetime(2024, 10, 25, tzinfo=UTC), 4),  # Friday before the autumn change
        (datetime(2024, 10, 28, tzinfo=UTC), 5),  # Monday after
    ],
)
def test_calendar_switch_at_local_time_around_dst(day: datetime, utc_hour_of_6_local: int) -> None:
    m = meter(load(1000.0), start=day)
    switch = day.replace(hour=utc_hour_of_6_local)
    m.advance_to(switch - timedelta(microseconds=1))
    assert m.tariff == 1
    m.advance_to(switch)
    assert m.tariff == 2
    assert switches(m)[-1] == (day.replace(hour=6, tzinfo=None), "1->2 (calendar)")


def test_a_weekend_switch_on_the_night_the_clock_goes_forward() -> None:
    calendar = [
        {"days": "all", "at": "00:00", "tariff": 1},
        {"days": "sun", "at": "02:30", "tariff": 4},  # skipped by the spring change
        {"days": "sun", "at": "04:00", "tariff": 3},
    ]
    m = meter(load(1000.0), start=datetime(2024, 3, 30, 22, tzinfo=UTC), calendar=calendar)
    m.advance_to(datetime(2024, 3, 31, 1, 0, 1, tzinfo=UTC))  # local 03:00:01 CEST
    assert m.tariff == 4  # 02:30 never showed, so the switch happened at the jump
    m.advance_to(datetime(2024, 3, 31, 2, 0, 1, tzinfo=UTC))
    assert m.tariff == 3


def test_energy_per_tariff_sums_to_the_total() -> None:
    m = meter(load(2300.0, 500.0), start=datetime(2024, 3, 25, tzinfo=UTC))
    m.advance_to(datetime(2024, 4, 8, tzinfo=UTC))
    nj = m.energy.nj
    assert sum(nj[f"a_plus_t{t}"] for t in range(1, 5)) == nj["a_plus"]
    assert sum(nj[f"r_plus_t{t}"] for t in range(1, 5)) == nj["r_plus"]
    assert 0 < nj["a_plus_t3"] < nj["a_plus_t2"] < nj["a_plus_t1"]


def test_forced_tariff_overrides_the_calendar_until_cleared() -> None:
    m = meter(load(1000.0), start=datetime(2024, 1, 2, 10, tzinfo=UTC))
    assert m.tariff == 2
    m.force_tariff(4)
    assert (m.tariff, m.tariffs.source) == (4, TariffSource.FORCED)
    m.advance_to(datetime(2024, 1, 2, 20, 30, tzinfo=UTC))
    assert m.tariff == 4
    m.force_tariff(0)
    assert (m.tariff, m.tariffs.source) == (1, TariffSource.CALENDAR)
    with pytest.raises(ValueError, match="1-4"):
        m.force_tariff(9)


@pytest.mark.parametrize(
    ("module", "inputs", "tariff"),
    [
        (1, (False, False), 1),
        (1, (True, False), 2),
        (1, (False, True), 3),
        (1, (True, True), 4),
        (2, (False, False), 4),  # 4-tariff inverted
        (7, (True, True), 2),  # 2-tariff ignores I2
        (8, (True, False), 1),  # 2-tariff inverted
    ],
)
def test_module_inputs(module: int, inputs: tuple[bool, bool], tariff: int) -> None:
    control = TariffControl(1, [TariffSwitch(frozenset(range(7)), time(0), 1)], module)
    control.set_inputs(*inputs)
    assert control.tariff(datetime(2024, 1, 1)) == tariff
    assert control.source is TariffSource.INPUT


def test_tariff_inputs_through_the_meter() -> None:
    m = meter(load(1000.0), software={"primary_module": 1, "tariff_control": 1})
    m.set_tariff_inputs(True, True)
    assert m.tariff == 4
    m.advance_to(datetime(2024, 1, 1, 1, tzinfo=UTC))
    assert m.energy.wh("a_plus_t4") == 1000
