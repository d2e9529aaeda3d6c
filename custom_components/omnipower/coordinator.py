"""One MQTT subscription per meter feeds the coordinator; no polling.

The gateway publishes the contract of docs/mqtt.md under ``<base>/<serial>/…`` and its own
availability on ``<base>/bridge/<gateway>/state``. Everything the entities show comes from the
latest payload per topic; availability comes from the bridge's last will and the age of the
last reading.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from homeassistant.components import mqtt
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util
from homeassistant.util.json import json_loads

from .commands import CommandSender
from .const import (
    CONF_BASE_TOPIC,
    CONF_COMMANDS,
    CONF_INFO,
    CONF_SECRET,
    CONF_SERIAL,
    CONF_STALE_AFTER,
    DEFAULT_COMMANDS,
    DEFAULT_STALE_AFTER,
    DOMAIN,
    LOGGER,
    OFFLINE_ISSUE_AFTER,
    READING_TOPICS,
    SCHEMA_VERSION,
    STATE_TOPICS,
)
from .data import EventListener, MeterData, Payload
from .dispatch import ChangeDispatcher, ChangeListener, changed_keys
from .issues import (
    async_check_clock,
    async_check_keys,
    async_gateway_back,
    async_gateway_offline,
)
from .statistics import async_backfill

type OmnipowerConfigEntry = ConfigEntry[OmnipowerCoordinator]

__all__ = ["MeterData", "OmnipowerConfigEntry", "OmnipowerCoordinator", "Payload"]

#: Event ids remembered to drop the gateway's resends after a reconnect.
SEEN_EVENTS = 256
#: Topics this integration reads (one set lookup a message).
_CONTRACT_TOPICS = frozenset({*STATE_TOPICS, "events", "load_profile"})


class OmnipowerCoordinator(DataUpdateCoordinator[MeterData]):
    """The latest state of one meter, pushed by MQTT."""

    config_entry: OmnipowerConfigEntry

    def __init__(self, hass: HomeAssistant, entry: OmnipowerConfigEntry) -> None:
        """Set up from the entry; the stored info serves until the gateway's arrives."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.data[CONF_SERIAL]}",
            update_interval=None,
            always_update=True,
        )
        self.serial: str = entry.data[CONF_SERIAL]
        self.base_topic: str = entry.data[CONF_BASE_TOPIC]
        self.stale_after: float = entry.options.get(CONF_STALE_AFTER, DEFAULT_STALE_AFTER)
        self.data = MeterData(payloads={"info": dict(entry.data[CONF_INFO])})
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self._stale_timer: CALLBACK_TYPE | None = None
        self._offline_timer: CALLBACK_TYPE | None = None
        self._commands = CommandSender(hass, self.topic)
        self._event_listeners: list[EventListener] = []
        self._seen_events: OrderedDict[str, None] = OrderedDict()
        self._was_available = False
        self._lost = False
        self._prefix = self.topic("")
        self._changes = ChangeDispatcher()
        #: The gateway's device in the registry, once registered.
        self.gateway_device_id: str | None = None
        self._warned: set[str] = set()

    # -- topics ------------------------------------------------------------------------------

    def topic(self, name: str) -> str:
        """A topic of this meter, e.g. ``omnipower/27581522/cmd/breaker``."""
        return f"{self.base_topic}/{self.serial}/{name}"

    @property
    def gateway_id(self) -> str | None:
        """The gateway that announced this meter (from ``info``)."""
        gateway = self.data.value("info", "gateway")
        if isinstance(gateway, dict) and isinstance(gateway.get("id"), str):
            return str(gateway["id"])
        return None

    @property
    def capabilities(self) -> Payload:
        """``info.capabilities``, empty when unknown."""
        capabilities = self.data.value("info", "capabilities")
        return capabilities if isinstance(capabilities, dict) else {}

    @property
    def offered_commands(self) -> frozenset[str]:
        """Commands the gateway accepts for this meter and the user lets us send."""
        allowed = self.capabilities.get("commands") or []
        chosen = self.config_entry.options.get(CONF_COMMANDS, list(DEFAULT_COMMANDS))
        return frozenset(allowed) & frozenset(chosen)

    @property
    def available(self) -> bool:
        """The gateway is not offline and a reading arrived within the staleness timeout."""
        data = self.data
        return (
            data.gateway_online is not False and data.last_reading_at is not None and not data.stale
        )

    # -- life cycle ------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Subscribe to the meter's topics and the gateway's availability."""
        self._unsubscribe.append(
            # Bytes, not text: the JSON parser reads them directly (one copy less a message).
            await mqtt.async_subscribe(
                self.hass, self.topic("#"), self._message, qos=1, encoding=None
            )
        )
        self._unsubscribe.append(
            await mqtt.async_subscribe(
                self.hass, f"{self.base_topic}/bridge/+/state", self._bridge, qos=1
            )
        )

    @callback
    def async_stop(self) -> None:
        """Unsubscribe, stop timers and fail pending commands."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        for timer in (self._stale_timer, self._offline_timer):
            if timer is not None:
                timer()
        self._stale_timer = self._offline_timer = None
        self._commands.async_cancel_all()

    # -- incoming ----------------------------------------------------------------------------

    @callback
    def _bridge(self, message: ReceiveMessage) -> None:
        gateway = message.topic.split("/")[-2]
        if gateway != self.gateway_id:
            return
        online = message.payload == "online"
        if online == self.data.gateway_online:
            return
        self.data.gateway_online = online
        if online:
            if self._offline_timer is not None:
                self._offline_timer()
                self._offline_timer = None
            async_gateway_back(self.hass, self.serial)
        elif self._offline_timer is None:
            self._offline_timer = async_call_later(
                self.hass, OFFLINE_ISSUE_AFTER, self._offline_too_long
            )
        self._publish_state()

    @callback
    def async_watch(
        self, topic: str, keys: Iterable[str] | None, listener: ChangeListener
    ) -> CALLBACK_TYPE:
        """Call *listener* when one of *keys* of *topic* changes (None: any key).

        Changes of availability, ``info`` and the options are not key changes: they reach
        every entity through the coordinator's own listeners.
        """
        return self._changes.async_watch(topic, keys, listener)

    @callback
    def _message(self, message: ReceiveMessage) -> None:
        name = message.topic.removeprefix(self._prefix)
        if name not in _CONTRACT_TOPICS:
            if name == "cmd/result":
                self._command_result(message)
                return
            if name.startswith("cmd/"):
                return  # our own commands, echoed by the broker
            LOGGER.debug("Ignoring %s: not a topic of the contract", message.topic)
            return
        payload = self._decode(name, message.payload)
        if payload is None:
            return
        if name == "events":
            self._event(payload)
            return
        if name == "load_profile":
            async_backfill(self.hass, self.serial, payload)
            return
        now = dt_util.utcnow()
        data = self.data
        data.received_at[name] = now
        if name in READING_TOPICS and not message.retain:
            data.last_reading_at = now
            data.stale = False
            if self._stale_timer is None:
                self._stale_timer = async_call_later(self.hass, self.stale_after, self._stale_check)
        self._apply(name, payload)

    @callback
    def _apply(self, name: str, payload: Payload) -> None:
        """Keep *payload* as the topic's latest and tell whom its changes concern."""
        data = self.data
        changed = changed_keys(data.payloads.get(name), payload)
        data.payloads[name] = payload
        if changed:
            if name == "diagnostics":
                async_check_keys(self.hass, self.serial, payload)
            elif name == "clock":
                async_check_clock(self.hass, self.serial, payload)
        if self._availability_changed() or (name == "info" and changed):
            # Every entity's availability (or the commands the gateway offers) changed.
            self.async_notify(None)
        elif changed:
            self._changes.async_dispatch(name, changed)

    def _decode(self, name: str, raw: str | bytes | bytearray) -> Payload | None:
        try:
            payload = json_loads(raw)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            self._warn_once(name, "Ignoring %s of meter %s: not a JSON object", name, self.serial)
            return None
        version = payload.get("schema", SCHEMA_VERSION)
        if version != SCHEMA_VERSION and name not in ("events",):
            self._warn_once(
                f"schema{version}",
                "Meter %s: the gateway publishes contract schema %s, this integration reads "
                "schema %s; update the integration. Ignoring those payloads",
                self.serial,
                version,
                SCHEMA_VERSION,
            )
            return None
        return payload

    def _warn_once(self, key: str, text: str, *args: Any) -> None:
        if key in self._warned:
            LOGGER.debug(text, *args)
            return
        self._warned.add(key)
        LOGGER.warning(text, *args)

    @callback
    def _event(self, payload: Payload) -> None:
        event_id = payload.get("id")
        if isinstance(event_id, str):
            if event_id in self._seen_events:
                return
            self._seen_events[event_id] = None
            if len(self._seen_events) > SEEN_EVENTS:
                self._seen_events.popitem(last=False)
        kind = payload.get("type")
        if not isinstance(kind, str):
            return
        self.data.last_events[kind] = payload
        for listener in list(self._event_listeners):
            listener(payload)

    @callback
    def async_add_event_listener(self, listener: EventListener) -> CALLBACK_TYPE:
        """Call *listener* with every new event payload; returns the remover."""
        self._event_listeners.append(listener)

        @callback
        def remove() -> None:
            self._event_listeners.remove(listener)

        return remove

    # -- availability ------------------------------------------------------------------------

    @callback
    def _stale_check(self, _now: datetime) -> None:
        """Go stale when no reading came for ``stale_after`` seconds.

        One timer per staleness period rather than one re-armed per message: re-arming it
        twice a push cost more than the rest of a push's bookkeeping (issue 12).
        """
        self._stale_timer = None
        last = self.data.last_reading_at
        if last is None:
            return
        left = self.stale_after - (dt_util.utcnow() - last).total_seconds()
        if left > 0:
            self._stale_timer = async_call_later(self.hass, left, self._stale_check)
            return
        self.data.stale = True
        self._publish_state()

    @callback
    def _offline_too_long(self, _now: datetime) -> None:
        self._offline_timer = None
        async_gateway_offline(self.hass, self.serial, self.gateway_id)

    @callback
    def async_notify(self, topic: str | None) -> None:
        """Refresh every entity (availability or options changed; *topic* is ignored)."""
        self.async_set_updated_data(self.data)

    @callback
    def async_restart_stale_timer(self) -> None:
        """Count a new staleness timeout from the last reading."""
        if self._stale_timer is not None:
            self._stale_timer()
            self._stale_timer = None
        if self.data.last_reading_at is not None and not self.data.stale:
            self._stale_check(dt_util.utcnow())

    def _availability_changed(self) -> bool:
        """Whether the meter's availability changed since last asked; logs the change."""
        available = self.available
        if available == self._was_available:
            return False
        if not available:
            reason = (
                "the gateway is offline"
                if self.data.gateway_online is False
                else (f"no reading for {self.stale_after:g} s")
            )
            LOGGER.warning("Meter %s is unavailable: %s", self.serial, reason)
            self._lost = True
        elif self._lost:
            LOGGER.info("Meter %s is available again", self.serial)
        self._was_available = available
        return True

    @callback
    def _publish_state(self) -> None:
        """Refresh every entity once availability may have changed."""
        self._availability_changed()
        self.async_notify(None)

    # -- commands ----------------------------------------------------------------------------

    async def async_send_command(self, name: str, args: Payload) -> Payload:
        """Send a command and wait for ``done``; other outcomes raise a translated error."""
        if name not in self.offered_commands:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_not_offered",
                translation_placeholders={"command": name},
            )
        secret = self.config_entry.options.get(CONF_SECRET)
        return await self._commands.async_send(name, args, secret)

    def _command_result(self, message: ReceiveMessage) -> None:
        payload = self._decode("cmd/result", message.payload)
        if payload is not None:
            self._commands.async_result(payload)

    @callback
    def async_apply_readback(self, topic: str, state: object) -> None:
        """Show a command's read-back at once (the state topic follows with the same values)."""
        if not isinstance(state, dict):
            return
        self._apply(topic, {**self.data.payloads.get(topic, {}), **state})
