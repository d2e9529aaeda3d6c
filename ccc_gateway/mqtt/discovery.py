"""Home Assistant MQTT discovery (off by default): entities for users without the integration.

The custom integration is the full experience; discovery gives a plain MQTT set-up
(Home Assistant without the integration, or anything that reads Home Assistant discovery)
entities for everything the contract carries, read straight from its topics. It is one
**device-based** discovery message per meter (``<prefix>/device/omnipower_<meter>/config``,
Home Assistant 2024.12 and later; its MQTT integration splits the ``components`` map into one
entity each), retained, carrying no secret, with availability from the bridge's last will.

Unique ids and default entity ids are ``omnipower_<meter>_<key>`` for the push's ``power`` and
``energy`` keys (as before device-based discovery) and ``omnipower_<meter>_<topic>_<key>``
for the other topics; they never change between releases.

Controls exist only for the commands the meter's configuration enables, and never when
commands must be signed: a signature is an HMAC over the whole command, which Home Assistant's
command templates cannot compute, so a discovered control could only send commands the gateway
rejects (docs/mqtt.md). Each publishes the contract's envelope with a fresh id and a 30 s expiry
from Home Assistant's clock. The breaker and relays are selects, not switches, so no group
toggle of a dashboard reaches them (docs/home-assistant.md, "Power controls").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .outbox import Delivery, Message
from .payloads import dumps
from .topics import Topics

__all__ = ["DiscoveryMeter", "device_components", "discovery_message", "legacy_topics"]

#: Key suffix → (unit, device class, state class). Units as Home Assistant spells them.
_BY_SUFFIX: Final[dict[str, tuple[str | None, str | None, str | None]]] = {
    "_kwh": ("kWh", "energy", "total_increasing"),
    "_kvarh": ("kvarh", "reactive_energy", "total_increasing"),
    "_w": ("W", "power", "measurement"),
    "_var": ("var", "reactive_power", "measurement"),
    "_v": ("V", "voltage", "measurement"),
    "_a": ("A", "current", "measurement"),
    "_hz": ("Hz", "frequency", "measurement"),
    "_pct": ("%", None, "measurement"),
    "_s": ("s", "duration", "measurement"),
}
#: Topics whose every numeric key is a reading (the push, and the optical port's registers).
_READING_TOPICS: Final = frozenset({"power", "energy", "quality", "billing", "demand"})
#: Keys that are the envelope, not values.
_ENVELOPE: Final = frozenset({"ts", "schema"})
BREAKER_STATES: Final = (
    "connected",
    "disconnected",
    "ready_for_reconnection",
    "pre_cutoff_warning",
    "cutoff",
    "cutoff_prepayment",
    "prepayment_low_max_expired",
    "push_button",
    "neutral_fault",
    "log_only",
    "overvoltage",
    "unknown",
)
EVENT_TYPES: Final = (
    "tariff_changed",
    "breaker_changed",
    "tamper",
    "power_failure",
    "voltage_sag",
    "voltage_swell",
    "low_credit",
    "clock_adjusted",
)
#: Flags of the optical topics: (topic, key) → the binary sensor's device class.
_FLAGS: Final[dict[tuple[str, str], str | None]] = {
    ("status", "cover_open"): "tamper",
    ("status", "magnet_detected"): "tamper",
    ("status", "power_failure"): "problem",
    ("prepayment", "low_credit"): "problem",
    ("prepayment", "enabled"): None,
    ("relays", "relay_1_on"): "power",
    ("relays", "relay_2_on"): "power",
}
#: A fresh command envelope, rendered by Home Assistant when the control is used. The id is
#: unique per use (time to the microsecond and a random part; Home Assistant's template sandbox
#: allows ranges up to 100,000); the gateway runs an id once.
_ENVELOPE_TEMPLATE: Final = (
    '{{"id":"ha-{meter}-{command}-{{{{ (now().timestamp() * 1000000) | int }}}}-'
    '{{{{ range(100000) | random }}}}",'
    '"expires_at":"{{{{ (now() + timedelta(seconds=30)).isoformat() }}}}",'
    '"args":{args}}}'
)
_POWERED_TEMPLATE: Final = (
    "{% if value_json.state in ['connected', 'log_only', 'pre_cutoff_warning'] %}connected"
    "{% elif value_json.state == 'ready_for_reconnection' %}ready_for_reconnection"
    "{% else %}disconnected{% endif %}"
)


@dataclass(frozen=True, slots=True)
class DiscoveryMeter:
    """What discovery needs to know of one meter and the gateway's configuration for it."""

    meter_id: str
    meter_type: str | None
    gateway_version: str
    commands: frozenset[str]
    signed: bool
    events: bool


