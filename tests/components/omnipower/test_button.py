"""Buttons for ``clock_sync`` and ``refresh``: sent and awaited like every command."""

from __future__ import annotations

import json
from copy import deepcopy
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN
from homeassistant.components.button import SERVICE_PRESS
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import MqttMockHAClient
from syrupy.assertion import SnapshotAssertion

from ccc_gateway.commands.envelope import parse_envelope, verify
from custom_components.omnipower.const import CONF_INFO, CONF_SECRET

from .commands import SERIAL, answer, sent, snapshot_entities, started
from .conftest import METERS, Payloads, publish

CLOCK_SYNC = f"button.omnipower_{SERIAL}_synchronise_clock"
REFRESH = f"button.omnipower_{SERIAL}_refresh"
DRIFT = f"sensor.omnipower_{SERIAL}_clock_drift"


@pytest.fixture
def platforms() -> list[Platform]:
    """Only buttons (and sensors, for the clock's read-back)."""
    return [Platform.BUTTON, Platform.SENSOR]


def press(hass: HomeAssistant, entity_id: str) -> Any:
    return hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: entity_id}, blocking=True
    )


@pytest.mark.parametrize("platforms", [[Platform.BUTTON]])
@pytest.mark.parametrize("meter_fixture", METERS)
async def test_buttons(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """Only the meter whose gateway allows the commands has the buttons."""
    snapshot_entities(hass, entity_registry, snapshot, init_integration.entry_id)


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_clock_sync_shows_read_back(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    payloads: Payloads,
) -> None:
    """Pressing sends a signed ``clock_sync``; the read-back clock is shown at once."""
    hass.config_entries.async_update_entry(
        init_integration, options={**init_integration.options, CONF_SECRET: "s3cret"}
    )
    await hass.async_block_till_done()
    assert hass.states.get(DRIFT).state == "4.0"
    task = await started(mqtt_mock, press(hass, CLOCK_SYNC))
    [(topic, body, qos, retain)] = sent(mqtt_mock)
    assert (topic, qos, retain) == (f"omnipower/{SERIAL}/cmd/clock_sync", 1, False)
    assert body["args"] == {}
    assert verify(parse_envelope(topic, json.dumps(body).encode()), b"s3cret")
    answer(hass, body, "done", command="clock_sync", state={**payloads["clock"], "drift_s": 0.2})
    await task
    assert hass.states.get(DRIFT).state == "0.2"
    assert hass.states.get(CLOCK_SYNC).state != STATE_UNKNOWN  # the time it was pressed


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_refresh_waits_for_done(
    hass: HomeAssistant, init_integration: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """``refresh`` carries no read-back of its own: the gateway publishes every topic."""
    task = await started(mqtt_mock, press(hass, REFRESH))
    [(topic, body, _, _)] = sent(mqtt_mock)
    assert topic == f"omnipower/{SERIAL}/cmd/refresh"
    answer(hass, body, "done", command="refresh", state={"tariff": {"active_tariff": 1}})
    await task
    assert init_integration.runtime_data.data.value("tariff", "active_tariff") == 2


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_button_rejected(
    hass: HomeAssistant, init_integration: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """A rejection raises the translated error."""
    task = await started(mqtt_mock, press(hass, CLOCK_SYNC))
    body = sent(mqtt_mock)[0][1]
    answer(hass, body, "rejected", command="clock_sync", reason="not_allowed")
    with pytest.raises(HomeAssistantError) as error:
        await task
    assert error.value.translation_key == "command_rejected"
    assert str(error.value).startswith("The gateway rejected clock_sync: not_allowed.")


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_button_timeout(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
) -> None:
    """No result by expiry plus grace raises 'command_timeout'."""
    task = await started(mqtt_mock, press(hass, REFRESH))
    freezer.tick(timedelta(seconds=46))
    async_fire_time_changed(hass)
    with pytest.raises(HomeAssistantError) as error:
        await task
    assert error.value.translation_key == "command_timeout"


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_buttons_follow_the_gateway(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    mock_config_entry: MockConfigEntry,
    payloads: Payloads,
    entity_registry: er.EntityRegistry,
) -> None:
    """No button for a command the gateway disallows; unavailable when it stops allowing it."""
    info = payloads["info"]
    without = deepcopy(info)
    without["capabilities"]["commands"].remove("refresh")
    mock_config_entry.add_to_hass(hass)
    # The info stored at set-up serves until the gateway's retained one arrives.
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_INFO: without}
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    for topic, payload in {**payloads, "info": without}.items():
        publish(hass, SERIAL, topic, payload, retain=True)
    publish(hass, SERIAL, "power", payloads["power"])
    await hass.async_block_till_done()
    assert entity_registry.async_get(REFRESH) is None
    assert hass.states.get(CLOCK_SYNC).state == STATE_UNKNOWN
    without["capabilities"]["commands"].remove("clock_sync")
    publish(hass, SERIAL, "info", without)  # live subscribers see no retain flag
    await hass.async_block_till_done()
    assert hass.states.get(CLOCK_SYNC).state == STATE_UNAVAILABLE
    assert entity_registry.async_get(REFRESH) is None
