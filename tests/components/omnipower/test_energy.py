"""The Energy dashboard's own validation accepts our energy sensors and statistics."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest
from homeassistant.components.energy import data as energy_data
from homeassistant.components.energy import validate
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import list_statistic_ids
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from .conftest import publish

SERIAL = "27581522"
#: The back-fill the real gateway published for this meter (see test_statistics.py).
BACKFILL = json.loads(
    (Path(__file__).parent / "load_profiles" / "three_phase_r1_r4.json").read_text()
)["backfill"]


@pytest.fixture
def meter_fixture() -> str:
    """The DLMS meter the load profile was recorded from: tariffs, export and reactive."""
    return "dlms_optical"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder must start before Home Assistant."""


async def test_energy_dashboard_validation_is_clean(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Grid import/export per tariff and the back-fill statistics raise no energy issue."""
    publish(hass, SERIAL, "load_profile", BACKFILL)
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    # Compile the 5-minute period holding the states just written, as the recorder will.
    now = dt_util.utcnow()
    do_adhoc_statistics(
        hass, start=now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    )
    await async_wait_recording_done(hass)
    assert await async_setup_component(hass, "energy", {})
    manager = await energy_data.async_get_manager(hass)
    sensor = f"sensor.omnipower_{SERIAL}"
    await manager.async_update(
        {
            "energy_sources": [
                {
                    "type": "grid",
                    "flow_from": [
                        {
                            "stat_energy_from": f"{sensor}_energy_import_tariff_1",
                            "stat_cost": None,
                            "entity_energy_price": None,
                            "number_energy_price": None,
                        },
                        {
                            "stat_energy_from": f"{sensor}_energy_import_tariff_2",
                            "stat_cost": None,
                            "entity_energy_price": None,
                            "number_energy_price": None,
                        },
                        {
                            "stat_energy_from": f"omnipower:{SERIAL}_energy_import",
                            "stat_cost": None,
                            "entity_energy_price": None,
                            "number_energy_price": None,
                        },
                    ],
                    "flow_to": [
                        {
                            "stat_energy_to": f"{sensor}_energy_export",
                            "stat_compensation": None,
                            "entity_energy_price": None,
                            "number_energy_price": None,
                        },
                        {
                            "stat_energy_to": f"omnipower:{SERIAL}_energy_export",
                            "stat_compensation": None,
                            "entity_energy_price": None,
                            "number_energy_price": None,
                        },
                    ],
                    "cost_adjustment_day": 0,
                }
            ]
        }
    )
    await async_wait_recording_done(hass)
    result = (await validate.async_validate(hass)).as_dict()
    assert result["energy_sources"] == [[]]
    # Newer releases add groups (water consumption, …): all of them must be empty too.
    assert all(not any(group) for group in result.values())


async def test_the_energy_dashboard_offers_the_active_statistics_only(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The dashboard's pickers list statistics of the ``energy`` unit class: the two active
    registers. The reactive ones are sums too, for a statistics graph or card, which lists any
    statistic (what docs/home-assistant.md tells users)."""
    publish(hass, SERIAL, "load_profile", BACKFILL)
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    listed = await hass.async_add_executor_job(
        partial(list_statistic_ids, hass, statistic_type="sum")
    )
    classes = {i["statistic_id"]: i["unit_class"] for i in listed if i["source"] == "omnipower"}
    energy = {sid for sid, unit_class in classes.items() if unit_class == "energy"}
    assert energy == {f"omnipower:{SERIAL}_energy_import", f"omnipower:{SERIAL}_energy_export"}
    assert len(classes) == 8
