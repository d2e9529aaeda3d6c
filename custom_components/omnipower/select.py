"""Selects: the tariff, and the power controls (breaker, load relays).

The option shown is only ever the meter's read-back (``tariff``, ``breaker`` and ``relays``
topics); choosing one sends the command and waits for the gateway's ``cmd/result``.

The breaker and the relays are selects, not switches, so that nothing can cut the house by
accident: the dashboard's entities card toggles every entity of the toggle domains together
from its header (the frontend's ``DOMAINS_TOGGLE``: fan, input_boolean, light, switch, group,
automation, humidifier, valve), ``switch.turn_off`` on an area reaches every switch in it,
``homeassistant.turn_off`` turns off whatever supports it, and voice assistants see switches
by default. A select is none of these: it changes only when someone picks the other option
in its own dialog (docs/home-assistant.md, "Power controls").
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

# One command at a time per platform; the gateway queues a meter's commands and runs them one
# after another on its optical port.
PARALLEL_UPDATES = 1

AUTO: Final = "auto"
#: The tariffs the ``tariff`` command can force (OMNIPOWER uses 1–4 of ActualTariff's 1–8).
FORCEABLE: Final = (1, 2, 3, 4)
TARIFF_OPTIONS: Final = [AUTO, *(f"force_{tariff}" for tariff in FORCEABLE)]
#: Sources in which the meter chooses the tariff itself (docs/mqtt.md, ``tariff`` topic).
AUTOMATIC_SOURCES: Final = frozenset({"calendar", "input"})
CONNECTED: Final = "connected"
DISCONNECTED: Final = "disconnected"
#: Breaker states in which the installation has power.
POWERED: Final = frozenset({"connected", "log_only", "pre_cutoff_warning"})
ON: Final = "on"
OFF: Final = "off"


def _tariff_option(data: MeterData) -> str | None:
    source = data.value("tariff", "source")
    if source in AUTOMATIC_SOURCES:
        return AUTO
    tariff = data.value("tariff", "active_tariff")
    if source == "forced" and tariff in FORCEABLE and not isinstance(tariff, bool):
        return f"force_{tariff}"
    return None


def _tariff_steps(data: MeterData, option: str) -> list[Payload]:
    if option == AUTO:
        return [{"mode": "auto"}]
    return [{"mode": "force", "tariff": int(option.removeprefix("force_"))}]


def _breaker_option(data: MeterData) -> str | None:
    state = data.value("breaker", "state")
    if not isinstance(state, str) or state == "unknown":
        return None
    return CONNECTED if state in POWERED else DISCONNECTED


def _breaker_steps(data: MeterData, option: str) -> list[Payload]:
    if option == DISCONNECTED:
        return [{"action": "disconnect"}]
    # A disconnected breaker must be released before it can be reconnected.
    if data.value("breaker", "state") == "disconnected":
        return [{"action": "release"}, {"action": "reconnect"}]
    return [{"action": "reconnect"}]


def _relay_option(relay: int) -> Callable[[MeterData], str | None]:
    def option(data: MeterData) -> str | None:
        value = data.value("relays", f"relay_{relay}_on")
        return None if not isinstance(value, bool) else ON if value else OFF

    return option


def _relay_steps(relay: int) -> Callable[[MeterData, str], list[Payload]]:
    def steps(data: MeterData, option: str) -> list[Payload]:
        return [{"relay": relay, "on": option == ON}]

    return steps


@dataclass(frozen=True, kw_only=True)
class OmnipowerSelectEntityDescription(SelectEntityDescription):
    """A select backed by a command and a read-back topic."""

    command: str
    topic: str
    option_fn: Callable[[MeterData], str | None]
    #: The command arguments that lead to an option, sent one after another.
    steps_fn: Callable[[MeterData, str], list[Payload]]
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
        steps_fn=_tariff_steps,
        watch=frozenset({"source", "active_tariff"}),
    ),
    OmnipowerSelectEntityDescription(
        key="breaker",
        translation_key="breaker",
        options=[CONNECTED, DISCONNECTED],
        command="breaker",
        topic="breaker",
        option_fn=_breaker_option,
        steps_fn=_breaker_steps,
        watch=frozenset({"state"}),
    ),
    *(
        OmnipowerSelectEntityDescription(
            key=f"relay_{relay}",
            translation_key="relay",
            translation_placeholders={"relay": str(relay)},
            options=[ON, OFF],
            command="relay",
            topic="relays",
            option_fn=_relay_option(relay),
            steps_fn=_relay_steps(relay),
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
        """Send the commands for *option*, each waiting for done, and show the read-back."""
        description = self.entity_description
        for args in description.steps_fn(self.coordinator.data, option):
            await self._async_command(description.command, args, description.topic)
