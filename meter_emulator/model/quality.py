"""Power quality after EN 50160: sags, swells and interruptions per phase, with counters and
event records; 10-minute voltage variations; the instantaneous THD and voltage unbalance.

EN 50160 thresholds, relative to the nominal voltage Un: a sag starts below 90 % Un, a swell
above 110 % Un, an interruption below 5 % Un. An event lasts from the first stretch of time
beyond the threshold to the first one back inside; its record keeps the extreme voltage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Final

from .power import Measurement, Supply

__all__ = ["PowerQuality", "VoltageEvent", "VoltageState"]

SAG_FRACTION: Final = 0.90
SWELL_FRACTION: Final = 1.10
INTERRUPTION_FRACTION: Final = 0.05
RECORDS_DEPTH: Final = 100


class VoltageState(Enum):
    """Where one phase's voltage is."""

    NORMAL = "normal"
    SAG = "sag"
    SWELL = "swell"
    INTERRUPTION = "interruption"


@dataclass(frozen=True, slots=True)
class VoltageEvent:
    """A finished sag, swell or interruption."""

    phase: int
    kind: VoltageState
    start: datetime
    duration_s: float
    extreme_v: float


@dataclass(slots=True)
class _Running:
    kind: VoltageState
    start: datetime
    start_us: int
    extreme_v: float


@dataclass(slots=True)
class PowerQuality:
    """Voltage event detection for every phase."""

    nominal_v: float
    phases: int
    counters: dict[str, int] = field(default_factory=dict)
    records: list[VoltageEvent] = field(default_factory=list)
    thd_pct: float = 0.0
    unbalance_pct: float = 0.0
    _running: dict[int, _Running] = field(default_factory=dict)
    _volt_us: list[float] = field(default_factory=list)  # V x us this 10-minute interval
    _interval_us: int = 0

    def accumulate(self, dt_us: int, measured: Measurement) -> None:
        """Add *dt_us* of the measured voltages to the running 10-minute means."""
        if not self._volt_us:
            self._volt_us = [0.0] * self.phases
        for index, phase in enumerate(measured.phases):
            self._volt_us[index] += phase.voltage_v * dt_us
        self._interval_us += dt_us

    def close_interval(self) -> list[int]:
        """End a 10-minute interval (EN 50160 voltage variations): phases whose mean voltage
        lay outside Un ± 10 % are counted and returned (1-based)."""
        out = []
        if self._interval_us:
            for index, total in enumerate(self._volt_us, start=1):
                mean = total / self._interval_us
                if not SAG_FRACTION * self.nominal_v <= mean <= SWELL_FRACTION * self.nominal_v:
                    key = f"variation_l{index}"
                    self.counters[key] = self.counters.get(key, 0) + 1
                    out.append(index)
        self._volt_us = [0.0] * self.phases
        self._interval_us = 0
        return out

    def classify(self, voltage: float) -> VoltageState:
        """EN 50160 class of one voltage."""
        if voltage < INTERRUPTION_FRACTION * self.nominal_v:
            return VoltageState.INTERRUPTION
        if voltage < SAG_FRACTION * self.nominal_v:
            return VoltageState.SAG
        if voltage > SWELL_FRACTION * self.nominal_v:
            return VoltageState.SWELL
        return VoltageState.NORMAL

    def count(self, phase: int, kind: VoltageState) -> int:
        """Events of *kind* on *phase* (1-based) so far."""
        return self.counters.get(f"{kind.value}_l{phase}", 0)

    def observe(
        self,
        true_us: int,
        local: Callable[[], datetime],
        supply: Supply,
        measured: Measurement,
    ) -> list[VoltageEvent]:
        """The supply from *true_us* on; returns the events that ended now.

        *local* gives the meter's local time, asked only when an event starts.
        """
        self.thd_pct = supply.thd_pct
        volts = [
            supply.phases[i].voltage_v if i < len(supply.phases) else 0.0
            for i in range(self.phases)
        ]
        if self.phases == 3 and measured.powered:
            mean = sum(volts) / 3
            self.unbalance_pct = max(abs(v - mean) for v in volts) / mean * 100 if mean else 0.0
        ended: list[VoltageEvent] = []
        for index, voltage in enumerate(volts, start=1):
            kind = self.classify(voltage)
            running = self._running.get(index)
            if running is not None and running.kind is kind:
                if kind is VoltageState.SWELL:
                    running.extreme_v = max(running.extreme_v, voltage)
                else:
                    running.extreme_v = min(running.extreme_v, voltage)
                continue
            if running is not None:
                event = VoltageEvent(
                    index,
                    running.kind,
                    running.start,
                    (true_us - running.start_us) / 1e6,
                    running.extreme_v,
                )
                self.records.append(event)
                del self.records[:-RECORDS_DEPTH]
                ended.append(event)
                del self._running[index]
            if kind is not VoltageState.NORMAL:
                key = f"{kind.value}_l{index}"
                self.counters[key] = self.counters.get(key, 0) + 1
                self._running[index] = _Running(kind, local(), true_us, voltage)
        return ended

    def to_state(self) -> dict[str, Any]:
        """What survives a restart (a running event is closed by the restart)."""
        return {
            "counters": self.counters,
            "records": [
                [e.phase, e.kind.value, e.start.isoformat(), e.duration_s, e.extreme_v]
                for e in self.records
            ],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`to_state`."""
        self.counters = {k: int(v) for k, v in state["counters"].items()}
        self.records = [
            VoltageEvent(p, VoltageState(k), datetime.fromisoformat(s), d, x)
            for p, k, s, d, x in state["records"]
        ]
