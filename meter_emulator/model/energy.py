"""Energy registers, integrated exactly: integer milliwatts x integer microseconds.

Each register accumulates nanojoules (mW x us), so integration has no rounding at all and the
same power history gives the same registers whatever the step size. Readings truncate to the
register resolution, as a meter's display does. Quadrants follow IEC 62053-23: Q1 (P+, Q+),
Q2 (P-, Q+), Q3 (P-, Q-), Q4 (P+, Q-); R+ = R1 + R2, R- = R3 + R4. Apparent energy E+ is
counted while the net active power is imported, E- while exported.

The total registers integrate the net (vector-summed) power; the per-phase registers integrate
each phase on its own. Which registers exist depends on the energy type (X9).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final

from .identity import EnergyType
from .power import Measurement

__all__ = ["NJ_PER_WH", "EnergyRegisters", "register_names"]

#: 1 Wh = 3600 J = 3.6e12 nJ.
NJ_PER_WH: Final = 3_600_000_000_000


def register_names(energy_type: EnergyType, phases: int) -> tuple[str, ...]:
    """The registers a meter of this energy type and phase count keeps."""
    names = ["a_plus", *(f"a_plus_t{t}" for t in range(1, 5))]
    names += [f"a_plus_l{n}" for n in range(1, phases + 1)]
    if energy_type.has_export:
        names += ["a_minus", *(f"a_minus_l{n}" for n in range(1, phases + 1))]
    if energy_type.has_reactive:
        names += ["r_plus", "r_minus", "r1", "r2", "r3", "r4", "e_plus", "e_minus"]
        names += [f"r_plus_t{t}" for t in range(1, 5)]
    return tuple(names)


class EnergyRegisters:
    """The meter's energy registers in nanojoules (or nano-varh-equivalents)."""

    __slots__ = ("_export", "_reactive", "nj", "phases")

    def __init__(self, energy_type: EnergyType, phases: int) -> None:
        self.phases = phases
        self._export = energy_type.has_export
        self._reactive = energy_type.has_reactive
        self.nj: dict[str, int] = dict.fromkeys(register_names(energy_type, phases), 0)

    def integrate(self, measurement: Measurement, dt_us: int, tariff: int) -> None:
        """Add *dt_us* microseconds of *measurement* (constant over the stretch)."""
        if dt_us <= 0:
            return
        nj = self.nj
        p = measurement.active_mw
        q = measurement.reactive_mvar
        if p > 0:
            nj["a_plus"] += p * dt_us
            nj[f"a_plus_t{tariff}"] += p * dt_us
        elif p < 0 and self._export:
            nj["a_minus"] -= p * dt_us
        for index, phase in enumerate(measurement.phases, start=1):
            if phase.active_mw > 0:
                nj[f"a_plus_l{index}"] += phase.active_mw * dt_us
            elif phase.active_mw < 0 and self._export:
                nj[f"a_minus_l{index}"] -= phase.active_mw * dt_us
        if not self._reactive:
            return
        if q > 0:
            nj["r_plus"] += q * dt_us
            nj[f"r_plus_t{tariff}"] += q * dt_us
            nj["r1" if p >= 0 else "r2"] += q * dt_us
        elif q < 0:
            nj["r_minus"] -= q * dt_us
            nj["r3" if p < 0 else "r4"] -= q * dt_us
        s = math.isqrt(p * p + q * q)
        if p >= 0:
            nj["e_plus"] += s * dt_us
        else:
            nj["e_minus"] += s * dt_us

    def wh(self, name: str) -> int:
        """Whole Wh (varh, VAh) of register *name*, truncated."""
        return self.nj[name] // NJ_PER_WH

    def has(self, name: str) -> bool:
        """Whether the meter keeps *name*."""
        return name in self.nj

    def snapshot_wh(self, names: Iterable[str] | None = None) -> dict[str, int]:
        """Whole-Wh readings of *names* (default: all)."""
        return {n: self.nj[n] // NJ_PER_WH for n in (names if names is not None else self.nj)}

    def to_state(self) -> dict[str, int]:
        """What survives a restart (exact nanojoules)."""
        return dict(self.nj)

    def load_state(self, state: dict[str, int]) -> None:
        """Restore :meth:`to_state` (registers this meter lacks are ignored)."""
        for name in self.nj:
            self.nj[name] = int(state.get(name, 0))
