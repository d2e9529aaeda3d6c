"""What drives the meter from outside: a load source (scenario) and its discrete actions.

Time here is integer microseconds since the epoch (UTC), like everywhere in the model. A source
is piecewise constant: :meth:`LoadSource.supply_at` holds from a change until the next one, so
the meter integrates each stretch exactly and the result does not depend on how often the
caller advances it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from .power import Supply

__all__ = ["Action", "ActionKind", "ConstantLoad", "LoadSource"]


class ActionKind(Enum):
    """Things that happen to a meter at an instant."""

    MAGNET = "magnet"  # value: 1 applied, 0 removed
    COVER = "cover"  # value: 1 opened, 0 closed
    BUTTON = "button"  # push button held for 6 s
    TOP_UP = "top_up"  # value: kWh
    TARIFF_INPUTS = "tariff_inputs"  # value: I1 + 2 x I2
    PULSES = "pulses"  # value: pulses on the module's pulse input
    LOAD_CONTROL = "load_control"  # value: 1 cut, 0 release (module load-control input)


@dataclass(frozen=True, slots=True)
class Action:
    """One action and its argument."""

    kind: ActionKind
    value: float = 0.0


class LoadSource(Protocol):
    """A piecewise-constant supply, plus actions at its change points."""

    def supply_at(self, true_us: int) -> Supply:
        """The supply in force at *true_us*."""
        ...

    def next_change(self, true_us: int) -> int | None:
        """The first change strictly after *true_us* (None: never)."""
        ...

    def actions_at(self, true_us: int) -> Sequence[Action]:
        """Actions happening exactly at change point *true_us*."""
        ...


@dataclass(frozen=True, slots=True)
class ConstantLoad:
    """The same supply forever."""

    supply: Supply = field(default_factory=Supply)

    def supply_at(self, true_us: int) -> Supply:
        """Always the same."""
        return self.supply

    def next_change(self, true_us: int) -> int | None:
        """Never."""
        return None

    def actions_at(self, true_us: int) -> Sequence[Action]:
        """None."""
        return ()
