"""Actions: prepayment top-up and reading the load profile go out as commands."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.omnipower.const import DOMAIN

from .conftest import publish

SERIAL = "31415926"
pytestmark = pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])


async def run(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, service: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Call the action, answer its command with 'done', return the command's body."""
    task = asyncio.ensure_future(hass.services.async_call(DOMAIN, service, data, blocking=True))
    for _ in range(100):
        calls = [c for c in mqtt_mock.async_publish.call_args_list if "/cmd/" in c.args[0]]
        if calls:
            break
        await asyncio.sleep(0)
    [call] = calls
    assert call.args[0] == f"omnipower/{SERIAL}/cmd/{service}"
    body: dict[str, Any] = json.loads(call.args[1])
    publish(hass, SERIAL, "cmd/result", {"schema": 1, "id": body["id"], "status": "done"})
    await task
    return body


async def test_top_up(
    hass: HomeAssistant, init_integration: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """The amount goes out in kWh."""
    body = await run(
        hass,
        mqtt_mock,
        "prepayment_top_up",
        {"config_entry_id": init_integration.entry_id, "energy_kwh": 25},
    )
    assert body["args"] == {"energy_kwh": 25.0}


async def test_read_load_profile(
    hass: HomeAssistant, init_integration: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """Times go out aware; a naive time is read in Home Assistant's zone."""
    await hass.config.async_set_time_zone("Europe/Copenhagen")
    body = await run(
        hass,
        mqtt_mock,
        "read_load_profile",
        {
            "config_entry_id": init_integration.entry_id,
            "from": "2026-11-25 00:00:00",
            "to": "2026-11-26T00:00:00+00:00",
        },
    )
    assert body["args"] == {
        "from": "2026-11-25T00:00:00+01:00",
        "to": "2026-11-26T00:00:00+00:00",
    }


async def test_read_load_profile_from_only(
    hass: HomeAssistant, init_integration: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """'to' is optional."""
    body = await run(
        hass,
        mqtt_mock,
        "read_load_profile",
        {"config_entry_id": init_integration.entry_id, "from": "2026-11-25T00:00:00+00:00"},
    )
    assert body["args"] == {"from": "2026-11-25T00:00:00+00:00"}


async def test_unknown_and_unloaded_entries(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An entry that is not a loaded meter is a validation error, not a crash."""
    with pytest.raises(ServiceValidationError) as error:
        await hass.services.async_call(
            DOMAIN,
            "prepayment_top_up",
            {"config_entry_id": "nope", "energy_kwh": 1},
            blocking=True,
        )
    assert error.value.translation_key == "unknown_config_entry"
    await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError) as error:
        await hass.services.async_call(
            DOMAIN,
            "prepayment_top_up",
            {"config_entry_id": init_integration.entry_id, "energy_kwh": 1},
            blocking=True,
        )
    assert error.value.translation_key == "config_entry_not_loaded"
