"""Config flow: discovery, manual set-up with its probe, every error, reconfigure, options."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import SOURCE_MQTT, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult, FlowResultType
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.omnipower.const import (
    CONF_BASE_TOPIC,
    CONF_COMMANDS,
    CONF_INFO,
    CONF_SECRET,
    CONF_SERIAL,
    CONF_STALE_AFTER,
    DEFAULT_COMMANDS,
    DOMAIN,
)

from .conftest import Payloads

SERIAL = "57061234"


def discovery(topic: str, payload: str) -> MqttServiceInfo:
    """What Home Assistant hands the flow for a message on a manifest topic."""
    return MqttServiceInfo(
        topic=topic,
        payload=payload,
        qos=1,
        retain=True,
        subscribed_topic="omnipower/+/info",
        timestamp=0,
    )


async def answered(
    hass: HomeAssistant, step: Awaitable[FlowResult], topic: str, payload: str
) -> FlowResult:
    """Run a flow step that probes, delivering *payload* on *topic* while it waits."""
    task = asyncio.ensure_future(step)
    await hass.async_block_till_done()
    assert not task.done()
    async_fire_mqtt_message(hass, topic, payload, retain=True)
    return await task


@pytest.mark.usefixtures("mqtt_mock")
async def test_discovery_creates_entry(hass: HomeAssistant, payloads: Payloads) -> None:
    """A gateway's info offers the meter; confirming creates one entry per meter."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_MQTT},
        data=discovery(f"omnipower/{SERIAL}/info", json.dumps(payloads["info"])),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "discovery_confirm"
    assert result["description_placeholders"] == {
        "serial": SERIAL,
        "meter_type": "6841138BN245101090",
        "gateway": "omnipower",
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"OMNIPOWER {SERIAL}"
    assert result["data"] == {
        CONF_BASE_TOPIC: "omnipower",
        CONF_SERIAL: SERIAL,
        CONF_INFO: payloads["info"],
    }
    assert result["options"][CONF_COMMANDS] == list(DEFAULT_COMMANDS)
    assert result["result"].unique_id == SERIAL


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("omnipower/57061234/info", "not json"),
        ("omnipower/57061234/info", '{"schema": 1, "serial": "99999999", "gateway": {"id": "g"}}'),
        ("omnipower/57061234/info", '{"schema": 2, "serial": "57061234", "gateway": {"id": "g"}}'),
        ("omnipower/57061234/info", '{"schema": 1, "serial": "57061234", "gateway": "g"}'),
        ("omnipower/57061234/info", '{"schema": 1, "serial": "57061234", "gateway": {"id": 1}}'),
        ("omnipower/57061234/power", '{"schema": 1}'),
        ("info", '{"schema": 1}'),
    ],
    ids=["not_json", "other_serial", "newer_schema", "no_gateway", "gateway_id", "topic", "short"],
)
@pytest.mark.usefixtures("mqtt_mock")
async def test_discovery_rejects_invalid_info(
    hass: HomeAssistant, topic: str, payload: str
) -> None:
    """Anything but a contract info for the topic's serial is not offered."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery(topic, payload)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_discovery_info"


@pytest.mark.usefixtures("mqtt_mock")
async def test_discovery_of_configured_meter_aborts(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, payloads: Payloads
) -> None:
    """A meter already set up is not offered again."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_MQTT},
        data=discovery(f"omnipower/{SERIAL}/info", json.dumps(payloads["info"])),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.usefixtures("mqtt_mock")
async def test_user_flow_probes_for_the_meter(hass: HomeAssistant, payloads: Payloads) -> None:
    """Manual set-up waits for the meter's info and then creates the entry."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    result = await answered(
        hass,
        hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_BASE_TOPIC: " site/omnipower/ ", CONF_SERIAL: SERIAL}
        ),
        f"site/omnipower/{SERIAL}/info",
        json.dumps(payloads["info"]),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_BASE_TOPIC] == "site/omnipower"
    assert result["data"][CONF_SERIAL] == SERIAL


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({CONF_BASE_TOPIC: "omni/+/x", CONF_SERIAL: SERIAL}, {CONF_BASE_TOPIC: "invalid_topic"}),
        ({CONF_BASE_TOPIC: "a//b", CONF_SERIAL: SERIAL}, {CONF_BASE_TOPIC: "invalid_topic"}),
        ({CONF_BASE_TOPIC: "omnipower", CONF_SERIAL: "57/1"}, {CONF_SERIAL: "invalid_serial"}),
        ({CONF_BASE_TOPIC: "omnipower", CONF_SERIAL: ""}, {CONF_SERIAL: "invalid_serial"}),
    ],
    ids=["wildcard", "empty_level", "slash_in_serial", "empty_serial"],
)
@pytest.mark.usefixtures("mqtt_mock")
async def test_user_flow_validates_input(
    hass: HomeAssistant, user_input: dict[str, Any], errors: dict[str, str]
) -> None:
    """A malformed topic or serial is named on its field, without probing."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors


