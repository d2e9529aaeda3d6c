"""The LCD as text: three display lists, the value field at the register format, and symbols.

Data sheet: the automatic list (up to 16 readings) scrolls every 10 s; a short press of the left
push button enters the manual list (up to 30 readings; legal readings cannot be deselected) and
steps through it; two minutes after the last press the display returns to automatic scroll.
Without supply the battery list (up to 8 readings) is shown, stepped by the button.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .config import DisplayConfig

__all__ = ["LEGAL", "LIST_LIMITS", "Display", "format_value"]

#: The three lists' lengths (data sheet: 16 automatic, 30 manual, 8 battery readings).
LIST_LIMITS: Final = {"auto": 16, "manual": 30, "battery": 8}
SCROLL_US: Final = 10_000_000
MANUAL_TIMEOUT_US: Final = 120_000_000
#: Readings the manual list always shows (MID: the billing register).
LEGAL: Final = ("1.8.0",)
_ENERGY_UNITS: Final = frozenset({"kWh", "kvarh", "kVAh"})


def format_value(value: Any, unit: str, display_format: tuple[int, int]) -> str:
    """The 9-digit value field: energy truncated to the register format (with roll-over)."""
    if unit in _ENERGY_UNITS and isinstance(value, int | float):
        digits, decimals = display_format
        scaled = math.floor(value * 10**decimals + 1e-9) % 10 ** (digits + decimals)
        text = f"{scaled:0{digits + decimals}d}"
        return f"{text[:digits]}.{text[digits:]}" if decimals else text
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


@dataclass(slots=True)
class Display:
    """Which reading the LCD shows."""

    config: DisplayConfig
    manual_index: int = -1
    last_press_us: int | None = None
    battery_index: int = 0
    #: Lists written by remote display configuration (kept in the state file; the others
    #: follow ``[display]`` at every start).
    remote: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    @property
    def manual_list(self) -> tuple[str, ...]:
        """The manual list with the legal readings first if they were left out."""
        missing = tuple(code for code in LEGAL if code not in self.config.manual)
        return (*missing, *self.config.manual)

    def configure(self, name: str, codes: tuple[str, ...], known: frozenset[str]) -> None:
        """Replace one list (remote display configuration); ValueError changes nothing.

        Every reading must be one the meter has, the list within its limit, and the manual
        list must keep the legal readings (they cannot be deselected).
        """
        limit = LIST_LIMITS.get(name)
        if limit is None:
            raise ValueError(f"no display list {name!r} (auto, manual or battery)")
        if not 1 <= len(codes) <= limit:
            raise ValueError(f"the {name} list takes 1 to {limit} readings, not {len(codes)}")
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise ValueError(f"the meter has no reading {unknown[0]}")
        missing = [code for code in LEGAL if code not in codes]
        if name == "manual" and missing:
            raise ValueError(f"the legal reading {missing[0]} cannot leave the manual list")
        self.config = dataclasses.replace(self.config, **{name: codes})
        self.remote[name] = codes
        self.manual_index = -1
        self.battery_index = 0

    def press(self, now_us: int, *, powered: bool) -> None:
        """A short press of the left push button."""
        if not powered:
            self.battery_index = (self.battery_index + 1) % max(len(self.config.battery), 1)
            return
        if not self.in_manual(now_us):
            self.manual_index = -1
        self.manual_index = (self.manual_index + 1) % len(self.manual_list)
        self.last_press_us = now_us

    def in_manual(self, now_us: int) -> bool:
        """Whether the manual list is showing."""
        return self.last_press_us is not None and now_us - self.last_press_us < MANUAL_TIMEOUT_US

    def current(self, now_us: int, *, powered: bool) -> tuple[str, str]:
        """(list name, OBIS C.D.E) shown now."""
        if not powered:
            battery = self.config.battery or LEGAL
            return "battery", battery[self.battery_index % len(battery)]
        if self.in_manual(now_us):
            return "manual", self.manual_list[self.manual_index]
        auto = self.config.auto or LEGAL
        return "auto", auto[(now_us // SCROLL_US) % len(auto)]

    def render(
        self,
        now_us: int,
        readings: Mapping[str, tuple[Any, str]],
        symbols: Mapping[str, Any],
        display_format: tuple[int, int],
        *,
        powered: bool,
    ) -> str:
        """Two lines of text: identification, value and unit; then the symbols."""
        mode, code = self.current(now_us, powered=powered)
        value, unit = readings.get(code, ("-", ""))
        line = f"{code:<7} {format_value(value, unit, display_format):>10} {unit}".rstrip()
        flags = [f"{mode}"]
        flags += [
            name if shown is True else f"{name}:{shown}" for name, shown in symbols.items() if shown
        ]
        return f"{line}\n{' '.join(flags)}"
