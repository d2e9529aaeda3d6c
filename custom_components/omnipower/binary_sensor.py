"""Binary sensors: tamper, power failure, low credit, breaker fault, gateway connectivity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .coordinator import OmnipowerConfigEntry
from .data import MeterData
from .entity import OmnipowerEntity, async_add_when_present

PARALLEL_UPDATES = 0


def _flag(topic: str, key: str) -> Callable[[MeterData], bool | None]:
    def value(data: MeterData) -> bool | None:
        flag = data.value(topic, key)
        return flag if isinstance(flag, bool) else None

    return value


def _switch_error(data: MeterData) -> bool | None:
    feedback = data.value("breaker", "feedback")
    flag = feedback.get("switch_error") if isinstance(feedback, dict) else None
    return flag if isinstance(flag, bool) else None


@dataclass(frozen=True, kw_only=True)
class OmnipowerBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A flag of one contract topic."""

    topic: str
    is_on_fn: Callable[[MeterData], bool | None]
    #: The keys ``is_on_fn`` reads.
    watch: frozenset[str] | None = None


BINARY_SENSORS: Final = (
    OmnipowerBinarySensorEntityDescription(
        key="cover_open",
        topic="status",
        translation_key="cover_open",
        device_class=BinarySensorDeviceClass.TAMPER,
        is_on_fn=_flag("status", "cover_open"),
        watch=frozenset({"cover_open"}),
    ),
    OmnipowerBinarySensorEntityDescription(
        key="magnet_detected",
        topic="status",
        translation_key="magnet_detected",
        device_class=BinarySensorDeviceClass.TAMPER,
        is_on_fn=_flag("status", "magnet_detected"),
        watch=frozenset({"magnet_detected"}),
    ),
    OmnipowerBinarySensorEntityDescription(
        key="power_failure",
        topic="status",
        translation_key="power_failure",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=_flag("status", "power_failure"),
        watch=frozenset({"power_failure"}),
    ),
    OmnipowerBinarySensorEntityDescription(
        key="low_credit",
        topic="prepayment",
        translation_key="low_credit",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=_flag("prepayment", "low_credit"),
        watch=frozenset({"low_credit"}),
    ),
    OmnipowerBinarySensorEntityDescription(
        key="breaker_switch_error",
        topic="breaker",
        translation_key="breaker_switch_error",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=_switch_error,
        watch=frozenset({"feedback"}),
    ),
)

GATEWAY: Final = OmnipowerBinarySensorEntityDescription(
    key="gateway_online",
    topic="info",
    translation_key="gateway_online",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
    is_on_fn=lambda data: data.gateway_online,
    watch=frozenset(),  # availability: every entity refreshes with it
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: OmnipowerConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the gateway's connectivity now, the rest as their topics appear."""
    coordinator = entry.runtime_data
    async_add_entities([OmnipowerGatewaySensor(coordinator, GATEWAY)])
    async_add_when_present(
        entry,
        BINARY_SENSORS,
        lambda description, data: description.is_on_fn(data) is not None,
        OmnipowerBinarySensor,
        async_add_entities,
    )


class OmnipowerBinarySensor(OmnipowerEntity, BinarySensorEntity):
    """A flag from the latest payload of its topic."""

    entity_description: OmnipowerBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        """The flag."""
        return self.entity_description.is_on_fn(self.coordinator.data)

    @property
    def available(self) -> bool:
        """Needs a live meter and a value."""
        return super().available and self.is_on is not None


class OmnipowerGatewaySensor(OmnipowerBinarySensor):
    """Whether the gateway is connected to the broker (its retained state and last will)."""

    @property
    def available(self) -> bool:
        """Known once the gateway has said online or offline."""
        return self.coordinator.data.gateway_online is not None
