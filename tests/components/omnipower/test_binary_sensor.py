"""Binary sensors: tamper, power failure, low credit, breaker fault, gateway connectivity."""

from __future__ import annotations

import pytest
from homeassistant.const import STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from .conftest import BRIDGE, METERS, Payloads, publish


@pytest.fixture
def platforms() -> list[Platform]:
    """Only binary sensors."""
    return [Platform.BINARY_SENSOR]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("meter_fixture", METERS)
async def test_binary_sensors(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """Each meter has the gateway's connectivity; the optical one also its status flags."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_tamper_and_low_credit_follow_the_meter(
    hass: HomeAssistant, init_integration: MockConfigEntry, payloads: Payloads
) -> None:
    """A status or prepayment change shows at once."""
    cover = "binary_sensor.omnipower_31415926_cover_open"
    low = "binary_sensor.omnipower_31415926_low_credit"
    assert hass.states.get(cover).state == STATE_OFF
    publish(hass, "31415926", "status", {**payloads["status"], "cover_open": True})
    publish(
        hass,
        "31415926",
        "prepayment",
        {**payloads["prepayment"], "credit_kwh": 4.0, "low_credit": True},
    )
    await hass.async_block_till_done()
    assert hass.states.get(cover).state == STATE_ON
    assert hass.states.get(low).state == STATE_ON


async def test_gateway_connectivity_stays_available(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The gateway sensor shows 'off' while the gateway is offline instead of vanishing."""
    gateway = "binary_sensor.omnipower_57061234_gateway"
    assert hass.states.get(gateway).state == STATE_ON
    async_fire_mqtt_message(hass, BRIDGE, "offline")
    await hass.async_block_till_done()
    assert hass.states.get(gateway).state == STATE_OFF
