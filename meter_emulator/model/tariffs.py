"""The active tariff: by calendar (Z13 register control), by module inputs, or forced.

A write to ActualTariff (1.1.129.0.0.255) forces a tariff until the force is cleared; the
calendar switches at local meter time (so it follows the meter's DST table), module inputs
select 1-4 (4-tariff: T = 1 + I1 + 2 x I2) or 1-2 (2-tariff: T = 1 + I1), inverted variants
negate the inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from .clock import MINUTE, naive_to_us
from .config import TARIFF_INPUT_MODULES, TariffSwitch

__all__ = ["TariffControl", "TariffSource"]


class TariffSource(Enum):
    """Why a tariff is active (the MQTT contract's "source")."""

    DISABLED = "disabled"
    CALENDAR = "calendar"
    INPUT = "input"
    FORCED = "forced"


@dataclass(slots=True)
class TariffControl:
    """The tariff selector of one meter."""

    control: int  # Z13: 0 disabled, 1 module port, 2 register (calendar)
    calendar: Sequence[TariffSwitch]
    module: int = 0
    forced: int | None = None
    inputs: tuple[bool, bool] = (False, False)

    @property
    def source(self) -> TariffSource:
        """Where the current tariff comes from."""
        if self.forced is not None:
            return TariffSource.FORCED
        return (TariffSource.DISABLED, TariffSource.INPUT, TariffSource.CALENDAR)[self.control]

    def force(self, tariff: int | None) -> None:
        """Write ActualTariff: 1-4 forces that tariff, None (or 0) returns to the plan."""
        if tariff not in (None, 0, 1, 2, 3, 4):
            raise ValueError("ActualTariff takes 1-4 (0 clears the force)")
        self.forced = tariff or None

    def set_inputs(self, first: bool, second: bool) -> None:
        """The module's tariff inputs I1 and I2."""
        self.inputs = (first, second)

    def tariff(self, local: datetime) -> int:
        """The active tariff at meter-local time *local*."""
        if self.forced is not None:
            return self.forced
        if self.control == 1:
            count, inverted = TARIFF_INPUT_MODULES.get(self.module, (4, False))
            first, second = (not i if inverted else i for i in self.inputs)
            return 1 + int(first) + (2 * int(second) if count == 4 else 0)
        if self.control == 2:
            return self._calendar_tariff(local)
        return 1

    def _calendar_tariff(self, local: datetime) -> int:
        for days_back in range(8):
            day = local - timedelta(days=days_back)
            weekday = day.weekday()
            passed = [
                s
                for s in self.calendar
                if weekday in s.days and (days_back > 0 or s.at <= local.time())
            ]
            if passed:
                return max(passed, key=lambda s: s.at).tariff
        return 1

    def next_switch_local(self, local: datetime) -> int | None:
        """Local microseconds of the next calendar switch after *local* (None if none)."""
        if self.control != 2 or self.forced is not None:
            return None
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for days_ahead in range(8):
            day = midnight + timedelta(days=days_ahead)
            times = sorted(
                day.replace(hour=s.at.hour, minute=s.at.minute)
                for s in self.calendar
                if day.weekday() in s.days
            )
            for moment in times:
                if moment > local:
                    return naive_to_us(moment)
        return naive_to_us(midnight) + 8 * 24 * 60 * MINUTE
