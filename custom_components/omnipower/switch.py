"""Breaker and load-relay switches. Their state is only ever the meter's read-back.

Turning one sends a command (id, expiry, signature when configured) and waits for the
gateway's ``cmd/result``; a rejection, failure or timeout raises a translated error and the
state stays what the meter last reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .coordinator import OmnipowerConfigEntry
from .data import MeterData, Payload
from .entity import OmnipowerControl, async_add_when_present, offered_and_read

# One command at a time per meter: the optical port serves one request at a time anyway.
PARALLEL_UPDATES = 1

#: Breaker states in which the installation has power.
POWERED: Final = frozenset({"connected", "log_only", "pre_cutoff_warning"})


def _breaker_on(data: MeterData) -> bool | None:
    state = data.value("breaker", "state")
    if not isinstance(state, str) or state == "unknown":
        return None
    return state in POWERED


def _relay_on(relay: int) -> Callable[[MeterData], bool | None]:
    def is_on(data: MeterData) -> bool | None:
        value = data.value("relays", f"relay_{relay}_on")
        return value if isinstance(value, bool) else None

    return is_on


@dataclass(frozen=True, kw_only=True)
class OmnipowerSwitchEntityDescription(SwitchEntityDescription):
    """A switch backed by a command and a read-back topic."""

    command: str
    topic: str
    is_on_fn: Callable[[MeterData], bool | None]
    watch: frozenset[str]
    relay: int | None = None


SWITCHES: Final = (
    OmnipowerSwitchEntityDescription(
        key="breaker",
        translation_key="breaker",
        command="breaker",
        topic="breaker",
        is_on_fn=_breaker_on,
        watch=frozenset({"state"}),
    ),
    *(
        OmnipowerSwitchEntityDescription(
            key=f"relay_{relay}",
            translation_key="relay",
            translation_placeholders={"relay": str(relay)},
            command="relay",
            topic="relays",
            relay=relay,
            is_on_fn=_relay_on(relay),
            watch=frozenset({f"relay_{relay}_on"}),
        )
        for relay in (1, 2)
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: OmnipowerConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add a switch when its command is offered and its state has been read."""
    coordinator = entry.runtime_data

    def exists(description: OmnipowerSwitchEntityDescription, data: MeterData) -> bool:
        return offered_and_read(coordinator, description.command, description.is_on_fn(data))

    async_add_when_present(entry, SWITCHES, exists, OmnipowerSwitch, async_add_entities)


class OmnipowerSwitch(OmnipowerControl, SwitchEntity):
    """A breaker or relay; on and off are what the meter reads back."""

    entity_description: OmnipowerSwitchEntityDescription

    @property
    def is_on(self) -> bool | None:
        """The read-back state."""
        return self.entity_description.is_on_fn(self.coordinator.data)

    def _has_read_back(self) -> bool:
        return self.is_on is not None

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Reconnect the breaker (releasing it first if needed) or switch the relay on."""
        if self.entity_description.relay is not None:
            await self._send({"relay": self.entity_description.relay, "on": True})
            return
        if self.coordinator.data.value("breaker", "state") == "disconnected":
            await self._send({"action": "release"})
        await self._send({"action": "reconnect"})

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Disconnect the breaker or switch the relay off."""
        if self.entity_description.relay is not None:
            await self._send({"relay": self.entity_description.relay, "on": False})
            return
        await self._send({"action": "disconnect"})

    async def _send(self, args: Payload) -> None:
        description = self.entity_description
        await self._async_command(description.command, args, description.topic)
