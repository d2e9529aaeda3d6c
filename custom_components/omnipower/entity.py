"""The base entity: one device per meter, available while its gateway reads it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, cast

from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN, MANUFACTURER
from .coordinator import OmnipowerConfigEntry, OmnipowerCoordinator
from .data import MeterData, Payload

#: Home Assistant 2026 links devices by id (``via_device`` is deprecated there); 2025.4 only
#: knows the identifier tuple.
VIA_DEVICE_ID: Final = "via_device_id" in DeviceInfo.__annotations__


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def gateway_identifier(gateway_id: str) -> tuple[str, str]:
    """The gateway's device identifier (one gateway may read several meters)."""
    return (DOMAIN, f"gateway_{gateway_id}")


def gateway_name(gateway_id: str) -> str:
    """The gateway's device name; the default id ``omnipower`` is not repeated."""
    return "omnipower gateway" if gateway_id == "omnipower" else f"omnipower gateway {gateway_id}"


def device_info(coordinator: OmnipowerCoordinator) -> DeviceInfo:
    """The meter as a device, from the gateway's ``info``, connected via its gateway."""
    info = coordinator.data.payloads.get("info", {})
    gateway = coordinator.gateway_id
    device = DeviceInfo(
        identifiers={(DOMAIN, coordinator.serial)},
        manufacturer=MANUFACTURER,
        model="OMNIPOWER",
        model_id=_text(info.get("meter_type")),
        name=f"OMNIPOWER {coordinator.serial}",
        serial_number=coordinator.serial,
        # The push list's version is no hardware version: it stays in the diagnostics.
        sw_version=_text(info.get("firmware")),
    )
    if VIA_DEVICE_ID and coordinator.gateway_device_id is not None:
        cast(dict[str, Any], device)["via_device_id"] = coordinator.gateway_device_id
    elif not VIA_DEVICE_ID and gateway is not None:
        device["via_device"] = gateway_identifier(gateway)
    return device


class OmnipowerEntity(CoordinatorEntity[OmnipowerCoordinator]):
    """An entity of one meter, named by its translation key."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: OmnipowerCoordinator, description: EntityDescription) -> None:
        """Name, unique id and device from the description and the meter's serial."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.serial}_{description.key}"
        self._attr_device_info = device_info(coordinator)

    @property
    def available(self) -> bool:
        """Unavailable while the gateway is offline or the meter's data is stale."""
        return self.coordinator.available

    async def async_added_to_hass(self) -> None:
        """Also listen to the changes of the keys this entity shows."""
        await super().async_added_to_hass()
        topic, keys = watched(self.entity_description)
        if topic is not None:
            self.async_on_remove(self.coordinator.async_watch(topic, keys, self._handle_change))

    @callback
    def _handle_change(self) -> None:
        """A key this entity shows changed: write the new state (and only then)."""
        self.async_write_ha_state()

    async def _async_command(self, command: str, args: Payload, readback: str | None) -> None:
        """Send *command*, wait for ``done`` and show its read-back on the *readback* topic.

        The entity never assumes the command worked: its state changes only with what the
        gateway read back from the meter (now, or with the state topic that follows).
        """
        result = await self.coordinator.async_send_command(command, args)
        if readback is not None:
            self.coordinator.async_apply_readback(readback, result.get("state"))


class OmnipowerControl(OmnipowerEntity):
    """A control: it sends one command and shows only what the meter reads back.

    Available while the meter is, while its read-back is known (a control without a read-back,
    a button, returns ``True`` from :meth:`_has_read_back`) and while the gateway still offers
    the command in ``info``: a control the gateway withdraws goes unavailable at once.
    """

    def _has_read_back(self) -> bool:
        """Whether the value this control shows is known."""
        raise NotImplementedError

    @property
    def command(self) -> str:
        """The command this control sends (every control's description names one)."""
        command: str = getattr(self.entity_description, "command")  # noqa: B009
        return command

    @property
    def available(self) -> bool:
        """Needs a live meter, a known read-back and the command still offered."""
        return (
            super().available
            and self._has_read_back()
            and self.command in self.coordinator.offered_commands
        )


def offered_and_read(
    coordinator: OmnipowerCoordinator, command: str, read_back: object | None
) -> bool:
    """Whether a control may be added: the gateway offers its command, its value was read."""
    return command in coordinator.offered_commands and read_back is not None


def watched(description: EntityDescription) -> tuple[str | None, frozenset[str] | None]:
    """The topic and keys a description's entity shows (keys None: any key of the topic).

    Descriptions name them as ``topic`` and ``watch``; without a topic the entity changes
    only with availability, ``info`` or the options, which refresh every entity anyway.
    """
    topic: str | None = getattr(description, "topic", None)
    keys: frozenset[str] | None = getattr(description, "watch", None)
    return topic, keys


@callback
def async_add_when_present[D: EntityDescription](
    entry: OmnipowerConfigEntry,
    descriptions: Sequence[D],
    exists: Callable[[D, MeterData], bool],
    factory: Callable[[OmnipowerCoordinator, D], Entity],
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add an entity for every description once the meter sends its value.

    The push list decides which values exist (a single-phase list has no L2/L3, the optical
    topics appear only with an optical port), so entities are added as keys first appear.
    A description still waiting is looked at again only when one of its keys changes (or on
    a full refresh: availability, ``info``, options), never on every message (issue 12).
    """
    coordinator = entry.runtime_data
    pending: dict[str, D] = {description.key: description for description in descriptions}
    watches: dict[str, CALLBACK_TYPE] = {}

    @callback
    def check(keys: Sequence[str]) -> None:
        new: list[Entity] = []
        for key in keys:
            description = pending.get(key)
            if description is not None and exists(description, coordinator.data):
                del pending[key]
                remove = watches.pop(key, None)
                if remove is not None:
                    remove()
                new.append(factory(coordinator, description))
        if new:
            async_add_entities(new)

    @callback
    def check_all() -> None:
        check(list(pending))

    def checker(key: str) -> Callable[[], None]:
        return lambda: check((key,))

    check_all()
    for key, description in pending.items():
        topic, keys = watched(description)
        if topic is not None:
            watches[key] = coordinator.async_watch(topic, keys, checker(key))

    @callback
    def stop() -> None:
        for remove in watches.values():
            remove()
        watches.clear()

    entry.async_on_unload(coordinator.async_add_listener(check_all))
    entry.async_on_unload(stop)
