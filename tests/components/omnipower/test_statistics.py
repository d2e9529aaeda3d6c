"""Load-profile back-fill lands in external statistics, one per register, in the real recorder.

The batches are recorded from the real gateway against the emulator (load_profiles/, see
tests/e2e/test_ha_load_profile_fixture.py): a three-phase meter with all eight registers
(A+, A−, R+, R−, R1–R4), a 100-minute outage that left an hour without any reading, the
gateway's back-fill (``backfill``) and two re-reads overlapping it (``early``, ``late``).
"""

from __future__ import annotations

import itertools
import json
import logging
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import (
    list_statistic_ids,
    statistics_during_period,
)
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from homeassistant.util import unit_conversion
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from ccc_gateway.optical.load_profile import profile_batches
from ccc_gateway.optical.session import MeterClock, ProfileRow
from custom_components.omnipower import statistics
from custom_components.omnipower.statistics import backfill_diagnostics, metadata, unit_class
from custom_components.omnipower.statistics_rows import SERIES, readings

from .conftest import publish

SERIAL = "27581522"
RECORDED: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).parent / "load_profiles" / "three_phase_r1_r4.json").read_text()
)
BACKFILL, EARLY, LATE = RECORDED["backfill"], RECORDED["early"], RECORDED["late"]
#: The ids are the user's history: the Energy dashboard and every card refer to them, so they
#: are written out here, and a rename fails this test.
STATISTICS = {
    "omnipower:27581522_energy_import": ("active_energy_import_kwh", "kWh"),
    "omnipower:27581522_energy_export": ("active_energy_export_kwh", "kWh"),
    "omnipower:27581522_reactive_energy_import": ("reactive_energy_import_kvarh", "kvarh"),
    "omnipower:27581522_reactive_energy_export": ("reactive_energy_export_kvarh", "kvarh"),
    "omnipower:27581522_reactive_energy_q1": ("reactive_energy_q1_kvarh", "kvarh"),
    "omnipower:27581522_reactive_energy_q2": ("reactive_energy_q2_kvarh", "kvarh"),
    "omnipower:27581522_reactive_energy_q3": ("reactive_energy_q3_kvarh", "kvarh"),
    "omnipower:27581522_reactive_energy_q4": ("reactive_energy_q4_kvarh", "kvarh"),
}
IMPORT = "omnipower:27581522_energy_import"


