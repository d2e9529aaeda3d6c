"""Set-up: MQTT discovery of the gateway's ``info`` topic, or manual entry with a probe."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Final

import voluptuous as vol
from homeassistant.components import mqtt
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo

from . import const
from .const import (
    COMMANDS,
    CONF_BASE_TOPIC,
    CONF_COMMANDS,
    CONF_INFO,
    CONF_SECRET,
    CONF_SERIAL,
    CONF_STALE_AFTER,
    DEFAULT_BASE_TOPIC,
    DEFAULT_COMMANDS,
    DEFAULT_STALE_AFTER,
    DOMAIN,
    MAX_STALE_AFTER,
    MIN_STALE_AFTER,
    SCHEMA_VERSION,
)

SERIAL: Final = re.compile(r"^[0-9A-Za-z]{1,32}$")
#: A topic prefix: levels without wildcards, no empty level, no leading or trailing slash.
BASE_TOPIC: Final = re.compile(r"^[^/#+\s]+(/[^/#+\s]+)*$")


class ProbeError(Exception):
    """The meter's info could not be read; ``reason`` is the form's error key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_info(raw: str | bytes | bytearray, serial: str) -> dict[str, Any] | None:
    """The info payload if it is one of the contract for *serial*, else None."""
    try:
        info = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(info, dict) or info.get("schema") != SCHEMA_VERSION:
        return None
    gateway = info.get("gateway")
    if info.get("serial") != serial or not isinstance(gateway, dict):
        return None
    if not isinstance(gateway.get("id"), str):
        return None
    return info


async def async_probe(hass: HomeAssistant, base_topic: str, serial: str) -> dict[str, Any]:
    """Wait for the meter's retained info; raises :class:`ProbeError`."""
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ProbeError("mqtt_unavailable")
    received: asyncio.Future[str | bytes | bytearray] = hass.loop.create_future()

    @callback
    def on_info(message: ReceiveMessage) -> None:
        if not received.done():
            received.set_result(message.payload)

    unsubscribe = await mqtt.async_subscribe(hass, f"{base_topic}/{serial}/info", on_info, qos=1)
    try:
        async with asyncio.timeout(const.PROBE_TIMEOUT):
            raw = await received
    except TimeoutError as err:
        raise ProbeError("no_answer") from err
    finally:
        unsubscribe()
    info = parse_info(raw, serial)
    if info is None:
        raise ProbeError("invalid_info")
    return info


