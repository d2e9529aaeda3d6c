"""The gateway's MQTT discovery in Home Assistant's own MQTT integration, without this
integration (issue 12): the device payload the gateway builds becomes entities whose states
follow the recorded payloads, and every discovered control publishes an envelope the gateway's
own parser and argument check accept.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from ccc_gateway.commands.arguments import validate_arguments
from ccc_gateway.commands.envelope import parse_envelope
from ccc_gateway.mqtt.discovery import DiscoveryMeter, discovery_message
from ccc_gateway.mqtt.topics import Topics

from .conftest import BRIDGE, Payloads, load_payloads

SERIAL = "31415926"
ALL_COMMANDS = frozenset(
    {
        "breaker",
        "relay",
        "tariff",
        "prepayment_alarm_limit",
        "clock_sync",
        "refresh",
        "read_load_profile",
    }
)


def meter(commands: frozenset[str], *, signed: bool = False) -> DiscoveryMeter:
    return DiscoveryMeter(
        meter_id=SERIAL,
        meter_type="6841138BN245103090",
        gateway_version="0.1.0",
        commands=commands,
        signed=signed,
        events=True,
    )


async def announce(hass: HomeAssistant, payloads: Payloads, discovered: DiscoveryMeter) -> None:
    topics = Topics("omnipower", "omnipower")
    state = {name: p for name, p in payloads.items() if name != "info"}
    message = discovery_message(
        topics=topics, prefix="homeassistant", meter=discovered, payloads=state
    )
    async_fire_mqtt_message(hass, message.topic, message.payload)
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, BRIDGE, "online")
    for name, payload in state.items():
        async_fire_mqtt_message(hass, f"omnipower/{SERIAL}/{name}", json.dumps(payload))
    await hass.async_block_till_done()


def value(hass: HomeAssistant, entity_id: str) -> str:
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


async def test_entities_follow_the_payloads(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, entity_registry: er.EntityRegistry
) -> None:
    """Power, energy, quality, tariff, breaker, relays, prepayment, status, clock and
    diagnostics appear with the payloads' values; availability follows the bridge."""
    payloads = load_payloads("prepayment_breaker")
    await announce(hass, payloads, meter(ALL_COMMANDS))
    prefix = f"omnipower_{SERIAL}"
    power, energy = payloads["power"], payloads["energy"]
    assert float(value(hass, f"sensor.{prefix}_active_power_import_w")) == float(
        power["active_power_import_w"]
    )
    assert float(value(hass, f"sensor.{prefix}_active_energy_import_kwh")) == float(
        energy["active_energy_import_kwh"]
    )
    assert value(hass, f"sensor.{prefix}_tariff_source") == payloads["tariff"]["source"]
    assert value(hass, f"sensor.{prefix}_breaker_state") == payloads["breaker"]["state"]
    assert float(value(hass, f"sensor.{prefix}_prepayment_credit_kwh")) == float(
        payloads["prepayment"]["credit_kwh"]
    )
    relays = payloads["relays"]
    assert value(hass, f"binary_sensor.{prefix}_relays_relay_1_on") == (
        "on" if relays["relay_1_on"] else "off"
    )
    assert value(hass, f"binary_sensor.{prefix}_status_cover_open") == "off"
    quality_key = next(k for k in payloads["quality"] if k.endswith("_pct"))
    assert float(value(hass, f"sensor.{prefix}_quality_{quality_key}")) == float(
        payloads["quality"][quality_key]
    )
    assert float(value(hass, f"sensor.{prefix}_clock_drift_s")) == float(
        payloads["clock"]["drift_s"]
    )
    last_error = payloads["diagnostics"]["last_error"]
    assert value(hass, f"sensor.{prefix}_diagnostics_last_error") == (
        last_error["code"] if last_error else "none"
    )
    diagnostic = entity_registry.async_get(f"sensor.{prefix}_diagnostics_frames_ok")
    assert diagnostic is not None
    assert diagnostic.entity_category == "diagnostic"
    assert hass.states.get(f"event.{prefix}_events") is not None
    # Power controls are selects: nothing in a domain the dashboard toggles together.
    domains = {entry.domain for entry in entity_registry.entities.values()}
    assert domains & {"switch", "light", "fan", "input_boolean", "valve"} == set()
    assert value(hass, f"select.{prefix}_breaker") == "connected"
    async_fire_mqtt_message(hass, BRIDGE, "offline")
    await hass.async_block_till_done()
    assert value(hass, f"sensor.{prefix}_active_power_import_w") == STATE_UNAVAILABLE


