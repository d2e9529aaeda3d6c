"""What the supply does at the terminals, and the instantaneous values the meter derives from it.

A :class:`Supply` is the outside world (a scenario or the control socket): per phase the voltage
and the signed active and reactive power of the installation (positive = import from the grid).
:func:`measure` turns it into what the meter measures, given whether the breaker is closed: with
the breaker open no current flows, so every power and current is zero while voltage is still
seen on the grid side. Powers are held as integer milliwatts so energy integrates exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

__all__ = [
    "PHASE_CURRENT_INDICATOR_W",
    "SUPPLY_INDICATOR_V",
    "Measurement",
    "PhaseMeasurement",
    "PhaseSupply",
    "Supply",
    "measure",
]

#: Data sheet, display: "voltage above the minimum threshold (160 V)".
SUPPLY_INDICATOR_V: Final = 160.0
#: Data sheet, display: "load above the minimum threshold (2.3 W)".
PHASE_CURRENT_INDICATOR_W: Final = 2.3
#: Below this on every phase the meter has no supply (EN 50160 interruption: < 5 % of 230 V).
POWER_FAIL_V: Final = 11.5


@dataclass(frozen=True, slots=True)
class PhaseSupply:
    """One phase at the terminals: voltage, and the installation's signed P and Q."""

    voltage_v: float = 230.0
    active_w: float = 0.0  # + import, - export
    reactive_var: float = 0.0  # + inductive (Q12), - capacitive (Q34)


@dataclass(frozen=True, slots=True)
class Supply:
    """The grid and the installation as the meter sees them during a stretch of time."""

    phases: tuple[PhaseSupply, ...] = (PhaseSupply(),)
    frequency_hz: float = 50.0
    thd_pct: float = 2.0  # voltage THD
    neutral_fault: bool = False

    @property
    def powered(self) -> bool:
        """Whether any phase carries enough voltage to run the meter."""
        for phase in self.phases:  # noqa: SIM110 - a loop is faster than any(); hot path
            if phase.voltage_v >= POWER_FAIL_V:
                return True
        return False


#: A phase the supply does not describe: no voltage.
_DEAD_PHASE: Final = PhaseSupply(0.0)


@dataclass(frozen=True, slots=True)
class PhaseMeasurement:
    """Instantaneous values of one phase."""

    voltage_v: float
    active_mw: int  # signed
    reactive_mvar: int  # signed
    current_a: float
    power_factor: float

    @property
    def apparent_va(self) -> float:
        """|S| of the phase."""
        return math.hypot(self.active_mw, self.reactive_mvar) / 1000


@dataclass(frozen=True, slots=True)
class Measurement:
    """Everything the meter measures at one instant."""

    phases: tuple[PhaseMeasurement, ...]
    frequency_hz: float
    thd_pct: float
    powered: bool
    active_mw: int = 0  # net (import - export), the sum of the phases
    reactive_mvar: int = 0

    @property
    def apparent_mva(self) -> int:
        """|S| of the totals, milli-VA (integer, floor)."""
        return math.isqrt(self.active_mw**2 + self.reactive_mvar**2)

    @property
    def power_factor(self) -> float:
        """|P| / S of the totals; 1.0 without load."""
        s = self.apparent_mva
        return abs(self.active_mw) / s if s else 1.0


def measure(supply: Supply, *, phases: int, connected: bool) -> Measurement:
    """The meter's view of *supply* (only its first *phases* phases exist)."""
    # Runs once per scenario step (half a million times a simulated year): plain loops, and the
    # integer totals summed as we go.
    powered = supply.powered
    present = supply.phases
    out = []
    total_p = total_q = 0
    for index in range(phases):
        phase = present[index] if index < len(present) else _DEAD_PHASE
        voltage = max(phase.voltage_v, 0.0)
        flowing = connected and powered and voltage >= POWER_FAIL_V
        p = round(phase.active_w * 1000) if flowing else 0
        q = round(phase.reactive_var * 1000) if flowing else 0
        s_va = math.hypot(p, q) / 1000
        current = s_va / voltage if flowing and voltage else 0.0
        pf = abs(p) / 1000 / s_va if s_va else 1.0
        out.append(PhaseMeasurement(voltage if powered else 0.0, p, q, current, pf))
        total_p += p
        total_q += q
    return Measurement(
        tuple(out),
        supply.frequency_hz if powered else 0.0,
        supply.thd_pct,
        powered,
        total_p,
        total_q,
    )
