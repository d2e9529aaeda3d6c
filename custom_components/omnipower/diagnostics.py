"""Diagnostics: the entry, options, the last payload per topic and the statistics back-fill's
counters, with secrets redacted."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntry

from .const import CONF_SECRET
from .coordinator import OmnipowerConfigEntry
from .statistics import backfill_diagnostics

#: Serial numbers identify a household's meter; the secret signs commands.
TO_REDACT: Final = {
    CONF_SECRET,
    "serial",
    "gs1",
    "last_invocation_counter",
    "unique_id",
    "title",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: OmnipowerConfigEntry
) -> dict[str, Any]:
    """What the integration knows about the meter."""
    coordinator = entry.runtime_data
    data = coordinator.data
    serial = coordinator.serial
    result = {
        "entry": {
            "title": entry.title,
            "unique_id": entry.unique_id,
            "data": dict(entry.data),
            "options": dict(entry.options),
        },
        "available": coordinator.available,
        "gateway_online": data.gateway_online,
        "stale": data.stale,
        "last_reading_at": data.last_reading_at,
        "received_at": dict(data.received_at),
        "payloads": data.payloads,
        "last_events": data.last_events,
        "offered_commands": sorted(coordinator.offered_commands),
        "statistics": backfill_diagnostics(hass, serial),
    }
    scrubbed: dict[str, Any] = _scrub(async_redact_data(result, TO_REDACT), serial)
    return scrubbed


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: OmnipowerConfigEntry, device: DeviceEntry
) -> dict[str, Any]:
    """The meter is the entry's only device."""
    return await async_get_config_entry_diagnostics(hass, entry)


def _scrub(value: Any, serial: str) -> Any:
    """The serial also appears inside texts (error messages, event ids): mask it there too."""
    if isinstance(value, dict):
        return {key: _scrub(item, serial) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, serial) for item in value]
    if isinstance(value, str) and serial in value:
        return value.replace(serial, "**REDACTED**")
    return value
