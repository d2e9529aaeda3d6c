"""The prepayment alarm limit: set with ``prepayment_alarm_limit``, shown from the read-back."""

from __future__ import annotations

import json
from copy import deepcopy
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import MqttMockHAClient
from syrupy.assertion import SnapshotAssertion

from ccc_gateway.commands.arguments import validate_arguments
from ccc_gateway.commands.envelope import parse_envelope
from custom_components.omnipower.const import CONF_COMMANDS, CONF_STALE_AFTER

from .commands import SERIAL, answer, sent, snapshot_entities, started
from .conftest import METERS, Payloads, publish

LIMIT = f"number.omnipower_{SERIAL}_prepayment_alarm_limit"


@pytest.fixture
def platforms() -> list[Platform]:
    """Only numbers."""
    return [Platform.NUMBER]


def set_limit(hass: HomeAssistant, value: float) -> Any:
    return hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: LIMIT, ATTR_VALUE: value},
        blocking=True,
    )


@pytest.mark.parametrize("meter_fixture", METERS)
async def test_numbers(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """Only the prepayment meter whose gateway allows the command has the number."""
    snapshot_entities(hass, entity_registry, snapshot, init_integration.entry_id)


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_set_limit_waits_for_read_back(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    payloads: Payloads,
) -> None:
    """Setting sends arguments the gateway accepts; the value is the meter's read-back."""
    assert hass.states.get(LIMIT).state == "10.0"
    task = await started(mqtt_mock, set_limit(hass, 12))
    [(topic, body, qos, retain)] = sent(mqtt_mock)
    assert (topic, qos, retain) == (f"omnipower/{SERIAL}/cmd/prepayment_alarm_limit", 1, False)
    assert body["args"] == {"energy_kwh": 12}
    envelope = parse_envelope(topic, json.dumps(body).encode())  # the gateway's own checks
    assert validate_arguments("prepayment_alarm_limit", envelope.args) == {"energy_kwh": 12.0}
    answer(hass, body, "accepted", command="prepayment_alarm_limit")
    assert hass.states.get(LIMIT).state == "10.0"
    read_back = {**payloads["prepayment"], "alarm_limit_kwh": 12.0}
    answer(hass, body, "done", command="prepayment_alarm_limit", state=read_back)
    await task
    assert hass.states.get(LIMIT).state == "12.0"


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_set_limit_failed_keeps_value(
    hass: HomeAssistant, init_integration: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """A failure on the meter raises the translated error; the value stays the meter's."""
    task = await started(mqtt_mock, set_limit(hass, 20))
    body = sent(mqtt_mock)[0][1]
    answer(
        hass,
        body,
        "failed",
        command="prepayment_alarm_limit",
        reason="readback_mismatch",
        text="alarm limit reads 10.0 kWh",
    )
    with pytest.raises(HomeAssistantError) as error:
        await task
    assert error.value.translation_key == "command_failed"
    assert hass.states.get(LIMIT).state == "10.0"


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_set_limit_rejected(
    hass: HomeAssistant, init_integration: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """A rejection by the gateway raises the translated error."""
    task = await started(mqtt_mock, set_limit(hass, 20))
    body = sent(mqtt_mock)[0][1]
    answer(hass, body, "rejected", command="prepayment_alarm_limit", reason="bad_signature")
    with pytest.raises(HomeAssistantError) as error:
        await task
    assert error.value.translation_key == "command_rejected"
    assert hass.states.get(LIMIT).state == "10.0"


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_set_limit_timeout(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
) -> None:
    """No result by expiry plus grace raises 'command_timeout'."""
    task = await started(mqtt_mock, set_limit(hass, 5))
    freezer.tick(timedelta(seconds=46))
    async_fire_time_changed(hass)
    with pytest.raises(HomeAssistantError) as error:
        await task
    assert error.value.translation_key == "command_timeout"
    assert hass.states.get(LIMIT).state == "10.0"


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_limit_not_offered(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    mock_config_entry: MockConfigEntry,
    payloads: Payloads,
    entity_registry: er.EntityRegistry,
) -> None:
    """No number while the gateway disallows the command; unavailable once the user drops it."""
    info = payloads["info"]
    without = deepcopy(info)
    without["capabilities"]["commands"].remove("prepayment_alarm_limit")
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    for topic, payload in {**payloads, "info": without}.items():
        publish(hass, SERIAL, topic, payload, retain=True)
    publish(hass, SERIAL, "power", payloads["power"])
    await hass.async_block_till_done()
    assert entity_registry.async_get(LIMIT) is None
    publish(hass, SERIAL, "info", info)  # live subscribers see no retain flag
    await hass.async_block_till_done()
    assert hass.states.get(LIMIT).state == "10.0"
    hass.config_entries.async_update_entry(
        mock_config_entry, options={CONF_STALE_AFTER: 300, CONF_COMMANDS: ["breaker"]}
    )
    await hass.async_block_till_done()
    assert hass.states.get(LIMIT).state == STATE_UNAVAILABLE