class OmnipowerConfigFlow(ConfigFlow, domain=DOMAIN):
    """One entry per meter."""

    VERSION = 1

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._base_topic = DEFAULT_BASE_TOPIC
        self._serial = ""
        self._info: dict[str, Any] = {}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OmnipowerOptionsFlow:
        """Staleness, commands and signing."""
        return OmnipowerOptionsFlow()

    async def async_step_mqtt(self, discovery_info: MqttServiceInfo) -> ConfigFlowResult:
        """A gateway announced a meter on ``<base>/<serial>/info``."""
        levels = discovery_info.topic.split("/")
        if len(levels) < 3 or levels[-1] != "info":
            return self.async_abort(reason="invalid_discovery_info")
        serial = levels[-2]
        info = parse_info(discovery_info.payload, serial)
        if info is None:
            return self.async_abort(reason="invalid_discovery_info")
        await self.async_set_unique_id(serial)
        # A gateway now announcing the meter under another base topic moves the entry there.
        self._abort_if_unique_id_configured(updates={CONF_BASE_TOPIC: "/".join(levels[:-2])})
        self._base_topic = "/".join(levels[:-2])
        self._serial = serial
        self._info = info
        self.context["title_placeholders"] = {"serial": serial}
        return await self.async_step_discovery_confirm()

    async def async_step_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask before adding a discovered meter."""
        if user_input is not None:
            return self._create()
        self._set_confirm_only()
        return self.async_show_form(
            step_id="discovery_confirm",
            description_placeholders={
                "serial": self._serial,
                "meter_type": str(self._info.get("meter_type") or "OMNIPOWER"),
                "gateway": str(self._info["gateway"]["id"]),
            },
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Base topic and serial, then a probe for the meter's info."""
        if not await mqtt.async_wait_for_mqtt_client(self.hass):
            return self.async_abort(reason="mqtt_not_configured")
        errors: dict[str, str] = {}
        if user_input is not None:
            base_topic = user_input[CONF_BASE_TOPIC].strip().strip("/")
            serial = user_input[CONF_SERIAL].strip()
            if not BASE_TOPIC.match(base_topic):
                errors[CONF_BASE_TOPIC] = "invalid_topic"
            elif not SERIAL.match(serial):
                errors[CONF_SERIAL] = "invalid_serial"
            else:
                await self.async_set_unique_id(serial)
                self._abort_if_unique_id_configured()
                try:
                    self._info = await async_probe(self.hass, base_topic, serial)
                except ProbeError as err:
                    errors["base"] = err.reason
                else:
                    self._base_topic, self._serial = base_topic, serial
                    return self._create()
        schema = vol.Schema(
            {
                vol.Required(CONF_BASE_TOPIC, default=DEFAULT_BASE_TOPIC): str,
                vol.Required(CONF_SERIAL): str,
            }
        )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Move the meter to another base topic (the serial stays: it is the device)."""
        entry = self._get_reconfigure_entry()
        serial = entry.data[CONF_SERIAL]
        errors: dict[str, str] = {}
        if user_input is not None:
            base_topic = user_input[CONF_BASE_TOPIC].strip().strip("/")
            if not BASE_TOPIC.match(base_topic):
                errors[CONF_BASE_TOPIC] = "invalid_topic"
            else:
                try:
                    info = await async_probe(self.hass, base_topic, serial)
                except ProbeError as err:
                    errors["base"] = err.reason
                else:
                    return self.async_update_reload_and_abort(
                        entry, data_updates={CONF_BASE_TOPIC: base_topic, CONF_INFO: info}
                    )
        schema = vol.Schema({vol.Required(CONF_BASE_TOPIC): str})
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or {CONF_BASE_TOPIC: entry.data[CONF_BASE_TOPIC]}
            ),
            description_placeholders={"serial": serial},
            errors=errors,
        )

    def _create(self) -> ConfigFlowResult:
        return self.async_create_entry(
            title=f"OMNIPOWER {self._serial}",
            data={
                CONF_BASE_TOPIC: self._base_topic,
                CONF_SERIAL: self._serial,
                CONF_INFO: self._info,
            },
            options={CONF_STALE_AFTER: DEFAULT_STALE_AFTER, CONF_COMMANDS: list(DEFAULT_COMMANDS)},
        )


class OmnipowerOptionsFlow(OptionsFlow):
    """Staleness timeout, commands Home Assistant may send, and the signing secret."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form for all options."""
        if user_input is not None:
            options: dict[str, Any] = {
                CONF_STALE_AFTER: int(user_input[CONF_STALE_AFTER]),
                CONF_COMMANDS: list(user_input[CONF_COMMANDS]),
            }
            secret = str(user_input.get(CONF_SECRET, "")).strip()
            if secret:
                options[CONF_SECRET] = secret
            return self.async_create_entry(data=options)
        current = self.config_entry.options
        schema = vol.Schema(
            {
                vol.Required(CONF_STALE_AFTER): NumberSelector(
                    NumberSelectorConfig(
                        min=MIN_STALE_AFTER,
                        max=MAX_STALE_AFTER,
                        step=1,
                        unit_of_measurement="s",
                        mode=NumberSelectorMode.BOX,
                    )
                ),
                vol.Required(CONF_COMMANDS): SelectSelector(
                    SelectSelectorConfig(
                        options=list(COMMANDS), multiple=True, translation_key="commands"
                    )
                ),
                vol.Optional(CONF_SECRET): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.PASSWORD)
                ),
            }
        )
        suggested = {
            CONF_STALE_AFTER: current.get(CONF_STALE_AFTER, DEFAULT_STALE_AFTER),
            CONF_COMMANDS: current.get(CONF_COMMANDS, list(DEFAULT_COMMANDS)),
            CONF_SECRET: current.get(CONF_SECRET, ""),
        }
        return self.async_show_form(
            step_id="init", data_schema=self.add_suggested_values_to_schema(schema, suggested)
        )
