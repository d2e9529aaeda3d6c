"""Small builders shared by the model tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from meter_emulator.model import CouplingState, Meter, PhaseSupply, Supply, parse_config
from meter_emulator.model.clock import to_us
from meter_emulator.model.source import Action, ConstantLoad

START = datetime(2024, 1, 1, tzinfo=UTC)
SINGLE = "6861111BN242101040"
THREE = "6841131BN243101040"


def config(**tables: Any) -> Any:
    """A MeterConfig from TOML-like tables."""
    return parse_config(tables)


def load(
    active_w: float, reactive_var: float = 0.0, voltage_v: float = 230.0, phases: int = 1
) -> Supply:
    """The same load on every phase."""
    return Supply(tuple(PhaseSupply(voltage_v, active_w, reactive_var) for _ in range(phases)))


def meter(supply: Supply | None = None, start: datetime = START, **tables: Any) -> Meter:
    """A meter on a constant supply."""
    return Meter(config(**tables), start=start, source=ConstantLoad(supply or load(0.0)))


@dataclass
class Steps:
    """A scripted source: (true time, supply, actions) change points."""

    changes: Sequence[tuple[datetime, Supply, tuple[Action, ...]]]
    initial: Supply = field(default_factory=lambda: load(0.0))

    def supply_at(self, true_us: int) -> Supply:
        current = self.initial
        for at, supply, _actions in self.changes:
            if to_us(at) <= true_us:
                current = supply
        return current

    def next_change(self, true_us: int) -> int | None:
        later = [to_us(at) for at, _s, _a in self.changes if to_us(at) > true_us]
        return min(later) if later else None

    def actions_at(self, true_us: int) -> Sequence[Action]:
        return [a for at, _s, actions in self.changes if to_us(at) == true_us for a in actions]


def state(m: Meter) -> CouplingState:
    """The breaker state (a call, so that mypy does not narrow it between assertions)."""
    return m.breaker.state


def low(m: Meter) -> bool:
    """Whether the prepayment credit is low (a call, for the same reason)."""
    return m.prepayment.low_credit
