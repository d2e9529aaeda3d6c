"""Event entities: what automations react to (tariff, breaker, tamper, sags and swells,
demand peaks and capacity steps)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .coordinator import OmnipowerConfigEntry
from .data import MeterData, Payload
from .entity import OmnipowerEntity, async_add_when_present

PARALLEL_UPDATES = 0

#: Fields of an event payload that are not attributes of the fired event.
_ENVELOPE: Final = frozenset({"ts", "schema", "type", "id"})


def _tamper(payload: Payload) -> str | None:
    kind, active = payload.get("kind"), payload.get("active")
    if kind == "cover":
        return "cover_opened" if active else "cover_closed"
    if kind == "magnet":
        return "magnet_detected" if active else "magnet_removed"
    return None


def _power_failure(payload: Payload) -> str:
    return "power_failure_ended" if payload.get("ended") else "power_failure_started"


def _same(payload: Payload) -> str | None:
    kind = payload.get("type")
    return kind if isinstance(kind, str) else None


def _capability(name: str) -> Callable[[MeterData], bool]:
    def exists(data: MeterData) -> bool:
        capabilities = data.value("info", "capabilities")
        return isinstance(capabilities, dict) and capabilities.get(name) is True

    return exists


def _demand(data: MeterData) -> bool:
    return "demand" in data.payloads


def _optical(data: MeterData) -> bool:
    ports = data.value("info", "ports")
    return isinstance(ports, list) and "optical" in ports


@dataclass(frozen=True, kw_only=True)
class OmnipowerEventEntityDescription(EventEntityDescription):
    """Which contract events an entity fires, and under which event type."""

    sources: frozenset[str]
    event_type_fn: Callable[[Payload], str | None] = _same
    exists_fn: Callable[[MeterData], bool]
    #: The state topic (and its keys) whose arrival can make ``exists_fn`` true, when that is
    #: not ``info``: the entity is then added as soon as that topic first appears.
    topic: str | None = None
    watch: frozenset[str] | None = None


EVENTS: Final = (
    OmnipowerEventEntityDescription(
        key="tariff_event",
        translation_key="tariff_event",
        event_types=["tariff_changed"],
        sources=frozenset({"tariff_changed"}),
        exists_fn=_capability("tariffs"),
    ),
    OmnipowerEventEntityDescription(
        key="breaker_event",
        translation_key="breaker_event",
        event_types=["breaker_changed"],
        sources=frozenset({"breaker_changed"}),
        exists_fn=_capability("breaker"),
    ),
    OmnipowerEventEntityDescription(
        key="tamper_event",
        translation_key="tamper_event",
        event_types=["cover_opened", "cover_closed", "magnet_detected", "magnet_removed"],
        sources=frozenset({"tamper"}),
        event_type_fn=_tamper,
        exists_fn=_optical,
    ),
    OmnipowerEventEntityDescription(
        key="voltage_event",
        translation_key="voltage_event",
        event_types=["voltage_sag", "voltage_swell"],
        sources=frozenset({"voltage_sag", "voltage_swell"}),
        exists_fn=_capability("power_quality"),
    ),
    OmnipowerEventEntityDescription(
        key="power_failure_event",
        translation_key="power_failure_event",
        event_types=["power_failure_started", "power_failure_ended"],
        sources=frozenset({"power_failure"}),
        event_type_fn=_power_failure,
        exists_fn=_optical,
    ),
    OmnipowerEventEntityDescription(
        key="demand_event",
        translation_key="demand_event",
        event_types=["demand_peak", "demand_step_changed"],
        sources=frozenset({"demand_peak", "demand_step_changed"}),
        exists_fn=_demand,
        topic="demand",
        watch=frozenset({"rule"}),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: OmnipowerConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the event entities the gateway's capabilities call for."""
    async_add_when_present(
        entry,
        EVENTS,
        lambda description, data: description.exists_fn(data),
        OmnipowerEvent,
        async_add_entities,
    )


class OmnipowerEvent(OmnipowerEntity, EventEntity):
    """Fires for every new event of its kinds (duplicates after a reconnect are dropped)."""

    entity_description: OmnipowerEventEntityDescription

    async def async_added_to_hass(self) -> None:
        """Listen to the coordinator's events."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.async_add_event_listener(self._on_event))

    @callback
    def _on_event(self, payload: Payload) -> None:
        if payload.get("type") not in self.entity_description.sources:
            return
        event_type = self.entity_description.event_type_fn(payload)
        if event_type is None or event_type not in self.event_types:
            return
        attributes: dict[str, Any] = {
            key: value for key, value in payload.items() if key not in _ENVELOPE
        }
        attributes["meter_time"] = payload.get("ts")
        self._trigger_event(event_type, attributes)
        self.async_write_ha_state()

    @property
    def available(self) -> bool:
        """Events need a gateway that is online; staleness of readings does not matter."""
        return self.coordinator.data.gateway_online is not False
