"""Set-up, unload, availability (last will and staleness) and the log lines about it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)

from custom_components.omnipower.const import DOMAIN

from .conftest import BRIDGE, Payloads, publish

POWER = "sensor.omnipower_57061234_power_import"
ENERGY = "sensor.omnipower_57061234_energy_import"


async def test_setup_and_unload(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """The entry loads, shows the meter's values and unloads cleanly."""
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.states.get(POWER).state == "619"
    assert hass.states.get(ENERGY).state == "9621.983"
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.NOT_LOADED


async def test_retained_state_alone_is_not_live(
    hass: HomeAssistant, mqtt_mock: object, mock_config_entry: MockConfigEntry, payloads: Payloads
) -> None:
    """Retained payloads fill values, but only a fresh reading makes the meter available."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, BRIDGE, "online", retain=True)
    publish(hass, "57061234", "energy", payloads["energy"], retain=True)
    await hass.async_block_till_done()
    assert hass.states.get(ENERGY).state == STATE_UNAVAILABLE
    publish(hass, "57061234", "power", payloads["power"])
    await hass.async_block_till_done()
    assert hass.states.get(ENERGY).state == "9621.983"
    await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_gateway_offline_and_back(
    hass: HomeAssistant, init_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """The last will makes every reading unavailable; one log line when lost, one when back."""
    # Live messages reach existing subscribers with the retain flag cleared (MQTT 3.1.1 3.3.1.3).
    async_fire_mqtt_message(hass, BRIDGE, "offline")
    await hass.async_block_till_done()
    assert hass.states.get(POWER).state == STATE_UNAVAILABLE
    assert hass.states.get(ENERGY).state == STATE_UNAVAILABLE
    async_fire_mqtt_message(hass, BRIDGE, "offline")
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, BRIDGE, "online")
    await hass.async_block_till_done()
    assert hass.states.get(POWER).state == "619"
    lost = [r for r in caplog.records if "is unavailable" in r.getMessage()]
    back = [r for r in caplog.records if "available again" in r.getMessage()]
    assert len(lost) == 1
    assert "gateway is offline" in lost[0].getMessage()
    assert len(back) == 1


async def test_other_gateway_is_ignored(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Only the gateway that announced the meter decides its availability."""
    async_fire_mqtt_message(hass, "omnipower/bridge/other/state", "offline")
    await hass.async_block_till_done()
    assert hass.states.get(POWER).state == "619"


async def test_stale_data_is_unavailable(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,  # first: timers armed before freezing fire at once
    init_integration: MockConfigEntry,
    payloads: Payloads,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No reading within the staleness timeout makes the meter unavailable until the next."""
    freezer.tick(timedelta(seconds=299))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(POWER).state == "619"
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(POWER).state == STATE_UNAVAILABLE
    assert "no reading for 300 s" in caplog.text
    publish(hass, "57061234", "power", payloads["power"])
    await hass.async_block_till_done()
    assert hass.states.get(POWER).state == "619"


async def test_bad_payloads_are_ignored(
    hass: HomeAssistant, init_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Not JSON, not an object, a newer schema or an unknown topic change nothing."""
    publish(hass, "57061234", "power", "not json")
    publish(hass, "57061234", "power", "[1, 2]")
    publish(hass, "57061234", "power", {"schema": 2, "active_power_import_w": 5})
    publish(hass, "57061234", "power", {"schema": 2, "active_power_import_w": 6})
    publish(hass, "57061234", "whatever", {"schema": 1})
    await hass.async_block_till_done()
    assert hass.states.get(POWER).state == "619"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert sum("schema 2" in text for text in warnings) == 1
    assert "not a JSON object" in caplog.text


async def test_load_profile_without_recorder_is_ignored(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Without the recorder a load-profile batch is dropped quietly."""
    assert "recorder" not in hass.config.components
    batch = {"schema": 1, "intervals": [{"end": "2026-11-26T01:00:00+00:00", "status": 0}]}
    publish(hass, "57061234", "load_profile", batch)
    await hass.async_block_till_done()
    assert init_integration.runtime_data.available


async def test_meter_device_is_connected_via_its_gateway(
    hass: HomeAssistant, init_integration: MockConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    """One device per meter (serial, model), reached through the gateway's device; the push
    list's version is not shown as hardware, and the default gateway id is not repeated."""
    devices = dr.async_entries_for_config_entry(device_registry, init_integration.entry_id)
    by_identifier = {identifier: d for d in devices for identifier in d.identifiers}
    meter = by_identifier[(DOMAIN, "57061234")]
    gateway = by_identifier[(DOMAIN, "gateway_omnipower")]
    assert meter.via_device_id == gateway.id
    assert (meter.manufacturer, meter.model, meter.model_id) == (
        "Kamstrup",
        "OMNIPOWER",
        "6841138BN245101090",
    )
    assert meter.serial_number == "57061234"
    assert meter.hw_version is None  # issue 12: it was the push list's version
    assert gateway.name == "omnipower gateway"
    assert gateway.sw_version == "0.1.0"
