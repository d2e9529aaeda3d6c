"""Load-profile back-fill lands in external statistics whose sums stay consistent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import (
    list_statistic_ids,
    statistics_during_period,
)
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.omnipower.statistics import hourly_rows

from .conftest import publish

SERIAL = "31415926"
IMPORT = f"omnipower:{SERIAL}_energy_import"
EXPORT = f"omnipower:{SERIAL}_energy_export"
START = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder must start before Home Assistant; the package fixture would reverse it."""


def batch(first_hour: int, readings: list[float], interval_s: int = 3600) -> dict[str, Any]:
    """A load-profile batch: one interval per reading, register values at each end."""
    step = timedelta(seconds=interval_s)
    start = START + timedelta(hours=first_hour)
    return {
        "ts": "2026-11-26T12:16:00+01:00",
        "schema": 1,
        "batch_id": f"b{first_hour}",
        "request_id": None,
        "interval_s": interval_s,
        "part": 1,
        "parts": 1,
        "intervals": [
            {
                "start": (start + index * step).isoformat(),
                "end": (start + (index + 1) * step).isoformat(),
                "active_energy_import_kwh": value,
                "active_energy_export_kwh": 800.0,
                "status": 0,
            }
            for index, value in enumerate(readings)
        ],
    }


async def rows(hass: HomeAssistant, statistic_id: str) -> list[dict[str, Any]]:
    result = await hass.async_add_executor_job(
        statistics_during_period,
        hass,
        START - timedelta(hours=1),
        START + timedelta(hours=24),
        {statistic_id},
        "hour",
        None,
        {"state", "sum"},
    )
    return list(result.get(statistic_id, []))


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_backfill_with_a_gap_keeps_sums_consistent(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Two batches with a gap between them, the later one first: every hour's sum is the
    register, so the hourly change is right wherever rows are added."""
    publish(hass, SERIAL, "load_profile", batch(5, [105.0, 106.5, 108.0]))
    publish(hass, SERIAL, "load_profile", batch(0, [100.0, 101.0, 101.25]))
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    imported = await rows(hass, IMPORT)
    assert [row["sum"] for row in imported] == [100.0, 101.0, 101.25, 105.0, 106.5, 108.0]
    assert [datetime.fromtimestamp(row["start"], UTC).hour for row in imported] == [
        0,
        1,
        2,
        5,
        6,
        7,
    ]
    # filling the gap later changes nothing around it
    publish(hass, SERIAL, "load_profile", batch(3, [102.0, 104.0]))
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    sums = [row["sum"] for row in await rows(hass, IMPORT)]
    assert sums == [100.0, 101.0, 101.25, 102.0, 104.0, 105.0, 106.5, 108.0]
    assert len(await rows(hass, EXPORT)) == 8
    ids = await hass.async_add_executor_job(list_statistic_ids, hass)
    meta = {item["statistic_id"]: item for item in ids}
    assert meta[IMPORT]["source"] == "omnipower"
    assert meta[IMPORT]["statistics_unit_of_measurement"] == "kWh"
    assert meta[IMPORT]["has_sum"] is True


def test_quarter_hours_make_hourly_rows() -> None:
    """A 15-minute profile gives one row per whole hour: the reading on the hour."""
    quarter = batch(0, [100.25, 100.5, 100.75, 101.0, 101.5, 102.0, 102.5, 103.0], 900)
    result = hourly_rows(quarter["intervals"], "active_energy_import_kwh")
    assert [(row["start"], row["sum"]) for row in result] == [
        (START, 101.0),
        (START + timedelta(hours=1), 103.0),
    ]


@pytest.mark.parametrize(
    "interval",
    [
        "not a dict",
        {"end": "2026-11-26T01:00:00+00:00"},
        {"end": "2026-11-26T01:00:00", "active_energy_import_kwh": 1.0},
        {"end": "garbage", "active_energy_import_kwh": 1.0},
        {"end": "2026-11-26T01:00:00+00:00", "active_energy_import_kwh": True},
    ],
    ids=["not_object", "no_value", "naive_time", "bad_time", "boolean"],
)
def test_unusable_intervals_are_skipped(interval: Any) -> None:
    """Nothing that could put a wrong sum in the statistics is used."""
    assert hourly_rows([interval], "active_energy_import_kwh") == []
