"""Home Assistant MQTT discovery (off by default): entities for users without the integration.

The custom integration is the full experience (DESIGN §5); discovery gives a plain MQTT set-up
sensors for every value the meter actually pushes, read straight from the contract's topics.
Config topics are retained, as Home Assistant expects, and carry no secret.
"""

from __future__ import annotations

from typing import Any, Final

from .outbox import Delivery, Message
from .payloads import dumps
from .topics import Topics

__all__ = ["discovery_messages"]

#: Key suffix → (unit, device class, state class). Units as Home Assistant spells them.
_BY_SUFFIX: Final[dict[str, tuple[str | None, str | None, str]]] = {
    "_kwh": ("kWh", "energy", "total_increasing"),
    "_kvarh": ("kvarh", "reactive_energy", "total_increasing"),
    "_w": ("W", "power", "measurement"),
    "_var": ("var", "reactive_power", "measurement"),
    "_v": ("V", "voltage", "measurement"),
    "_a": ("A", "current", "measurement"),
    "_hz": ("Hz", "frequency", "measurement"),
}


def _describe(key: str) -> tuple[str | None, str | None, str]:
    for suffix, description in _BY_SUFFIX.items():
        if key.endswith(suffix):
            return description
    if key.startswith("power_factor"):
        return None, "power_factor", "measurement"
    return None, None, "measurement"


def discovery_messages(
    *,
    topics: Topics,
    prefix: str,
    meter_id: str,
    meter_type: str | None,
    values: dict[str, list[str]],
    gateway_version: str,
) -> list[Message]:
    """Retained sensor configs for every key in *values* (topic name → payload keys)."""
    device = {
        "identifiers": [f"omnipower_{meter_id}"],
        "name": f"OMNIPOWER {meter_id}",
        "manufacturer": "Kamstrup",
        "model": meter_type or "OMNIPOWER",
        "serial_number": meter_id,
        "sw_version": gateway_version,
    }
    messages = []
    for topic_name, keys in values.items():
        for key in keys:
            unit, device_class, state_class = _describe(key)
            unique_id = f"omnipower_{meter_id}_{key}"
            config: dict[str, Any] = {
                "name": key.replace("_", " ").capitalize(),
                "unique_id": unique_id,
                "object_id": unique_id,
                "state_topic": topics.meter(meter_id, topic_name),
                "value_template": f"{{{{ value_json.{key} }}}}",
                "availability_topic": topics.bridge_state,
                "state_class": state_class,
                "device": device,
            }
            if unit is not None:
                config["unit_of_measurement"] = unit
            if device_class is not None:
                config["device_class"] = device_class
            messages.append(
                Message(
                    f"{prefix}/sensor/omnipower_{meter_id}/{key}/config",
                    dumps(config),
                    Delivery.STATE,
                )
            )
    return messages
