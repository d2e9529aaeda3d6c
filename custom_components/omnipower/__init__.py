"""Kamstrup OMNIPOWER meters through the omnipower gateway's MQTT contract.

Compatibility choices (tested on Home Assistant 2025.4, written for 2026.x):

- ``entry.runtime_data`` typed ``ConfigEntry[OmnipowerCoordinator]``: no ``hass.data``.
- ``async_forward_entry_setups`` and ``return True``: the singular forms are gone.
- Coordinator built with ``config_entry=``: the implicit context lookup is deprecated.
- ``mqtt.async_publish(..., qos=1, retain=False)`` explicit: defaults must not decide safety.
- ``MqttServiceInfo`` from ``helpers.service_info.mqtt``: the old location is removed.
- ``DeviceInfo`` only, no registry lookup by identifiers, no ``entity_id`` set.
- An update listener that never reloads; reconfigure uses ``async_update_reload_and_abort``,
  so no entry is reloaded twice.
- ``SensorDeviceClass.REACTIVE_ENERGY`` is feature-detected (absent in 2025.4).
- The meter links to its gateway with ``via_device_id`` where ``DeviceInfo`` has it (2026.x
  deprecates ``via_device``), else with the identifier tuple.
- Statistics metadata with ``mean_type`` and, where known, ``unit_class`` (``has_mean`` is
  removed in 2026.4, ``unit_class`` is required from 2025.11).
"""

from __future__ import annotations

from homeassistant.components import mqtt
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.typing import ConfigType

from .const import CONF_SERIAL, CONF_STALE_AFTER, DEFAULT_STALE_AFTER, DOMAIN
from .coordinator import OmnipowerConfigEntry, OmnipowerCoordinator
from .entity import gateway_identifier, gateway_name
from .services import async_setup_services

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: OmnipowerConfigEntry) -> bool:
    """Subscribe to the meter's topics and set up its entities."""
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="mqtt_unavailable")
    coordinator = OmnipowerCoordinator(hass, entry)
    entry.runtime_data = coordinator
    _async_drop_switches(hass, entry)
    _async_register_gateway(hass, entry, coordinator)
    entry.async_on_unload(coordinator.async_stop)
    entry.async_on_unload(entry.add_update_listener(_async_options_changed))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await coordinator.async_start()
    return True


def _async_drop_switches(hass: HomeAssistant, entry: OmnipowerConfigEntry) -> None:
    """Remove the breaker and relay switches of older versions: they are selects now.

    A switch is toggled with others by the dashboard's header toggle; the selects that
    replace them keep the unique ids, in their own domain (docs/home-assistant.md).
    """
    registry = er.async_get(hass)
    for registered in er.async_entries_for_config_entry(registry, entry.entry_id):
        if registered.domain == "switch":
            registry.async_remove(registered.entity_id)


def _async_register_gateway(
    hass: HomeAssistant, entry: OmnipowerConfigEntry, coordinator: OmnipowerCoordinator
) -> None:
    """The gateway as the device the meter is connected through."""
    gateway = coordinator.data.value("info", "gateway")
    if not isinstance(gateway, dict) or not isinstance(gateway.get("id"), str):
        return
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={gateway_identifier(gateway["id"])},
        manufacturer="omnipower",
        model="Gateway",
        name=gateway_name(gateway["id"]),
        sw_version=gateway.get("version") if isinstance(gateway.get("version"), str) else None,
    )
    coordinator.gateway_device_id = device.id


async def _async_options_changed(hass: HomeAssistant, entry: OmnipowerConfigEntry) -> None:
    """Apply new options in place (no reload: reconfigure already reloads)."""
    coordinator = entry.runtime_data
    coordinator.stale_after = entry.options.get(CONF_STALE_AFTER, DEFAULT_STALE_AFTER)
    coordinator.async_restart_stale_timer()
    coordinator.async_notify(None)


async def async_unload_entry(hass: HomeAssistant, entry: OmnipowerConfigEntry) -> bool:
    """Unload the entities; the subscription ends with the entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: OmnipowerConfigEntry) -> None:
    """Drop the meter's repair issues with the meter."""
    serial = entry.data[CONF_SERIAL]
    for kind in ("keys", "clock_drift", "gateway_offline"):
        ir.async_delete_issue(hass, DOMAIN, f"{kind}_{serial}")


__all__ = ["OmnipowerConfigEntry", "OmnipowerCoordinator"]
