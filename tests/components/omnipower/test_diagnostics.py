"""Diagnostics carry the last payload per topic with serials and secrets redacted."""

from __future__ import annotations

import json

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.omnipower.const import CONF_SECRET, DOMAIN


@pytest.mark.parametrize("meter_fixture", ["dk_3ph_push1"])
async def test_entry_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """The snapshot shows what a support case gets; the serial appears nowhere."""
    hass.config_entries.async_update_entry(
        init_integration, options={**init_integration.options, CONF_SECRET: "s3cret"}
    )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    text = json.dumps(diagnostics)
    assert "27581522" not in text
    assert "s3cret" not in text
    assert "493793" not in text  # the invocation counter
    assert diagnostics == snapshot(exclude=props("last_reading_at", "received_at"))


async def test_device_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    device_registry: dr.DeviceRegistry,
    init_integration: MockConfigEntry,
) -> None:
    """The meter's device gives the same diagnostics as its entry."""
    [device] = [
        device
        for device in dr.async_entries_for_config_entry(device_registry, init_integration.entry_id)
        if (DOMAIN, "57061234") in device.identifiers
    ]
    by_device = await get_diagnostics_for_device(hass, hass_client, init_integration, device)
    by_entry = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert by_device == by_entry
