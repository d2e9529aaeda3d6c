"""Breaker and load relays: selects that round-trip through cmd/<name> and cmd/result, show
only the read-back, and cannot be switched together with anything else (issue 12)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.components.select import DOMAIN as SELECT_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TOGGLE,
    SERVICE_TURN_OFF,
    STATE_UNAVAILABLE,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient
from syrupy.assertion import SnapshotAssertion

from ccc_gateway.commands.envelope import parse_envelope, verify
from custom_components.omnipower import PLATFORMS
from custom_components.omnipower.const import CONF_COMMANDS, CONF_SECRET, CONF_STALE_AFTER

from .commands import SERIAL, answer, commands_sent, sent, started
from .conftest import publish

BREAKER = f"select.omnipower_{SERIAL}_breaker"
RELAY_1 = f"select.omnipower_{SERIAL}_load_relay_1"
RELAY_2 = f"select.omnipower_{SERIAL}_load_relay_2"
STATE_ON, STATE_OFF = "on", "off"  # the relays' options
CONNECTED, DISCONNECTED = "connected", "disconnected"  # the breaker's
#: The frontend's DOMAINS_TOGGLE (src/common/const.ts): the entities card's header toggle
#: switches every entity of these domains together, and so does a tap on such a row.
DOMAINS_TOGGLE = frozenset(
    {"fan", "input_boolean", "light", "switch", "group", "automation", "humidifier", "valve"}
)

pytestmark = pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])


@pytest.fixture
def platforms() -> list[Platform]:
    """Only selects."""
    return [Platform.SELECT]


async def turn(hass: HomeAssistant, option: str, entity_id: str) -> Awaitable[Any]:
    return hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: entity_id, ATTR_OPTION: option},
        blocking=True,
    )


async def test_power_controls(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """The breaker and both relays, with the meter's read-back state."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)
    assert hass.states.get(BREAKER).state == CONNECTED


@pytest.mark.parametrize("platforms", [list(PLATFORMS)])
async def test_nothing_switches_power_together(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    init_integration: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
) -> None:
    """How it is guaranteed that no dashboard toggle cuts the house: the meter has no entity
    in a domain the frontend toggles together (its header toggle and row taps use
    DOMAINS_TOGGLE), and turning off or toggling every entity of the meter at once (what
    ``homeassistant.turn_off`` on the device or an area does) sends no command."""
    entities = er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
    assert {entry.domain for entry in entities} & DOMAINS_TOGGLE == set()
    assert {BREAKER, RELAY_1, RELAY_2} <= {entry.entity_id for entry in entities}
    everything = [entry.entity_id for entry in entities]
    assert await async_setup_component(hass, "homeassistant", {})
    for service in (SERVICE_TURN_OFF, SERVICE_TOGGLE):
        await hass.services.async_call(
            "homeassistant", service, {ATTR_ENTITY_ID: everything}, blocking=True
        )
    await hass.async_block_till_done()
    assert sent(mqtt_mock) == []
    assert hass.states.get(BREAKER).state == CONNECTED


