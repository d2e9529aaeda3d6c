"""The tariff control: the meter's own calendar, or one tariff forced.

The selected option is only ever the meter's read-back (``tariff`` topic); choosing one sends
the ``tariff`` command and waits for the gateway's ``cmd/result``, like the switches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .coordinator import OmnipowerConfigEntry
from .data import MeterData, Payload
from .entity import OmnipowerControl, async_add_when_present, offered_and_read

# One command at a time per platform, as for the switches; the gateway queues a meter's
# commands and runs them one after another on its optical port.
PARALLEL_UPDATES = 1

AUTO: Final = "auto"
#: The tariffs the ``tariff`` command can force (OMNIPOWER uses 1–4 of ActualTariff's 1–8).
FORCEABLE: Final = (1, 2, 3, 4)
TARIFF_OPTIONS: Final = [AUTO, *(f"force_{tariff}" for tariff in FORCEABLE)]
#: Sources in which the meter chooses the tariff itself (docs/mqtt.md, ``tariff`` topic).
AUTOMATIC_SOURCES: Final = frozenset({"calendar", "input"})


def _tariff_option(data: MeterData) -> str | None:
    source = data.value("tariff", "source")
    if source in AUTOMATIC_SOURCES:
        return AUTO
    tariff = data.value("tariff", "active_tariff")
    if source == "forced" and tariff in FORCEABLE and not isinstance(tariff, bool):
        return f"force_{tariff}"
    return None


def _tariff_args(option: str) -> Payload:
    if option == AUTO:
        return {"mode": "auto"}
    return {"mode": "force", "tariff": int(option.removeprefix("force_"))}


@dataclass(frozen=True, kw_only=True)
class OmnipowerSelectEntityDescription(SelectEntityDescription):
    """A select backed by a command and a read-back topic."""

    command: str
    topic: str
    option_fn: Callable[[MeterData], str | None]
    args_fn: Callable[[str], Payload]
    watch: frozenset[str]


SELECTS: Final = (
    OmnipowerSelectEntityDescription(
        key="tariff",
        translation_key="tariff",
        entity_category=EntityCategory.CONFIG,
        options=TARIFF_OPTIONS,
        command="tariff",
        topic="tariff",
        option_fn=_tariff_option,
        watch=frozenset({"source", "active_tariff"}),
        args_fn=_tariff_args,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: OmnipowerConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add a select when its command is offered and its state has been read."""
    coordinator = entry.runtime_data

    def exists(description: OmnipowerSelectEntityDescription, data: MeterData) -> bool:
        return offered_and_read(coordinator, description.command, description.option_fn(data))

    async_add_when_present(entry, SELECTS, exists, OmnipowerSelect, async_add_entities)


class OmnipowerSelect(OmnipowerControl, SelectEntity):
    """A choice the meter confirms; the option shown is what it reads back."""

    entity_description: OmnipowerSelectEntityDescription

    @property
    def current_option(self) -> str | None:
        """The read-back option."""
        return self.entity_description.option_fn(self.coordinator.data)

    def _has_read_back(self) -> bool:
        return self.current_option is not None

    async def async_select_option(self, option: str) -> None:
        """Send the command for *option* and show what the meter reads back."""
        description = self.entity_description
        await self._async_command(
            description.command, description.args_fn(option), description.topic
        )
