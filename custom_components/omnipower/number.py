"""The prepayment alarm limit as a number: the meter's read-back, set by a command.

Setting it sends ``prepayment_alarm_limit`` and waits for the gateway's ``cmd/result``, like
the switches; the value shown is only ever what the meter reads back (``prepayment`` topic).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import EntityCategory, UnitOfEnergy
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .coordinator import OmnipowerConfigEntry
from .data import MeterData, Payload
from .entity import OmnipowerControl, async_add_when_present, offered_and_read

# One command at a time per platform, as for the power controls; the gateway queues a meter's
# commands and runs them one after another on its optical port.
PARALLEL_UPDATES = 1


def _number(topic: str, key: str) -> Callable[[MeterData], float | None]:
    def value(data: MeterData) -> float | None:
        raw = data.value(topic, key)
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            return None
        return float(raw)

    return value


@dataclass(frozen=True, kw_only=True)
class OmnipowerNumberEntityDescription(NumberEntityDescription):
    """A number backed by a command and a read-back topic."""

    command: str
    topic: str
    value_fn: Callable[[MeterData], float | None]
    args_fn: Callable[[float], Payload]
    watch: frozenset[str]


NUMBERS: Final = (
    OmnipowerNumberEntityDescription(
        key="prepayment_alarm_limit",
        translation_key="prepayment_alarm_limit",
        device_class=NumberDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        entity_category=EntityCategory.CONFIG,
        mode=NumberMode.BOX,
        # The gateway's range (docs/mqtt.md); AlarmLimit is a u16 of whole kWh, so the gateway
        # refuses fractions rather than let the meter round them.
        native_min_value=0,
        native_max_value=65_535,
        native_step=1,
        command="prepayment_alarm_limit",
        topic="prepayment",
        value_fn=_number("prepayment", "alarm_limit_kwh"),
        watch=frozenset({"alarm_limit_kwh"}),
        # No binary-float tail like 10.100000000000001 on the wire.
        args_fn=lambda value: {"energy_kwh": round(value, 3)},
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: OmnipowerConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add a number when its command is offered and its value has been read."""
    coordinator = entry.runtime_data

    def exists(description: OmnipowerNumberEntityDescription, data: MeterData) -> bool:
        return offered_and_read(coordinator, description.command, description.value_fn(data))

    async_add_when_present(entry, NUMBERS, exists, OmnipowerNumber, async_add_entities)


class OmnipowerNumber(OmnipowerControl, NumberEntity):
    """A setting the meter confirms; the value shown is what it reads back."""

    entity_description: OmnipowerNumberEntityDescription

    @property
    def native_value(self) -> float | None:
        """The read-back value."""
        return self.entity_description.value_fn(self.coordinator.data)

    def _has_read_back(self) -> bool:
        return self.native_value is not None

    async def async_set_native_value(self, value: float) -> None:
        """Send the command and show what the meter reads back."""
        description = self.entity_description
        await self._async_command(
            description.command, description.args_fn(value), description.topic
        )
