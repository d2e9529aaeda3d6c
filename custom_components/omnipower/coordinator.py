"""One MQTT subscription per meter feeds the coordinator; no polling.

The gateway publishes the contract of docs/mqtt.md under ``<base>/<serial>/…`` and its own
availability on ``<base>/bridge/<gateway>/state``. Everything the entities show comes from the
latest payload per topic; availability comes from the bridge's last will and the age of the
last reading.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import uuid4

from homeassistant.components import mqtt
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import (
    COMMAND_GRACE,
    COMMAND_LIFETIME,
    CONF_BASE_TOPIC,
    CONF_COMMANDS,
    CONF_INFO,
    CONF_SECRET,
    CONF_SERIAL,
    CONF_STALE_AFTER,
    DEFAULT_COMMANDS,
    DEFAULT_STALE_AFTER,
    DOMAIN,
    KEY_ERRORS,
    LOGGER,
    MAX_CLOCK_DRIFT_S,
    OFFLINE_ISSUE_AFTER,
    READING_TOPICS,
    SCHEMA_VERSION,
    STATE_TOPICS,
)
from .signing import sign
from .statistics import async_backfill

type OmnipowerConfigEntry = ConfigEntry[OmnipowerCoordinator]
type Payload = dict[str, Any]
type EventListener = Callable[[Payload], None]

#: Event ids remembered to drop the gateway's resends after a reconnect.
SEEN_EVENTS = 256


@dataclass(slots=True)
class MeterData:
    """The latest payload per topic and what availability depends on."""

    payloads: dict[str, Payload] = field(default_factory=dict)
    received_at: dict[str, datetime] = field(default_factory=dict)
    gateway_online: bool | None = None
    last_reading_at: datetime | None = None
    stale: bool = False
    last_events: dict[str, Payload] = field(default_factory=dict)

    def value(self, topic: str, key: str) -> Any:
        """A payload value, None when the topic or key has not been seen."""
        return self.payloads.get(topic, {}).get(key)

    def has(self, topic: str, key: str) -> bool:
        """Whether the meter sent *key* on *topic* (keys appear only when measured)."""
        return key in self.payloads.get(topic, {})


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
        self._pending: dict[str, asyncio.Future[Payload]] = {}
        self._event_listeners: list[EventListener] = []
        self._seen_events: OrderedDict[str, None] = OrderedDict()
        self._was_available = False
        self._lost = False
        #: The topic whose payload changed in the current update; None when anything may
        #: have changed (availability, options), so every entity refreshes.
        self.changed_topic: str | None = None
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
            await mqtt.async_subscribe(self.hass, self.topic("#"), self._message, qos=1)
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
        for future in self._pending.values():
            if not future.done():
                future.cancel()

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
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id("gateway_offline"))
        elif self._offline_timer is None:
            self._offline_timer = async_call_later(
                self.hass, OFFLINE_ISSUE_AFTER, self._offline_too_long
            )
        self._publish_state(None)

    @callback
    def _message(self, message: ReceiveMessage) -> None:
        name = message.topic.removeprefix(self.topic(""))
        if name.startswith("cmd/"):
            if name == "cmd/result":
                self._command_result(message)
            return  # our own commands, echoed by the broker
        if name not in STATE_TOPICS and name not in ("events", "load_profile"):
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
        data.payloads[name] = payload
        data.received_at[name] = now
        if name in READING_TOPICS and not message.retain:
            data.last_reading_at = now
            data.stale = False
            if self._stale_timer is not None:
                self._stale_timer()
            self._stale_timer = async_call_later(self.hass, self.stale_after, self._went_stale)
        if name == "diagnostics":
            self._check_keys(payload)
            self._check_scalers(payload)
        elif name == "clock":
            self._check_clock(payload)
        self._publish_state(name)

    def _decode(self, name: str, raw: str | bytes | bytearray) -> Payload | None:
        try:
            payload = json.loads(raw)
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
    def _went_stale(self, _now: datetime) -> None:
        self._stale_timer = None
        self.data.stale = True
        self._publish_state(None)

    @callback
    def _offline_too_long(self, _now: datetime) -> None:
        self._offline_timer = None
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id("gateway_offline"),
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="gateway_offline",
            translation_placeholders={"serial": self.serial, "gateway": self.gateway_id or "?"},
        )

    @callback
    def async_notify(self, topic: str | None) -> None:
        """Tell the entities that *topic* changed (None: anything may have)."""
        self.changed_topic = topic
        self.async_set_updated_data(self.data)

    @callback
    def _publish_state(self, topic: str | None) -> None:
        available = self.available
        if available != self._was_available:
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
            topic = None  # every entity's availability changed
        self.async_notify(topic)

    # -- repairs ----------------------------------------------------------------------------

    def _issue_id(self, kind: str) -> str:
        return f"{kind}_{self.serial}"

    def _check_keys(self, payload: Payload) -> None:
        last = payload.get("last_error")
        code = last.get("code") if isinstance(last, dict) else None
        failing = code in KEY_ERRORS
        if failing and isinstance(last, dict):
            at = dt_util.parse_datetime(str(last.get("at")))
            pushed = payload.get("last_push")
            pushed_at = dt_util.parse_datetime(pushed) if isinstance(pushed, str) else None
            failing = at is None or pushed_at is None or pushed_at < at
        issue_id = self._issue_id("keys")
        if failing:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="keys_swapped" if code == "keys_swapped" else "keys_wrong",
                translation_placeholders={"serial": self.serial, "code": str(code)},
            )
        else:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)

    def _check_scalers(self, payload: Payload) -> None:
        """A push scaler the meter contradicts is a repair until the gateway no longer says so."""
        mismatches = payload.get("scaler_mismatch")
        issue_id = self._issue_id("scaler_mismatch")
        if isinstance(mismatches, list) and mismatches and isinstance(mismatches[0], dict):
            first = mismatches[0]
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="scaler_mismatch",
                translation_placeholders={
                    "serial": self.serial,
                    **{k: str(first.get(k)) for k in ("quantity", "push_scaler", "meter_scaler")},
                },
            )
        else:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)

    def _check_clock(self, payload: Payload) -> None:
        drift = payload.get("drift_s")
        issue_id = self._issue_id("clock_drift")
        if isinstance(drift, int | float) and abs(drift) > MAX_CLOCK_DRIFT_S:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="clock_drift",
                translation_placeholders={"serial": self.serial, "drift": f"{drift:+.0f}"},
            )
        else:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)

    # -- commands ----------------------------------------------------------------------------

    async def async_send_command(self, name: str, args: Payload) -> Payload:
        """Send a command and wait for ``done``; other outcomes raise a translated error."""
        if name not in self.offered_commands:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_not_offered",
                translation_placeholders={"command": name},
            )
        now = dt_util.now()
        command_id = uuid4().hex
        topic = self.topic(f"cmd/{name}")
        body: Payload = {
            "id": command_id,
            "expires_at": (now + COMMAND_LIFETIME).isoformat(),
            "args": args,
        }
        secret = self.config_entry.options.get(CONF_SECRET)
        if secret:
            body["sig"] = sign(topic, body, secret.encode())
        future: asyncio.Future[Payload] = self.hass.loop.create_future()
        self._pending[command_id] = future

        @callback
        def timed_out(_now: datetime) -> None:
            if not future.done():
                future.set_exception(
                    HomeAssistantError(
                        translation_domain=DOMAIN,
                        translation_key="command_timeout",
                        translation_placeholders={"command": name},
                    )
                )

        cancel = async_call_later(self.hass, COMMAND_LIFETIME + COMMAND_GRACE, timed_out)
        try:
            await mqtt.async_publish(
                self.hass, topic, json.dumps(body, separators=(",", ":")), qos=1, retain=False
            )
            return await future
        finally:
            cancel()
            self._pending.pop(command_id, None)

    def _command_result(self, message: ReceiveMessage) -> None:
        payload = self._decode("cmd/result", message.payload)
        if payload is None:
            return
        future = self._pending.get(str(payload.get("id")))
        if future is None or future.done():
            return
        status = payload.get("status")
        if status == "accepted":
            return
        if status == "done":
            future.set_result(payload)
            return
        future.set_exception(
            HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_failed"
                if status == "failed"
                else "command_expired"
                if status == "expired"
                else "command_rejected",
                translation_placeholders={
                    "command": str(payload.get("command")),
                    "reason": str(payload.get("reason")),
                    "text": str(payload.get("text") or ""),
                },
            )
        )

    @callback
    def async_apply_readback(self, topic: str, state: object) -> None:
        """Show a command's read-back at once (the state topic follows with the same values)."""
        if not isinstance(state, dict):
            return
        self.data.payloads[topic] = {**self.data.payloads.get(topic, {}), **state}
        self.async_notify(topic)
