"""Tamper detection, load-control relays and the status words.

MeterStatus (1.1.97.97.0.255) bits follow [DLMS] §3: b0 reset, b2 magnet, b6 cover
open. The bit layout of EventStatusA/B (0.1.96.10.1/2.255) is not public; the emulator assigns
the bits of :class:`EventStatus` and documents them here. A tamper is *temporary* while it
lasts and *permanent* (latched) until the event status is cleared, as the data sheet's tamper
symbol distinguishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag
from typing import Any

__all__ = ["EventStatus", "MeterStatus", "Relays", "Tamper"]


class MeterStatus(IntFlag):
    """MeterStatus 1.1.97.97.0.255."""

    NONE = 0
    RESET = 0x01
    MAGNET = 0x04
    COVER_OPEN = 0x40


class EventStatus(IntFlag):
    """EventStatusA bits (emulator's assignment; latched until cleared)."""

    NONE = 0
    POWER_FAILURE = 1 << 0
    MAGNET = 1 << 1
    COVER_OPENED = 1 << 2
    BREAKER_OPENED = 1 << 3
    VOLTAGE_SAG = 1 << 4
    VOLTAGE_SWELL = 1 << 5
    LOW_CREDIT = 1 << 6
    CLOCK_INVALID = 1 << 7
    CLOCK_ADJUSTED = 1 << 8
    TARIFF_FORCED = 1 << 9
    ALARM_INPUT = 1 << 10  # the module's alarm input (Z3 with alarm in, Z8 active)


@dataclass(slots=True)
class Tamper:
    """Magnetic influence and the terminal cover."""

    magnet: bool = False
    cover_open: bool = False
    magnet_count: int = 0
    cover_count: int = 0

    def set_magnet(self, active: bool) -> bool:
        """True when this starts a magnet event."""
        started = active and not self.magnet
        self.magnet = active
        self.magnet_count += int(started)
        return started

    def set_cover(self, opened: bool) -> bool:
        """True when this opens the cover."""
        started = opened and not self.cover_open
        self.cover_open = opened
        self.cover_count += int(started)
        return started

    def to_state(self) -> dict[str, Any]:
        """What survives a restart."""
        return {
            "magnet": self.magnet,
            "cover_open": self.cover_open,
            "magnet_count": self.magnet_count,
            "cover_count": self.cover_count,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`to_state`."""
        self.magnet = bool(state["magnet"])
        self.cover_open = bool(state["cover_open"])
        self.magnet_count = int(state["magnet_count"])
        self.cover_count = int(state["cover_count"])


@dataclass(slots=True)
class Relays:
    """Load-control relays 1 and 2 (Load1Active, Load2Active 1.1.96.52.1/3.255).

    With load control by register (Z14 = 1) relay 1 follows the tariff plan: on in tariff 1
    (the cheap period of the default calendar), relay 2 stays under command.
    """

    relay1: bool = False
    relay2: bool = False
    follows_tariff: bool = False

    def set(self, relay: int, on: bool) -> None:
        """Switch relay 1 or 2."""
        if relay == 1:
            self.relay1 = on
        elif relay == 2:
            self.relay2 = on
        else:
            raise ValueError("the meter has load-control relays 1 and 2")

    def on_tariff(self, tariff: int) -> None:
        """Register control: relay 1 on in tariff 1."""
        if self.follows_tariff:
            self.relay1 = tariff == 1

    def to_state(self) -> dict[str, Any]:
        """What survives a restart."""
        return {"relay1": self.relay1, "relay2": self.relay2}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`to_state`."""
        self.relay1 = bool(state["relay1"])
        self.relay2 = bool(state["relay2"])
