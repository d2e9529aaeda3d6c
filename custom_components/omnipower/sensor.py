"""Sensors: energy for the Energy dashboard, power, grid quality, tariff, breaker, prepayment.

The table of what each sensor reads is ``sensor_descriptions.py``.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import RestoreSensor, SensorEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.typing import StateType

from .const import LOGGER
from .coordinator import OmnipowerConfigEntry, OmnipowerCoordinator
from .entity import OmnipowerEntity, async_add_when_present
from .sensor_descriptions import SENSORS, OmnipowerSensorEntityDescription

# Entities only push state; the coordinator serialises updates.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: OmnipowerConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add sensors as the meter's values appear."""

    def factory(
        coordinator: OmnipowerCoordinator, description: OmnipowerSensorEntityDescription
    ) -> SensorEntity:
        if description.topic == "energy":
            return OmnipowerEnergySensor(coordinator, description)
        return OmnipowerSensor(coordinator, description)

    async_add_when_present(
        entry,
        SENSORS,
        lambda description, data: description.exists(data),
        factory,
        async_add_entities,
    )


class OmnipowerSensor(OmnipowerEntity, SensorEntity):
    """A value of the latest payload of its topic."""

    entity_description: OmnipowerSensorEntityDescription
    _value: StateType = None
    _attributes: dict[str, Any] | None = None

    def _read(self) -> bool:
        """Take the value from the latest payload; whether it changed."""
        payload = self.coordinator.data.payloads.get(self.entity_description.topic, {})
        value = self.entity_description.value(payload)
        attributes_fn = self.entity_description.attributes_fn
        attributes = attributes_fn(payload) if attributes_fn is not None else None
        if (
            value == self._value
            and type(value) is type(self._value)
            and attributes == self._attributes
        ):
            return False
        self._value, self._attributes = value, attributes
        return True

    async def async_added_to_hass(self) -> None:
        """Show the value known now."""
        self._read()
        await super().async_added_to_hass()

    @callback
    def _handle_coordinator_update(self) -> None:
        self._read()
        super()._handle_coordinator_update()

    @callback
    def _handle_change(self) -> None:
        """Write only a value that changed (a write costs more than the rest of a push)."""
        if self._read():
            self.async_write_ha_state()

    @property
    def native_value(self) -> StateType:
        """The value in the latest payload."""
        return self._value

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Details the state leaves out (the last error's code and text)."""
        return self._attributes

    @property
    def available(self) -> bool:
        """Readings need a live meter; diagnostics only a live gateway."""
        if self.entity_description.diagnostic_source:
            # "No error yet" is a state (unknown), not an unavailable sensor.
            return (
                self.coordinator.data.gateway_online is not False
                and self.entity_description.topic in self.coordinator.data.payloads
            )
        return super().available and self.native_value is not None


class OmnipowerEnergySensor(OmnipowerEntity, RestoreSensor):
    """A register reading that never goes down.

    A 0 or a lower value (a glitch, a half-initialised meter after a power cut) is never shown:
    ``total_increasing`` would read it as a meter reset and count the whole register again. The
    last good value survives restarts, so a bad first reading after a restart is caught too.
    """

    entity_description: OmnipowerSensorEntityDescription
    _last_good: float | None = None

    async def async_added_to_hass(self) -> None:
        """Restore the last good reading."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        if last is not None and isinstance(last.native_value, int | float):
            self._last_good = float(last.native_value)
        self._accept()

    @callback
    def _handle_coordinator_update(self) -> None:
        self._accept()
        super()._handle_coordinator_update()

    @callback
    def _handle_change(self) -> None:
        """Write only a reading that moved the register on."""
        if self._accept():
            self.async_write_ha_state()

    def _accept(self) -> bool:
        """Take the payload's reading unless it is lower; whether the shown value changed."""
        payload = self.coordinator.data.payloads.get(self.entity_description.topic, {})
        value = self.entity_description.value(payload)
        if not isinstance(value, int | float) or value == self._last_good:
            return False
        if self._last_good is not None and value < self._last_good:
            LOGGER.debug(
                "%s: ignoring %s below the last reading %s (not a meter reset)",
                self.entity_id,
                value,
                self._last_good,
            )
            return False
        self._last_good = float(value)
        return True

    @property
    def native_value(self) -> float | None:
        """The highest good reading."""
        return self._last_good

    @property
    def available(self) -> bool:
        """Available while the meter is read and a reading is known."""
        return super().available and self._last_good is not None