@pytest.mark.usefixtures("mqtt_mock")
async def test_user_flow_no_answer_then_recovers(hass: HomeAssistant, payloads: Payloads) -> None:
    """Nothing on the info topic is 'no_answer'; the user can retry once the gateway runs."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    user_input = {CONF_BASE_TOPIC: "omnipower", CONF_SERIAL: SERIAL}
    with patch("custom_components.omnipower.const.PROBE_TIMEOUT", 0):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "no_answer"}
    result = await answered(
        hass,
        hass.config_entries.flow.async_configure(result["flow_id"], user_input),
        f"omnipower/{SERIAL}/info",
        json.dumps(payloads["info"]),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mqtt_mock")
async def test_user_flow_invalid_info(hass: HomeAssistant) -> None:
    """Something that is not this meter's info is 'invalid_info'."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await answered(
        hass,
        hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_BASE_TOPIC: "omnipower", CONF_SERIAL: SERIAL}
        ),
        f"omnipower/{SERIAL}/info",
        "hello",
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_info"}


@pytest.mark.usefixtures("mqtt_mock")
async def test_user_flow_mqtt_gone_during_probe(hass: HomeAssistant) -> None:
    """MQTT disappearing between the form and the probe is named as such."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    with patch(
        "custom_components.omnipower.config_flow.mqtt.async_wait_for_mqtt_client",
        side_effect=[True, False],
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_BASE_TOPIC: "omnipower", CONF_SERIAL: SERIAL}
        )
    assert result["errors"] == {"base": "mqtt_unavailable"}


async def test_user_flow_without_mqtt(hass: HomeAssistant) -> None:
    """Without the MQTT integration there is nothing to set up."""
    with patch(
        "custom_components.omnipower.config_flow.mqtt.async_wait_for_mqtt_client",
        return_value=False,
    ):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_configured"


@pytest.mark.usefixtures("mqtt_mock")
async def test_user_flow_meter_already_configured(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """A serial already set up aborts before probing."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BASE_TOPIC: "omnipower", CONF_SERIAL: SERIAL}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_moves_base_topic(
    hass: HomeAssistant, init_integration: MockConfigEntry, payloads: Payloads
) -> None:
    """Reconfigure probes the new base topic, updates the entry and reloads it."""
    result = await init_integration.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BASE_TOPIC: "bad/#"}
    )
    assert result["errors"] == {CONF_BASE_TOPIC: "invalid_topic"}
    with patch("custom_components.omnipower.const.PROBE_TIMEOUT", 0):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_BASE_TOPIC: "elsewhere"}
        )
    assert result["errors"] == {"base": "no_answer"}
    result = await answered(
        hass,
        hass.config_entries.flow.async_configure(result["flow_id"], {CONF_BASE_TOPIC: "elsewhere"}),
        f"elsewhere/{SERIAL}/info",
        json.dumps(payloads["info"]),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert init_integration.data[CONF_BASE_TOPIC] == "elsewhere"
    await hass.async_block_till_done()
    assert init_integration.runtime_data.base_topic == "elsewhere"


async def test_options_flow(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Options set staleness, commands and the secret; an empty secret removes it."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_STALE_AFTER: 120.0, CONF_COMMANDS: ["breaker"], CONF_SECRET: " s3cret "},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options == {
        CONF_STALE_AFTER: 120,
        CONF_COMMANDS: ["breaker"],
        CONF_SECRET: "s3cret",
    }
    await hass.async_block_till_done()
    assert init_integration.runtime_data.stale_after == 120
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_STALE_AFTER: 300, CONF_COMMANDS: [], CONF_SECRET: ""}
    )
    assert CONF_SECRET not in init_integration.options


async def test_discovery_under_new_base_topic_moves_the_entry(
    hass: HomeAssistant, init_integration: MockConfigEntry, payloads: Payloads
) -> None:
    """A configured meter announced under another base topic follows it there."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_MQTT},
        data=discovery(f"house/omnipower/{SERIAL}/info", json.dumps(payloads["info"])),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert init_integration.data[CONF_BASE_TOPIC] == "house/omnipower"
    await hass.async_block_till_done()
    assert init_integration.runtime_data.base_topic == "house/omnipower"
