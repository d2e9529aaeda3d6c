"""An in-memory optical port for the poller and executor rules.

Not a mock of the meter's protocol: it stands in for the DLMS session adapter (tested against
the emulator end to end) so these tests can pin what the gateway does with the values. It keeps a
tiny breaker state machine and refuses writes like the meter's access rules do.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

from ccc_gateway.optical.session import (
    MeterClock,
    ObjectRefused,
    OpticalSession,
    OpticalUnavailable,
    ProfileRow,
)

WRITABLE = {
    "coupling_state",
    "relay_1",
    "relay_2",
    "actual_tariff",
    "prepayment_alarm_limit",
    "prepayment_credit",
}


class FakeMeter:
    def __init__(self, clock: datetime) -> None:
        self.values: dict[str, Any] = {
            "coupling_state": 4,
            "coupling_mode": 0,
            "cutoff_basis": 0x02,
            "coupling_feedback": 0x19,
            "actual_tariff": 1,
            "relay_1": 0,
            "relay_2": 0,
            "prepayment_credit": 50.0,
            "prepayment_alarm_limit": 10.0,
            "meter_status": 0,
            "frequency": 50.0,
            "active_energy_import": 1234.5,
            "active_energy_import_t1": 1000.0,
        }
        self.clock = MeterClock(clock, False)
        self.profile: list[ProfileRow] = []
        self.available = True
        self.writes: list[tuple[str, Any]] = []
        self.ignore_writes = False
        #: Runs after each accepted write (the meter moving on: credit counting down, …).
        self.after_write: Callable[[], None] = lambda: None
        self.sessions = 0
        #: Register resolutions in the contract's unit (kWh registers counting in Wh).
        self.resolutions: dict[str, float] = {
            "prepayment_credit": 0.001,
            "active_energy_import": 0.001,
        }

    @property
    def description(self) -> str:
        return "fake optical port"

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[OpticalSession]:
        if not self.available:
            raise OpticalUnavailable("no answer to SNRM")
        self.sessions += 1
        yield _Session(self)


class _Session:
    def __init__(self, meter: FakeMeter) -> None:
        self.meter = meter

    async def read(self, names: Sequence[str]) -> dict[str, Any]:
        return {n: self.meter.values[n] for n in names if n in self.meter.values}

    async def write(self, name: str, value: Any) -> None:
        if name not in WRITABLE:
            raise ObjectRefused(name, "read-write-denied")
        self.meter.writes.append((name, value))
        if self.meter.ignore_writes:
            return
        if name == "coupling_state":
            current = self.meter.values["coupling_state"]
            if value == 1:
                self.meter.values[name] = 1
            elif value == 2 and current == 1:
                self.meter.values[name] = 8
            elif value == 3 and current == 8:
                self.meter.values[name] = 4
            else:
                raise ObjectRefused(name, "other-reason")
            return
        if name == "actual_tariff" and value == 0:
            self.meter.values[name] = 2  # back to the calendar's tariff
            return
        self.meter.values[name] = value
        self.meter.after_write()

    async def resolution(self, name: str) -> float | None:
        return self.meter.resolutions.get(name, 1.0)

    async def read_clock(self) -> MeterClock:
        return self.meter.clock

    async def write_clock(self, clock: MeterClock) -> None:
        self.meter.writes.append(("clock", clock))
        if not self.meter.ignore_writes:
            self.meter.clock = clock

    async def read_load_profile(self, start: datetime, end: datetime) -> list[ProfileRow]:
        return [row for row in self.meter.profile if start <= row.end.local <= end]
