"""Actions: prepayment top-up and reading the load profile (for back-fill)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from .const import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_ENERGY_KWH,
    ATTR_FROM,
    ATTR_TO,
    DOMAIN,
    SERVICE_READ_LOAD_PROFILE,
    SERVICE_TOP_UP,
)
from .coordinator import OmnipowerCoordinator

TOP_UP_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_ENERGY_KWH): vol.All(
            vol.Coerce(float), vol.Range(min=0.001, max=100_000)
        ),
    }
)
READ_LOAD_PROFILE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_FROM): cv.datetime,
        vol.Optional(ATTR_TO): cv.datetime,
    }
)


def _coordinator(hass: HomeAssistant, call: ServiceCall) -> OmnipowerCoordinator:
    entry = hass.config_entries.async_get_entry(call.data[ATTR_CONFIG_ENTRY_ID])
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="unknown_config_entry"
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="config_entry_not_loaded"
        )
    coordinator: OmnipowerCoordinator = entry.runtime_data
    return coordinator


def _aware(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt_util.get_default_time_zone())
    return moment.isoformat()


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions once for all meters."""

    async def top_up(call: ServiceCall) -> None:
        coordinator = _coordinator(hass, call)
        await coordinator.async_send_command(
            "prepayment_top_up", {"energy_kwh": call.data[ATTR_ENERGY_KWH]}
        )

    async def read_load_profile(call: ServiceCall) -> None:
        coordinator = _coordinator(hass, call)
        args: dict[str, Any] = {"from": _aware(call.data[ATTR_FROM])}
        if ATTR_TO in call.data:
            args["to"] = _aware(call.data[ATTR_TO])
        await coordinator.async_send_command("read_load_profile", args)

    hass.services.async_register(DOMAIN, SERVICE_TOP_UP, top_up, schema=TOP_UP_SCHEMA)
    hass.services.async_register(
        DOMAIN, SERVICE_READ_LOAD_PROFILE, read_load_profile, schema=READ_LOAD_PROFILE_SCHEMA
    )