@pytest.mark.parametrize(
    ("domain", "object_key", "data", "command", "args"),
    [
        ("select", "breaker", {"option": "disconnected"}, "breaker", {"action": "disconnect"}),
        ("select", "breaker", {"option": "connected"}, "breaker", {"action": "reconnect"}),
        (
            "select",
            "breaker",
            {"option": "ready_for_reconnection"},
            "breaker",
            {"action": "release"},
        ),
        ("select", "relay_2", {"option": "on"}, "relay", {"relay": 2, "on": True}),
        ("select", "tariff", {"option": "force_3"}, "tariff", {"mode": "force", "tariff": 3}),
        ("select", "tariff", {"option": "auto"}, "tariff", {"mode": "auto"}),
        (
            "number",
            "prepayment_alarm_limit",
            {"value": 12},
            "prepayment_alarm_limit",
            {"energy_kwh": 12},
        ),
        ("button", "clock_sync", {}, "clock_sync", {}),
        ("button", "refresh", {}, "refresh", {}),
        ("button", "read_load_profile", {}, "read_load_profile", None),
    ],
)
async def test_controls_publish_the_envelope(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    domain: str,
    object_key: str,
    data: dict[str, Any],
    command: str,
    args: dict[str, Any] | None,
) -> None:
    """Each control sends a fresh, unretained envelope the gateway parses and accepts."""
    await announce(hass, load_payloads("prepayment_breaker"), meter(ALL_COMMANDS))
    service = {"select": "select_option", "number": "set_value", "button": "press"}[domain]
    entity_id = f"{domain}.omnipower_{SERIAL}_{object_key}"
    sent: list[tuple[str, bytes]] = []
    for _ in range(2):
        mqtt_mock.async_publish.reset_mock()
        await hass.services.async_call(
            domain, service, {"entity_id": entity_id, **data}, blocking=True
        )
        [call] = mqtt_mock.async_publish.call_args_list
        topic, payload, qos, retain = call.args
        assert (topic, qos, retain) == (f"omnipower/{SERIAL}/cmd/{command}", 1, False)
        sent.append((topic, payload.encode() if isinstance(payload, str) else payload))
    envelopes = [parse_envelope(topic, payload) for topic, payload in sent]
    assert envelopes[0].id != envelopes[1].id  # every use is a new command
    envelope = envelopes[0]
    assert envelope.name == command
    checked = validate_arguments(command, envelope.args)
    if args is not None:
        assert checked == args
    else:
        assert set(checked) == {"from"}


@pytest.mark.parametrize(
    ("commands", "signed"),
    [(frozenset({"clock_sync"}), False), (ALL_COMMANDS, True)],
    ids=["breaker-not-enabled", "signed-meter"],
)
async def test_no_control_without_the_command(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    entity_registry: er.EntityRegistry,
    commands: frozenset[str],
    signed: bool,
) -> None:
    """A command the gateway does not enable gets no control, and a meter whose commands
    must be signed gets none at all (a template cannot compute the HMAC)."""
    await announce(hass, load_payloads("prepayment_breaker"), meter(commands, signed=signed))
    controls = {
        entry.entity_id
        for entry in entity_registry.entities.values()
        if entry.domain in ("select", "number", "button", "switch")
    }
    expected = set() if signed else {f"button.omnipower_{SERIAL}_clock_sync"}
    assert controls == expected
    assert hass.states.get(f"sensor.omnipower_{SERIAL}_breaker_state") is not None
