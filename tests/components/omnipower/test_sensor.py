"""Sensors: every recorded meter's entities, and energy that never fakes a meter reset."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from .conftest import METERS, Payloads, publish

ENERGY = "sensor.omnipower_57061234_energy_import"


@pytest.fixture
def platforms() -> list[Platform]:
    """Only sensors."""
    return [Platform.SENSOR]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("meter_fixture", METERS)
async def test_sensors(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """Each recorded meter yields exactly these sensors, states and registry entries."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


@pytest.mark.parametrize("meter_fixture", METERS)
async def test_noisy_sensors_disabled_by_default(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, init_integration: MockConfigEntry
) -> None:
    """Per-kind error counters and the frame counter start disabled; the total does not."""
    entries = er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
    by_key = {entry.unique_id.split("_", 1)[1]: entry for entry in entries}
    assert by_key["frames_ok"].disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert by_key["errors_fcs_error"].disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert by_key["errors_total"].disabled_by is None
    assert by_key["active_energy_import_kwh"].disabled_by is None


@pytest.mark.parametrize(
    ("published", "shown"),
    [
        (9622.5, "9622.5"),
        (9621.983, "9621.983"),
        (9000.0, "9621.983"),
        (0, "9621.983"),
        (None, "9621.983"),
    ],
    ids=["rise", "same", "drop", "zero", "missing"],
)
async def test_energy_never_drops(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    payloads: Payloads,
    published: float | None,
    shown: str,
) -> None:
    """A drop, a 0 or a missing key keep the last good reading: never a false reset."""
    energy: dict[str, Any] = dict(payloads["energy"])
    if published is None:
        del energy["active_energy_import_kwh"]
    else:
        energy["active_energy_import_kwh"] = published
    publish(hass, "57061234", "energy", energy)
    await hass.async_block_till_done()
    assert hass.states.get(ENERGY).state == shown


async def test_energy_restores_last_good_reading(
    hass: HomeAssistant, mqtt_mock: object, mock_config_entry: MockConfigEntry, payloads: Payloads
) -> None:
    """After a restart a first reading below the last one (a glitch, a 0) is still ignored."""
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(ENERGY, "9700.0"),
                {"native_value": 9700.0, "native_unit_of_measurement": "kWh"},
            )
        ],
    )
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    publish(hass, "57061234", "power", payloads["power"])
    publish(hass, "57061234", "energy", payloads["energy"])
    await hass.async_block_till_done()
    assert hass.states.get(ENERGY).state == "9700.0"
    await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_unavailable_value_is_unavailable(
    hass: HomeAssistant, init_integration: MockConfigEntry, payloads: Payloads
) -> None:
    """A key missing from the latest power payload makes its sensor unavailable."""
    power = {k: v for k, v in payloads["power"].items() if k != "voltage_l1_v"}
    publish(hass, "57061234", "power", power)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.omnipower_57061234_voltage_phase_1").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.omnipower_57061234_power_import").state == "619"
