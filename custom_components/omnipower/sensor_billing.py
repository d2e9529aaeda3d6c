"""Sensors of the ``billing`` topic (the debiting period) and frequency from ``quality``.

Peak power of the current and the last debiting period, per tariff and in total, with the
meter's time it was reached as the ``reached_at`` attribute; the accumulated maxima; the
debiting-stop and hour counters. Only data, like ``sensor_descriptions.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    EntityCategory,
    UnitOfApparentPower,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfReactivePower,
    UnitOfTime,
)
from homeassistant.helpers.typing import StateType

from .data import MeterData, Payload
from .sensor_descriptions import TARIFFS, OmnipowerSensorEntityDescription

__all__ = ["BILLING_SENSORS"]

_UNITS: Final = {
    "w": (SensorDeviceClass.POWER, UnitOfPower.WATT),
    "var": (SensorDeviceClass.REACTIVE_POWER, UnitOfReactivePower.VOLT_AMPERE_REACTIVE),
    "va": (SensorDeviceClass.APPARENT_POWER, UnitOfApparentPower.VOLT_AMPERE),
}


@dataclass(frozen=True, kw_only=True)
class BillingSensorEntityDescription(OmnipowerSensorEntityDescription):
    """A value inside one section (``current``, ``last_period``, …) of the billing topic."""

    section: str
    name_in_section: str

    def exists(self, data: MeterData) -> bool:
        """Whether the meter's billing data has this value."""
        section = data.payloads.get(self.topic, {}).get(self.section)
        return isinstance(section, dict) and self.name_in_section in section


def _in(section: str, key: str) -> Callable[[Payload], StateType]:
    def value(payload: Payload) -> StateType:
        part = payload.get(section)
        found = part.get(key) if isinstance(part, dict) else None
        return found if isinstance(found, int | float) and not isinstance(found, bool) else None

    return value


def _reached(section: str, stem: str) -> Callable[[Payload], dict[str, Any] | None]:
    def attributes(payload: Payload) -> dict[str, Any] | None:
        part = payload.get(section)
        if not isinstance(part, dict):
            return None
        return {"reached_at": part.get(f"{stem}_at")}

    return attributes


def _maximum(section: str, quantity: str, unit: str, tariff: int | None) -> Any:
    stem = f"max_{quantity}" + (f"_t{tariff}" if tariff else "")
    device_class, native_unit = _UNITS[unit]
    prefix = "peak" if section == "current" else "last_peak"
    return BillingSensorEntityDescription(
        key=f"{section}_{stem}_{unit}",
        topic="billing",
        section=section,
        name_in_section=f"{stem}_{unit}",
        translation_key=f"{prefix}_{quantity}" + ("_tariff" if tariff else ""),
        translation_placeholders={"tariff": str(tariff)} if tariff else None,
        device_class=device_class,
        native_unit_of_measurement=native_unit,
        state_class=SensorStateClass.MEASUREMENT if section == "current" else None,
        value_fn=_in(section, f"{stem}_{unit}"),
        value_keys=frozenset({section}),
        attributes_fn=_reached(section, stem),
        entity_registry_enabled_default=tariff is None or tariff <= 2,
    )


def _descriptions() -> list[OmnipowerSensorEntityDescription]:
    out: list[OmnipowerSensorEntityDescription] = []
    for section in ("current", "last_period"):
        for quantity, unit, tariffs in (
            ("active_power_import", "w", (None, *TARIFFS[:4])),
            ("reactive_power_import", "var", (None, *TARIFFS[:4])),
            ("apparent_power_import", "va", (None,)),
            ("apparent_power_export", "va", (None,)),
        ):
            out += [_maximum(section, quantity, unit, tariff) for tariff in tariffs]
    out += [
        BillingSensorEntityDescription(
            key="accumulated_max_active_power_import_w",
            topic="billing",
            section="accumulated",
            name_in_section="accumulated_max_active_power_import_w",
            translation_key="accumulated_peak_active_power_import",
            device_class=SensorDeviceClass.POWER,
            native_unit_of_measurement=UnitOfPower.WATT,
            value_fn=_in("accumulated", "accumulated_max_active_power_import_w"),
            value_keys=frozenset({"accumulated"}),
        ),
        BillingSensorEntityDescription(
            key="debiting_stops",
            topic="billing",
            section="counters",
            name_in_section="debiting_stops",
            translation_key="debiting_stops",
            state_class=SensorStateClass.TOTAL_INCREASING,
            entity_category=EntityCategory.DIAGNOSTIC,
            value_fn=_in("counters", "debiting_stops"),
            value_keys=frozenset({"counters"}),
        ),
        BillingSensorEntityDescription(
            key="hour_counter_h",
            topic="billing",
            section="counters",
            name_in_section="hour_counter_h",
            translation_key="hour_counter",
            device_class=SensorDeviceClass.DURATION,
            native_unit_of_measurement=UnitOfTime.HOURS,
            state_class=SensorStateClass.TOTAL_INCREASING,
            entity_category=EntityCategory.DIAGNOSTIC,
            entity_registry_enabled_default=False,
            value_fn=_in("counters", "hour_counter_h"),
            value_keys=frozenset({"counters"}),
        ),
    ]
    return out


@dataclass(frozen=True, kw_only=True)
class QualityFrequencyDescription(OmnipowerSensorEntityDescription):
    """Frequency from ``quality`` for a meter whose push does not carry it."""

    def exists(self, data: MeterData) -> bool:
        """Only when ``quality`` has it and ``power`` does not (one frequency sensor)."""
        return data.has("quality", "frequency_hz") and not data.has("power", "frequency_hz")


BILLING_SENSORS: Final[tuple[OmnipowerSensorEntityDescription, ...]] = (
    *_descriptions(),
    QualityFrequencyDescription(
        key="quality_frequency_hz",
        topic="quality",
        field="frequency_hz",
        translation_key="frequency",
        device_class=SensorDeviceClass.FREQUENCY,
        native_unit_of_measurement=UnitOfFrequency.HERTZ,
        state_class=SensorStateClass.MEASUREMENT,
    ),
)
