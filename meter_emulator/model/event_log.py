"""The standard event log and the power-quality log, as the meter keeps them in permanent memory.

Each entry is written by the model at the simulated instant the event happens, with the
meter's own local time and DST flag then, so a reader gets the meter's time stamp however late
it asks. Codes and column meanings are shared with the gateway
(:mod:`ccc_gateway.protocol.omnipower_logs`). Both logs are ring buffers: when full the oldest
entry goes, and ``total`` keeps counting, so a reader can tell entries it missed.

Depths are the emulator's choice (the public documents give none): 500 standard events, as the
model's text event list, and 100 power-quality records, as :mod:`.quality` keeps.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from ccc_gateway.protocol.omnipower_logs import EventCode, PowerQualityCode, TariffSource

__all__ = [
    "POWER_QUALITY_LOG_DEPTH",
    "STANDARD_EVENT_LOG_DEPTH",
    "PowerQualityEntry",
    "PowerQualityLog",
    "StandardEvent",
    "StandardEventLog",
]

STANDARD_EVENT_LOG_DEPTH: Final = 500
POWER_QUALITY_LOG_DEPTH: Final = 100


@dataclass(frozen=True, slots=True)
class StandardEvent:
    """One entry of the standard event log.

    *local*/*dst* are the meter's clock for the entry (for a clock adjustment: the old time
    in the ``CLOCK_ADJUSTED_OLD`` entry, the new one in ``CLOCK_ADJUSTED_NEW``); *event_status*
    is EventStatusA after the event, *tariff*/*source* the tariff in force after it, and
    *duration_ms* how long the condition that ended lasted (an outage, an open cover), else 0.
    """

    local: datetime
    dst: bool
    code: EventCode
    event_status: int
    tariff: int
    source: TariffSource
    duration_ms: int = 0


@dataclass(frozen=True, slots=True)
class PowerQualityEntry:
    """A finished sag, swell or interruption, stamped with the meter time it ended."""

    local: datetime
    dst: bool
    code: PowerQualityCode
    phase: int
    duration_ms: int
    extreme_v: float


@dataclass(slots=True)
class StandardEventLog:
    """The standard event log (1.1.99.98.0.255)."""

    entries: deque[StandardEvent] = field(
        default_factory=lambda: deque(maxlen=STANDARD_EVENT_LOG_DEPTH)
    )
    total: int = 0

    @property
    def depth(self) -> int:
        """Entries the log holds when full (profile_entries)."""
        return self.entries.maxlen or 0

    def add(self, event: StandardEvent) -> None:
        """Record *event*."""
        self.entries.append(event)
        self.total += 1

    def recent(self, count: int) -> list[dict[str, Any]]:
        """The last *count* entries, JSON-ready (the control socket's ``state``)."""
        return [
            {
                "local": e.local.isoformat(),
                "dst": e.dst,
                "code": int(e.code),
                "event": e.code.name.lower(),
                "event_status": e.event_status,
                "tariff": e.tariff,
                "source": e.source.name.lower(),
                "duration_ms": e.duration_ms,
            }
            for e in list(self.entries)[-count:]
        ]

    def to_state(self) -> dict[str, Any]:
        """What survives a restart."""
        return {
            "total": self.total,
            "entries": [
                [
                    e.local.isoformat(),
                    e.dst,
                    int(e.code),
                    e.event_status,
                    e.tariff,
                    int(e.source),
                    e.duration_ms,
                ]
                for e in self.entries
            ],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`to_state`."""
        self.entries.clear()
        for local, dst, code, status, tariff, source, duration in state["entries"]:
            self.entries.append(
                StandardEvent(
                    datetime.fromisoformat(local),
                    bool(dst),
                    EventCode(code),
                    int(status),
                    int(tariff),
                    TariffSource(source),
                    int(duration),
                )
            )
        self.total = int(state["total"])


@dataclass(slots=True)
class PowerQualityLog:
    """The power-quality log (1.1.99.98.4.255)."""

    entries: deque[PowerQualityEntry] = field(
        default_factory=lambda: deque(maxlen=POWER_QUALITY_LOG_DEPTH)
    )
    total: int = 0

    @property
    def depth(self) -> int:
        """Entries the log holds when full (profile_entries)."""
        return self.entries.maxlen or 0

    def add(self, entry: PowerQualityEntry) -> None:
        """Record *entry*."""
        self.entries.append(entry)
        self.total += 1

    def recent(self, count: int) -> list[dict[str, Any]]:
        """The last *count* entries, JSON-ready (the control socket's ``state``)."""
        return [
            {
                "local": e.local.isoformat(),
                "dst": e.dst,
                "code": int(e.code),
                "event": e.code.name.lower(),
                "phase": e.phase,
                "duration_ms": e.duration_ms,
                "extreme_v": e.extreme_v,
            }
            for e in list(self.entries)[-count:]
        ]

    def to_state(self) -> dict[str, Any]:
        """What survives a restart."""
        return {
            "total": self.total,
            "entries": [
                [e.local.isoformat(), e.dst, int(e.code), e.phase, e.duration_ms, e.extreme_v]
                for e in self.entries
            ],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`to_state`."""
        self.entries.clear()
        for local, dst, code, phase, duration, extreme in state["entries"]:
            self.entries.append(
                PowerQualityEntry(
                    datetime.fromisoformat(local),
                    bool(dst),
                    PowerQualityCode(code),
                    int(phase),
                    int(duration),
                    float(extreme),
                )
            )
        self.total = int(state["total"])
