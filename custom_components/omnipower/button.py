"""One-shot commands: synchronise the meter's clock, poll everything now.

Pressing one sends the command and waits for the gateway's ``cmd/result``, like the power controls;
a refusal, failure or timeout raises a translated error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .coordinator import OmnipowerConfigEntry
from .data import MeterData
from .entity import OmnipowerControl, async_add_when_present

# One command at a time per platform, as for the power controls; the gateway queues a meter's
# commands and runs them one after another on its optical port.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class OmnipowerButtonEntityDescription(ButtonEntityDescription):
    """A button that sends a command without arguments."""

    command: str
    #: The topic whose payload the command's ``done`` carries; None when the gateway
    #: publishes the topics itself (``refresh`` polls all of them).
    readback: str | None


BUTTONS: Final = (
    OmnipowerButtonEntityDescription(
        key="clock_sync",
        translation_key="clock_sync",
        entity_category=EntityCategory.CONFIG,
        command="clock_sync",
        readback="clock",
    ),
    OmnipowerButtonEntityDescription(
        key="refresh",
        translation_key="refresh",
        entity_category=EntityCategory.DIAGNOSTIC,
        command="refresh",
        readback=None,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: OmnipowerConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add a button once the gateway and the options offer its command."""
    coordinator = entry.runtime_data

    def exists(description: OmnipowerButtonEntityDescription, data: MeterData) -> bool:
        return description.command in coordinator.offered_commands

    async_add_when_present(entry, BUTTONS, exists, OmnipowerButton, async_add_entities)


class OmnipowerButton(OmnipowerControl, ButtonEntity):
    """A command without arguments."""

    entity_description: OmnipowerButtonEntityDescription

    def _has_read_back(self) -> bool:
        return True  # nothing to read back: pressing is the whole state

    async def async_press(self) -> None:
        """Send the command and wait for the gateway to carry it out."""
        description = self.entity_description
        await self._async_command(description.command, {}, description.readback)