@pytest.fixture
def meter_fixture() -> str:
    """The meter the batches were recorded from."""
    return "dlms_optical"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder must start before Home Assistant; the package fixture would reverse it."""


def end(interval: dict[str, Any]) -> datetime:
    return dt_util.as_utc(datetime.fromisoformat(interval["end"]))


FIRST_END = min(end(i) for i in BACKFILL["intervals"])
WINDOW = (FIRST_END - timedelta(hours=3), max(end(i) for i in BACKFILL["intervals"]))


def expected(key: str) -> list[tuple[datetime, float, float]]:
    """The rows the back-fill must give *key*, from the recorded batch itself: one per whole
    hour with a reading at its end; the sum counts from the oldest reading of the profile."""
    intervals = BACKFILL["intervals"]
    oldest = min(intervals, key=end)[key]
    return [
        (end(i) - timedelta(hours=1), i[key], i[key] - oldest)
        for i in sorted(intervals, key=end)
        if end(i).minute == 0
    ]


async def deliver(hass: HomeAssistant, *batches: dict[str, Any]) -> None:
    """Publish *batches* as the gateway does (not retained) and let the recorder write them."""
    for batch in batches:
        publish(hass, SERIAL, "load_profile", batch)
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)


async def rows(hass: HomeAssistant, statistic_id: str) -> list[tuple[datetime, float, float]]:
    """(start, state, sum) of every hourly row the recorder holds."""
    result = await hass.async_add_executor_job(
        statistics_during_period,
        hass,
        *WINDOW,
        {statistic_id},
        "hour",
        None,
        {"state", "sum"},
    )
    return [
        (datetime.fromtimestamp(row["start"], UTC), row["state"], row["sum"])
        for row in result.get(statistic_id, [])
    ]


async def changes(hass: HomeAssistant, statistic_id: str) -> list[float]:
    """What the Energy dashboard shows per hour (the recorder's ``change``)."""
    result = await hass.async_add_executor_job(
        statistics_during_period, hass, *WINDOW, {statistic_id}, "hour", None, {"change"}
    )
    return [row["change"] for row in result.get(statistic_id, [])]


def approx_rows(values: list[tuple[datetime, float, float]]) -> list[Any]:
    return [
        (start, pytest.approx(state), pytest.approx(total, abs=1e-6))
        for start, state, total in values
    ]


async def test_every_register_becomes_its_own_statistic(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A+, A−, R+, R− and R1–R4 each get a cumulative statistic in its unit, one row per whole
    hour: the reading at its end as ``state``, the register above its oldest reading as ``sum``."""
    await deliver(hass, BACKFILL)
    listed = await hass.async_add_executor_job(list_statistic_ids, hass)
    ours = {item["statistic_id"]: item for item in listed if item["source"] == "omnipower"}
    assert set(ours) == set(STATISTICS)
    for statistic_id, (key, unit) in STATISTICS.items():
        meta = ours[statistic_id]
        assert meta["statistics_unit_of_measurement"] == unit, statistic_id
        assert (meta["has_sum"], meta["has_mean"]) == (True, False), statistic_id
        assert await rows(hass, statistic_id) == approx_rows(expected(key)), statistic_id
    assert ours["omnipower:27581522_reactive_energy_q3"]["name"] == (
        "OMNIPOWER 27581522 reactive energy quadrant 3 (R3)"
    )


async def test_the_outage_stays_a_gap_and_no_hour_gets_the_meters_whole_life(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The hour the meter captured nothing has no row (nothing is invented); the Energy
    dashboard's hourly change is the register's own difference, and the first hour shows what
    the profile knows of it, not the register's whole reading."""
    await deliver(hass, BACKFILL)
    starts = [start for start, _, _ in await rows(hass, IMPORT)]
    whole = [start for start, _, _ in expected("active_energy_import_kwh")]
    missing = [
        whole[0] + timedelta(hours=n)
        for n in range(int((whole[-1] - whole[0]) / timedelta(hours=1)))
        if whole[0] + timedelta(hours=n) not in whole
    ]
    assert len(missing) == 1  # the recorded outage
    assert starts == whole
    readings_at = [value for _, value, _ in expected("active_energy_import_kwh")]
    oldest = min(BACKFILL["intervals"], key=end)["active_energy_import_kwh"]
    hourly = [readings_at[0] - oldest] + [b - a for a, b in itertools.pairwise(readings_at)]
    assert await changes(hass, IMPORT) == pytest.approx(hourly)
    assert 0 < hourly[0] < 5  # 45 minutes at 3 kW, not 12 000 kWh


@pytest.mark.parametrize(
    "order",
    [
        ("backfill", "backfill"),
        ("backfill", "late", "early", "backfill"),
        ("early", "late"),
        ("late", "early"),
        ("late", "backfill"),
        ("late", "early", "backfill", "late"),
    ],
    ids=[
        "redelivered",
        "overlapping_rereads",
        "in_order",
        "older_after_newer",
        "late_then_all",
        "mixed",
    ],
)
async def test_any_order_of_redelivered_and_overlapping_batches_gives_the_same_rows(
    hass: HomeAssistant, init_integration: MockConfigEntry, order: tuple[str, ...]
) -> None:
    """No duplicate rows, no sum that depends on which batch came first: older history
    arriving after newer lowers the baseline and shifts the rows already written."""
    await deliver(hass, *(RECORDED[name] for name in order))
    for statistic_id, (key, _) in STATISTICS.items():
        assert await rows(hass, statistic_id) == approx_rows(expected(key)), statistic_id
    counters = backfill_diagnostics(hass, SERIAL)
    assert counters["batches"] == len(order)
    assert counters["backwards_readings"] == counters["malformed_intervals"] == 0
    assert counters["history_extended"] == (8 if order[0] == "late" else 0)


async def test_a_restart_reads_the_baseline_back_from_the_recorder(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """After a restart the writer knows nothing; what the recorder holds decides the sums."""
    await deliver(hass, LATE)
    hass.data.pop(statistics._DATA)  # what a Home Assistant restart forgets
    await deliver(hass, EARLY)
    hass.data.pop(statistics._DATA)
    await deliver(hass, LATE)
    for statistic_id, (key, _) in STATISTICS.items():
        assert await rows(hass, statistic_id) == approx_rows(expected(key)), statistic_id


async def test_readings_going_backwards_never_reach_the_statistics(
    hass: HomeAssistant, init_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A register lower than an older reading, inside a batch or against what the recorder
    holds, is left out, counted and logged once. These batches are the recorded ones edited:
    the gateway holds such readings back and cannot publish them."""
    await deliver(hass, BACKFILL)
    inside = deepcopy(LATE)
    inside["intervals"][-1]["active_energy_import_kwh"] = 0.0
    newer = deepcopy(LATE)
    newest = max(end(i) for i in BACKFILL["intervals"])
    later = newest.replace(minute=0) + timedelta(hours=1)
    newer["intervals"] = [
        {
            **LATE["intervals"][-1],
            "start": (later - timedelta(minutes=15)).isoformat(),
            "end": later.isoformat(),
            "active_energy_import_kwh": 1.0,
        }
    ]
    with caplog.at_level(logging.WARNING):
        await deliver(hass, inside, newer, newer)
    assert await rows(hass, IMPORT) == approx_rows(expected("active_energy_import_kwh"))
    counters = backfill_diagnostics(hass, SERIAL)
    assert counters["backwards_readings"] == 3
    assert counters["history_extended"] == 0
    warnings = [r for r in caplog.records if "lower than older ones" in r.getMessage()]
    assert len(warnings) == 1
    assert "left out of the statistics" in warnings[0].getMessage()


def test_quarter_hours_make_hourly_rows() -> None:
    """A 15-minute profile gives one row per whole hour (the reading on the hour); the
    quarters only tell the oldest reading."""
    found = readings(BACKFILL["intervals"], "reactive_energy_q1_kvarh")
    on_the_hour = [i for i in BACKFILL["intervals"] if end(i).minute == 0]
    assert found.hours() == {
        end(i) - timedelta(hours=1): i["reactive_energy_q1_kvarh"] for i in on_the_hour
    }
    assert found.first_end == FIRST_END
    assert len(found.points) == len(BACKFILL["intervals"])


def test_the_dst_fold_gives_twenty_five_distinct_hours() -> None:
    """The night clocks go back, as the gateway's own batch code stamps it: the repeated
    local hour has two rows, one hour apart in UTC, and none is lost or doubled."""
    zone = ZoneInfo("Europe/Copenhagen")
    first = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # local midnight, summer time
    rows = []
    for hour in range(26):
        local = (first + timedelta(hours=hour)).astimezone(zone)
        clock = MeterClock(local.replace(tzinfo=None), bool(local.dst()))
        rows.append(ProfileRow(clock, 0, {"active_energy_import": 500.0 + hour}, 3600))
    (batch,) = profile_batches(rows, zone=zone, meter=SERIAL, read_at=first, request_id=None)
    found = readings(batch["intervals"], "active_energy_import_kwh")
    starts = sorted(found.hours())
    assert len(starts) == 26
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(starts))
    day = [s for s in starts if s.astimezone(zone).date() == datetime(2026, 10, 25).date()]
    assert len(day) == 25


@pytest.mark.parametrize(
    "interval",
    [
        "not a dict",
        {"end": "2026-11-26T01:00:00", "active_energy_import_kwh": 1.0},
        {"end": "garbage", "active_energy_import_kwh": 1.0},
        {"end": "2026-11-26T01:00:00+00:00", "active_energy_import_kwh": True},
        {"end": "2026-11-26T01:00:00+00:00", "active_energy_import_kwh": "1.0"},
    ],
    ids=["not_object", "naive_time", "bad_time", "boolean", "text"],
)
def test_malformed_intervals_are_counted_and_skipped(interval: Any) -> None:
    """Nothing that could put a wrong sum in the statistics is used."""
    found = readings([interval], "active_energy_import_kwh")
    assert (found.points, found.malformed) == ((), 1)


def test_a_register_the_profile_does_not_capture_is_no_fault() -> None:
    found = readings(
        [{"end": "2026-11-26T01:00:00+00:00", "status": 0}], "active_energy_import_kwh"
    )
    assert (found.points, found.malformed) == ((), 0)


def test_units_are_the_ones_the_recorder_knows() -> None:
    """kWh is energy; kvarh is Home Assistant's reactive energy unit where the running version
    converts it (releases after 2025.4) and a plain unit before; ``unit_class`` is sent only
    where the recorder has that field."""
    reactive = getattr(unit_conversion, "ReactiveEnergyConverter", None)
    assert unit_class("kWh") == "energy"
    assert unit_class("kvarh") == (None if reactive is None else reactive.UNIT_CLASS)
    if reactive is not None:
        assert "kvarh" in reactive.VALID_UNITS
    for series in SERIES:
        meta = metadata(SERIAL, series)
        assert meta["unit_of_measurement"] == ("kvarh" if "reactive" in series.key else "kWh")
        assert meta["has_sum"] is True


def test_the_recorded_batches_follow_the_contract() -> None:
    """The batches these tests publish are load_profile payloads of docs/schemas."""
    jsonschema = pytest.importorskip("jsonschema")
    schemas = Path(__file__).parents[3] / "docs" / "schemas"
    schema = json.loads((schemas / "load_profile.schema.json").read_text())
    for name, batch in RECORDED.items():
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(batch))
        assert not errors, f"{name}: {errors[0].message}"
