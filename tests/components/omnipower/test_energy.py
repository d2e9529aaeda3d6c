"""The Energy dashboard's own validation accepts our energy sensors and statistics."""

from __future__ import annotations

import pytest
from homeassistant.components.energy import data as energy_data
from homeassistant.components.energy import validate
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from .conftest import publish

SERIAL = "31415926"


def load_profile() -> dict[str, object]:
    """One hour of the meter's profile, for the external statistic."""
    return {
        "ts": "2026-11-26T12:00:00+01:00",
        "schema": 1,
        "batch_id": "b1",
        "request_id": None,
        "interval_s": 3600,
        "part": 1,
        "parts": 1,
        "intervals": [
            {
                "start": "2026-11-26T09:00:00+00:00",
                "end": "2026-11-26T10:00:00+00:00",
                "active_energy_import_kwh": 5011.0,
                "status": 0,
            }
        ],
    }


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder must start before Home Assistant."""


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_energy_dashboard_validation_is_clean(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Grid import/export per tariff and the back-fill statistics raise no energy issue."""
    publish(hass, SERIAL, "load_profile", load_profile())
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
                        }
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
