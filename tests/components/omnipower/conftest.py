"""Fixtures: three recorded meter variants, published as the gateway would."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.omnipower import PLATFORMS
from custom_components.omnipower.const import (
    COMMANDS,
    CONF_BASE_TOPIC,
    CONF_COMMANDS,
    CONF_INFO,
    CONF_SERIAL,
    CONF_STALE_AFTER,
    DOMAIN,
)

FIXTURES = Path(__file__).parent / "fixtures"
METERS = sorted(path.name for path in FIXTURES.iterdir() if path.is_dir())
BRIDGE = "omnipower/bridge/omnipower/state"

type Payloads = dict[str, dict[str, Any]]


def load_payloads(meter: str) -> Payloads:
    """The payload per topic of one recorded meter."""
    return {
        path.stem: json.loads(path.read_text())
        for path in sorted((FIXTURES / meter).glob("*.json"))
    }


def publish(
    hass: HomeAssistant, serial: str, topic: str, payload: Any, *, retain: bool = False
) -> None:
    """Deliver one message as the broker would."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    async_fire_mqtt_message(hass, f"omnipower/{serial}/{topic}", text, retain=retain)


@pytest.fixture
def expected_lingering_timers() -> bool:
    """The MQTT integration's periodic timer outlives each test (TOOLCHAIN.md)."""
    return True


@pytest.fixture
def meter_fixture() -> str:
    """The default meter; tests override it with parametrize."""
    return "no_1ph_list2"


@pytest.fixture
def payloads(meter_fixture: str) -> Payloads:
    """The recorded payloads of the meter."""
    return load_payloads(meter_fixture)


@pytest.fixture
def serial(payloads: Payloads) -> str:
    """The meter's serial number."""
    return str(payloads["info"]["serial"])


@pytest.fixture
def mock_config_entry(payloads: Payloads) -> MockConfigEntry:
    """A configured meter with every command the integration knows enabled."""
    info = payloads["info"]
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"OMNIPOWER {info['serial']}",
        unique_id=info["serial"],
        data={CONF_BASE_TOPIC: "omnipower", CONF_SERIAL: info["serial"], CONF_INFO: info},
        options={CONF_STALE_AFTER: 300, CONF_COMMANDS: list(COMMANDS)},
    )


@pytest.fixture
def platforms() -> list[Platform]:
    """Every platform; snapshot tests narrow it to one."""
    return list(PLATFORMS)


@pytest.fixture
async def init_integration(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    mock_config_entry: MockConfigEntry,
    payloads: Payloads,
    platforms: list[Platform],
) -> AsyncGenerator[MockConfigEntry]:
    """The meter set up, the gateway online and every recorded payload delivered once."""
    mock_config_entry.add_to_hass(hass)
    with patch("custom_components.omnipower.PLATFORMS", platforms):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    serial = payloads["info"]["serial"]
    async_fire_mqtt_message(hass, BRIDGE, "online", retain=True)
    for topic, payload in payloads.items():
        publish(hass, serial, topic, payload, retain=topic != "power")
    # Retained state alone does not prove a live meter: a fresh push does.
    publish(hass, serial, "power", payloads["power"])
    await hass.async_block_till_done()
    yield mock_config_entry
    if hass.config_entries.async_get_entry(mock_config_entry.entry_id) is not None:
        with patch("custom_components.omnipower.PLATFORMS", platforms):
            await hass.config_entries.async_unload(mock_config_entry.entry_id)
            await hass.async_block_till_done()
