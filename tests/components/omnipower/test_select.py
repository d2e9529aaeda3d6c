"""The tariff select: auto or a forced tariff, sent as ``tariff``, shown from the read-back."""

from __future__ import annotations

import asyncio
import json
from copy import deepcopy
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.components.select import DOMAIN as SELECT_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import MqttMockHAClient
from syrupy.assertion import SnapshotAssertion

from ccc_gateway.commands.arguments import validate_arguments
from ccc_gateway.commands.envelope import parse_envelope

from .commands import SERIAL, answer, sent, snapshot_entities, started
from .conftest import METERS, Payloads, publish

TARIFF = f"select.omnipower_{SERIAL}_tariff"


@pytest.fixture
def platforms() -> list[Platform]:
    """Only selects."""
    return [Platform.SELECT]


def select(hass: HomeAssistant, option: str) -> Any:
    return hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: TARIFF, ATTR_OPTION: option},
        blocking=True,
    )


def tariff(active: int, source: str) -> dict[str, Any]:
    return {
        "ts": "2026-11-26T12:00:00+01:00",
        "schema": 1,
        "active_tariff": active,
        "source": source,
    }


@pytest.mark.parametrize("meter_fixture", METERS)
async def test_selects(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """Only the meter whose gateway allows ``tariff`` has the select, set to its read-back."""
    snapshot_entities(hass, entity_registry, snapshot, init_integration.entry_id)


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
@pytest.mark.parametrize(
    ("option", "args", "read_back"),
    [
        ("force_3", {"mode": "force", "tariff": 3}, tariff(3, "forced")),
        ("auto", {"mode": "auto"}, tariff(1, "calendar")),
    ],
)
async def test_select_sends_tariff_and_shows_read_back(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    option: str,
    args: dict[str, Any],
    read_back: dict[str, Any],
) -> None:
    """Choosing an option sends arguments the gateway accepts; the state is the read-back."""
    publish(hass, SERIAL, "tariff", tariff(4, "forced"))
    await hass.async_block_till_done()
    assert hass.states.get(TARIFF).state == "force_4"
    task = await started(mqtt_mock, select(hass, option))
    [(topic, body, qos, retain)] = sent(mqtt_mock)
    assert (topic, qos, retain) == (f"omnipower/{SERIAL}/cmd/tariff", 1, False)
    assert body["args"] == args
    envelope = parse_envelope(topic, json.dumps(body).encode())  # the gateway's own checks
    assert validate_arguments("tariff", envelope.args) == args
    answer(hass, body, "accepted", command="tariff")
    for _ in range(10):
        await asyncio.sleep(0)
    assert not task.done()
    assert hass.states.get(TARIFF).state == "force_4"
    answer(hass, body, "done", command="tariff", state=read_back)
    await task
    assert hass.states.get(TARIFF).state == option


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_select_rejected_keeps_state(
    hass: HomeAssistant, init_integration: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """A rejection raises the translated error and the option stays the meter's."""
    task = await started(mqtt_mock, select(hass, "force_1"))
    body = sent(mqtt_mock)[0][1]
    answer(hass, body, "rejected", command="tariff", reason="busy", text="another command runs")
    with pytest.raises(HomeAssistantError) as error:
        await task
    assert error.value.translation_key == "command_rejected"
    assert str(error.value) == "The gateway rejected tariff: busy. another command runs"
    assert hass.states.get(TARIFF).state == "auto"


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_select_timeout(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
) -> None:
    """No result by expiry plus grace raises 'command_timeout'; the option stays."""
    task = await started(mqtt_mock, select(hass, "force_2"))
    freezer.tick(timedelta(seconds=46))
    async_fire_time_changed(hass)
    with pytest.raises(HomeAssistantError) as error:
        await task
    assert error.value.translation_key == "command_timeout"
    assert hass.states.get(TARIFF).state == "auto"


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_select_state_outside_options(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A tariff the command cannot force (5–8) or an unknown source is not an option."""
    publish(hass, SERIAL, "tariff", tariff(6, "forced"))
    await hass.async_block_till_done()
    assert hass.states.get(TARIFF).state == STATE_UNAVAILABLE
    publish(hass, SERIAL, "tariff", tariff(2, "input"))
    await hass.async_block_till_done()
    assert hass.states.get(TARIFF).state == "auto"


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_select_not_offered_when_gateway_disallows(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    mock_config_entry: MockConfigEntry,
    payloads: Payloads,
    entity_registry: er.EntityRegistry,
) -> None:
    """Without ``tariff`` in the gateway's commands there is no select; it appears when allowed."""
    info = payloads["info"]
    without = deepcopy(info)
    without["capabilities"]["commands"].remove("tariff")
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    for topic, payload in {**payloads, "info": without}.items():
        publish(hass, SERIAL, topic, payload, retain=True)
    publish(hass, SERIAL, "power", payloads["power"])
    await hass.async_block_till_done()
    assert hass.states.get(TARIFF) is None
    assert entity_registry.async_get(TARIFF) is None
    # A live subscriber gets the gateway's new retained info without the retain flag.
    publish(hass, SERIAL, "info", info)
    await hass.async_block_till_done()
    assert hass.states.get(TARIFF).state == "auto"
    publish(hass, SERIAL, "info", without)
    await hass.async_block_till_done()
    assert hass.states.get(TARIFF).state == STATE_UNAVAILABLE