async def test_old_switches_are_removed(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    mqtt_mock: MqttMockHAClient,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A breaker switch registered by an older version is dropped at set-up."""
    mock_config_entry.add_to_hass(hass)
    old = entity_registry.async_get_or_create(
        "switch", "omnipower", f"{SERIAL}_breaker", config_entry=mock_config_entry
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert entity_registry.async_get(old.entity_id) is None


async def test_breaker_off_waits_for_done(
    hass: HomeAssistant, init_integration: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """Turning off sends a fresh, unsigned, non-retained command and shows the read-back."""
    task = await started(mqtt_mock, await turn(hass, DISCONNECTED, BREAKER))
    [(topic, body, qos, retain)] = sent(mqtt_mock)
    assert (topic, qos, retain) == (f"omnipower/{SERIAL}/cmd/breaker", 1, False)
    assert body["args"] == {"action": "disconnect"}
    assert "sig" not in body
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(seconds=25) < expires - dt_util.now() <= timedelta(seconds=30)
    envelope = parse_envelope(topic, json.dumps(body).encode())  # the gateway's own parser
    assert envelope.id == body["id"]
    answer(hass, body, "accepted")
    for _ in range(10):
        await asyncio.sleep(0)
    assert not task.done()
    assert hass.states.get(BREAKER).state == CONNECTED
    answer(hass, body, "done", state={"state": "disconnected", "coupling_state": 1})
    await task
    assert hass.states.get(BREAKER).state == DISCONNECTED


@pytest.mark.parametrize(
    ("state", "actions"),
    [("disconnected", ["release", "reconnect"]), ("ready_for_reconnection", ["reconnect"])],
)
async def test_breaker_on_releases_then_reconnects(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    state: str,
    actions: list[str],
) -> None:
    """From 'disconnected' the breaker is released first; each step waits for done."""
    publish(
        hass,
        SERIAL,
        "breaker",
        {"schema": 1, "ts": "2026-11-26T12:00:00+01:00", "state": state, "coupling_state": 1},
    )
    await hass.async_block_till_done()
    assert hass.states.get(BREAKER).state == DISCONNECTED
    task = await started(mqtt_mock, await turn(hass, CONNECTED, BREAKER))
    for index, action in enumerate(actions):
        await commands_sent(mqtt_mock, index + 1)
        body = sent(mqtt_mock)[index][1]
        assert body["args"] == {"action": action}
        done_state = "connected" if action == "reconnect" else "ready_for_reconnection"
        answer(hass, body, "done", state={"state": done_state})
    await task
    assert len(sent(mqtt_mock)) == len(actions)
    assert hass.states.get(BREAKER).state == CONNECTED


@pytest.mark.parametrize(
    ("status", "reason", "message"),
    [
        ("rejected", "not_allowed", "The gateway rejected breaker: not_allowed."),
        ("expired", "expired", "The command breaker expired before the gateway could run it"),
        ("failed", "readback_mismatch", "The meter did not carry out breaker: readback_mismatch."),
    ],
)
async def test_command_refused_raises_translated_error(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    status: str,
    reason: str,
    message: str,
) -> None:
    """A rejection, expiry or failure raises a translated error; the state stays."""
    task = await started(mqtt_mock, await turn(hass, DISCONNECTED, BREAKER))
    body = sent(mqtt_mock)[0][1]
    publish(hass, SERIAL, "cmd/result", {"schema": 1, "id": "someone-else", "status": "done"})
    answer(hass, body, status, reason=reason)
    with pytest.raises(HomeAssistantError) as error:
        await task
    assert error.value.translation_key == f"command_{status}"
    assert str(error.value).startswith(message)
    assert hass.states.get(BREAKER).state == CONNECTED


async def test_command_timeout(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
) -> None:
    """No result by expiry plus the read-back grace raises 'command_timeout'."""
    task = await started(mqtt_mock, await turn(hass, DISCONNECTED, BREAKER))
    freezer.tick(timedelta(seconds=46))
    async_fire_time_changed(hass)
    with pytest.raises(HomeAssistantError) as error:
        await task
    assert error.value.translation_key == "command_timeout"
    body = sent(mqtt_mock)[0][1]
    answer(hass, body, "done")  # too late: nobody waits any more
    await hass.async_block_till_done()


async def test_relay_command_is_signed_when_configured(
    hass: HomeAssistant, init_integration: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """With a secret, the gateway's own verifier accepts the signature."""
    hass.config_entries.async_update_entry(
        init_integration,
        options={**init_integration.options, CONF_SECRET: "s3cret"},
    )
    await hass.async_block_till_done()
    task = await started(mqtt_mock, await turn(hass, STATE_ON, RELAY_1))
    [(topic, body, _, _)] = sent(mqtt_mock)
    assert topic == f"omnipower/{SERIAL}/cmd/relay"
    assert body["args"] == {"relay": 1, "on": True}
    envelope = parse_envelope(topic, json.dumps(body).encode())
    assert verify(envelope, b"s3cret")
    assert not verify(envelope, b"other")
    answer(hass, body, "done", state={"relay_1_on": True})
    await task
    assert hass.states.get(RELAY_1).state == STATE_ON
    task = await started(mqtt_mock, await turn(hass, STATE_OFF, RELAY_2), 2)
    body = sent(mqtt_mock)[1][1]
    assert body["args"] == {"relay": 2, "on": False}
    answer(hass, body, "done", state={"relay_2_on": False})
    await task
    assert hass.states.get(RELAY_2).state == STATE_OFF


async def test_command_no_longer_offered(
    hass: HomeAssistant, init_integration: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """Dropping a command from the options makes its control unavailable and unusable."""
    hass.config_entries.async_update_entry(
        init_integration,
        options={CONF_STALE_AFTER: 300, CONF_COMMANDS: ["relay"]},
    )
    await hass.async_block_till_done()
    assert hass.states.get(BREAKER).state == STATE_UNAVAILABLE
    with pytest.raises(HomeAssistantError) as error:
        await init_integration.runtime_data.async_send_command("breaker", {"action": "disconnect"})
    assert error.value.translation_key == "command_not_offered"
    assert sent(mqtt_mock) == []