def _describe(key: str) -> tuple[str | None, str | None, str | None]:
    for suffix, description in _BY_SUFFIX.items():
        if key.endswith(suffix):
            return description
    if key.startswith("power_factor"):
        return None, "power_factor", "measurement"
    if "_count" in key:
        return None, None, "total_increasing"
    return None, None, "measurement"


def _name(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Builder:
    """Collects the components of one meter's device payload."""

    def __init__(self, topics: Topics, meter: DiscoveryMeter) -> None:
        self.topics = topics
        self.meter = meter
        self.components: dict[str, dict[str, Any]] = {}

    def add(self, platform: str, object_key: str, name: str, **config: Any) -> None:
        object_id = f"omnipower_{self.meter.meter_id}_{object_key}"
        component = {
            "platform": platform,
            "name": name,
            "unique_id": object_id,
            # Home Assistant 2025.4 names the entity from object_id; later releases from
            # default_entity_id (object_id is deprecated there). Extra keys are ignored.
            "object_id": object_id,
            "default_entity_id": f"{platform}.{object_id}",
            **{k: v for k, v in config.items() if v is not None},
        }
        self.components[object_key] = component

    def state_topic(self, topic: str) -> str:
        return self.topics.meter(self.meter.meter_id, topic)

    def reading(self, topic: str, key: str) -> None:
        unit, device_class, state_class = _describe(key)
        object_key = key if topic in ("power", "energy") else f"{topic}_{key}"
        self.add(
            "sensor",
            object_key,
            _name(key),
            state_topic=self.state_topic(topic),
            value_template=f"{{{{ value_json.{key} }}}}",
            unit_of_measurement=unit,
            device_class=device_class,
            state_class=state_class,
        )

    def sensor(self, topic: str, key: str, name: str, template: str, **config: Any) -> None:
        self.add(
            "sensor",
            f"{topic}_{key}",
            name,
            state_topic=self.state_topic(topic),
            value_template=template,
            **config,
        )

    def flag(self, topic: str, key: str, device_class: str | None) -> None:
        self.add(
            "binary_sensor",
            f"{topic}_{key}",
            _name(key),
            state_topic=self.state_topic(topic),
            value_template=f"{{{{ 'ON' if value_json.{key} else 'OFF' }}}}",
            device_class=device_class,
        )

    def command_template(self, command: str, args: str) -> str:
        return _ENVELOPE_TEMPLATE.format(meter=self.meter.meter_id, command=command, args=args)

    def control(
        self, platform: str, command: str, object_key: str, name: str, **config: Any
    ) -> None:
        self.add(
            platform,
            object_key,
            name,
            command_topic=self.topics.meter(self.meter.meter_id, f"cmd/{command}"),
            qos=1,
            retain=False,
            **config,
        )


def _topic_components(builder: _Builder, topic: str, payload: Mapping[str, Any]) -> None:
    for key, value in payload.items():
        if key in _ENVELOPE:
            continue
        if (topic, key) in _FLAGS:
            builder.flag(topic, key, _FLAGS[(topic, key)])
        elif topic in _READING_TOPICS and _is_number(value):
            builder.reading(topic, key)
    if topic == "tariff":
        builder.sensor("tariff", "active_tariff", "Active tariff", "{{ value_json.active_tariff }}")
        builder.sensor(
            "tariff",
            "source",
            "Tariff source",
            "{{ value_json.source }}",
            device_class="enum",
            options=["calendar", "input", "forced"],
        )
    elif topic == "breaker":
        builder.sensor(
            "breaker",
            "state",
            "Breaker state",
            "{{ value_json.state }}",
            device_class="enum",
            options=list(BREAKER_STATES),
        )
        builder.add(
            "binary_sensor",
            "breaker_switch_error",
            "Breaker fault",
            state_topic=builder.state_topic("breaker"),
            value_template="{{ 'ON' if (value_json.feedback or {}).switch_error else 'OFF' }}",
            device_class="problem",
            entity_category="diagnostic",
        )
    elif topic == "prepayment":
        for key, name in (
            ("credit_kwh", "Prepayment credit"),
            ("alarm_limit_kwh", "Prepayment alarm limit reading"),
            ("last_top_up_kwh", "Last top-up"),
            ("exception_credit_kwh", "Exception credit"),
        ):
            if key in payload:
                builder.sensor(
                    "prepayment",
                    key,
                    name,
                    f"{{{{ value_json.{key} }}}}",
                    unit_of_measurement="kWh",
                    device_class="energy",
                )
    elif topic == "clock":
        builder.sensor(
            "clock",
            "drift_s",
            "Clock drift",
            "{{ value_json.drift_s }}",
            unit_of_measurement="s",
            device_class="duration",
            state_class="measurement",
            entity_category="diagnostic",
        )
        builder.sensor(
            "clock",
            "meter_time",
            "Meter time",
            "{{ value_json.meter_time }}",
            device_class="timestamp",
            entity_category="diagnostic",
        )
    elif topic == "diagnostics":
        _diagnostics(builder, payload)


def _diagnostics(builder: _Builder, payload: Mapping[str, Any]) -> None:
    diagnostic = {"entity_category": "diagnostic"}
    builder.sensor(
        "diagnostics",
        "frames_ok",
        "Frames received",
        "{{ value_json.frames_ok }}",
        state_class="total_increasing",
        **diagnostic,
    )
    builder.sensor(
        "diagnostics",
        "errors_total",
        "Rejected frames",
        "{{ (value_json.errors or {}).values() | sum }}",
        state_class="total_increasing",
        **diagnostic,
    )
    builder.sensor(
        "diagnostics",
        "last_error",
        "Last error",
        "{{ value_json.last_error.code if value_json.last_error else 'none' }}",
        **diagnostic,
    )
    builder.sensor(
        "diagnostics",
        "last_push",
        "Last push",
        "{{ value_json.last_push }}",
        device_class="timestamp",
        **diagnostic,
    )
    ports = payload.get("ports")
    for port in ports if isinstance(ports, dict) else ():
        builder.sensor(
            "diagnostics",
            f"{port}_port",
            f"{port.upper() if port == 'ccc' else port.capitalize()} port",
            f"{{{{ value_json.ports.{port}.state }}}}",
            device_class="enum",
            options=["connecting", "open", "unavailable", "finished"],
            **diagnostic,
        )


def _controls(builder: _Builder) -> None:
    enabled = builder.meter.commands
    state = builder.state_topic
    if "breaker" in enabled:
        builder.control(
            "select",
            "breaker",
            "breaker",
            "Breaker",
            options=["connected", "ready_for_reconnection", "disconnected"],
            state_topic=state("breaker"),
            value_template=_POWERED_TEMPLATE,
            command_template=builder.command_template(
                "breaker",
                "{\"action\":\"{{ {'connected': 'reconnect', 'ready_for_reconnection': "
                "'release'}.get(value, 'disconnect') }}\"}",
            ),
        )
    if "relay" in enabled:
        for relay in (1, 2):
            builder.control(
                "select",
                "relay",
                f"relay_{relay}",
                f"Load relay {relay}",
                options=["on", "off"],
                state_topic=state("relays"),
                value_template=f"{{{{ 'on' if value_json.relay_{relay}_on else 'off' }}}}",
                command_template=builder.command_template(
                    "relay",
                    f'{{"relay":{relay},"on":{{{{ "true" if value == "on" else "false" }}}}}}',
                ),
            )
    if "tariff" in enabled:
        builder.control(
            "select",
            "tariff",
            "tariff",
            "Tariff",
            options=["auto", "force_1", "force_2", "force_3", "force_4"],
            state_topic=state("tariff"),
            value_template=(
                "{{ 'force_' ~ value_json.active_tariff if value_json.source == 'forced' "
                "else 'auto' }}"
            ),
            command_template=builder.command_template(
                "tariff",
                '{% if value == "auto" %}{"mode":"auto"}{% else %}'
                '{"mode":"force","tariff":{{ value[-1] }}}{% endif %}',
            ),
            entity_category="config",
        )
    if "prepayment_alarm_limit" in enabled:
        builder.control(
            "number",
            "prepayment_alarm_limit",
            "prepayment_alarm_limit",
            "Prepayment alarm limit",
            state_topic=state("prepayment"),
            value_template="{{ value_json.alarm_limit_kwh }}",
            command_template=builder.command_template(
                "prepayment_alarm_limit", '{"energy_kwh":{{ value | round(3) }}}'
            ),
            min=0,
            max=65535,
            step=1,  # AlarmLimit is a u16 of whole kWh: the guard refuses fractions
            mode="box",
            unit_of_measurement="kWh",
            entity_category="config",
        )
    for command, name, args in (
        ("clock_sync", "Synchronise clock", "{}"),
        ("refresh", "Refresh", "{}"),
        (
            "read_load_profile",
            "Read load profile (last 24 h)",
            '{"from":"{{ (now() - timedelta(hours=24)).isoformat() }}"}',
        ),
    ):
        if command in enabled:
            builder.control(
                "button",
                command,
                command,
                name,
                command_template=builder.command_template(command, args),
                entity_category="config",
            )


def device_components(
    *, topics: Topics, meter: DiscoveryMeter, payloads: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The ``components`` of the meter's device payload, from the latest payload per topic."""
    builder = _Builder(topics, meter)
    for topic, payload in payloads.items():
        _topic_components(builder, topic, payload)
    if meter.events:
        builder.add(
            "event",
            "events",
            "Meter event",
            state_topic=builder.state_topic("events"),
            event_types=list(EVENT_TYPES),
            # The contract's fields become the event's attributes; `type` is the event type.
            value_template="{{ dict(value_json, event_type=value_json.type) | to_json }}",
        )
    if not meter.signed:
        _controls(builder)
    return builder.components


def discovery_message(
    *,
    topics: Topics,
    prefix: str,
    meter: DiscoveryMeter,
    payloads: Mapping[str, Mapping[str, Any]],
) -> Message:
    """The meter's retained device-based discovery payload."""
    meter_id = meter.meter_id
    device: dict[str, Any] = {
        "identifiers": [f"omnipower_{meter_id}"],
        "name": f"OMNIPOWER {meter_id}",
        "manufacturer": "Kamstrup",
        "model": "OMNIPOWER",
        "serial_number": meter_id,
    }
    if meter.meter_type is not None:
        device["model_id"] = meter.meter_type
    config = {
        "device": device,
        "origin": {"name": "omnipower", "sw_version": meter.gateway_version},
        "availability_topic": topics.bridge_state,
        "qos": 1,
        "components": device_components(topics=topics, meter=meter, payloads=payloads),
    }
    return Message(f"{prefix}/device/omnipower_{meter_id}/config", dumps(config), Delivery.STATE)


def legacy_topics(prefix: str, meter_id: str, keys: Collection[str]) -> list[Message]:
    """Empty retained configs for the per-entity topics of earlier releases.

    Earlier releases announced each ``power``/``energy`` key on its own topic; clearing them
    removes those entities before the device payload announces them again (same unique id and
    entity id), so an upgrade leaves no duplicate behind.
    """
    return [
        Message(f"{prefix}/sensor/omnipower_{meter_id}/{key}/config", b"", Delivery.STATE)
        for key in keys
    ]
