"""The loggers: load profile (1.1.99.1.0.255), analysis logger, and the event log.

The load profile captures at every period boundary of the meter clock (15, 30 or 60 min) the
configured channels, as absolute register readings or as deltas since the previous entry (Z27).
Deltas are differences of whole-Wh readings, so entries always sum exactly to the register's
change. Depth follows the data sheet's table (OMNIA 3.0 firmware and newer); the oldest entry
goes when the logger is full, as in a ring buffer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntFlag
from typing import Any, Final

__all__ = [
    "AnalysisLogger",
    "Event",
    "EventLog",
    "LoadProfile",
    "ProfileEntry",
    "ProfileStatus",
    "load_profile_depth",
]

#: Data sheet "Logging depth in days": number of channels → days at 15 / 30 / 60 min.
_DEPTH_DAYS: Final = {
    1: (278, 556, 1113),
    2: (235, 470, 941),
    4: (180, 360, 720),
    6: (145, 291, 583),
    8: (122, 244, 489),
}
_PERIOD_INDEX: Final = {15: 0, 30: 1, 60: 2}
#: The analysis logger shares 64 KiB: 4 bytes per value plus a 12-byte time stamp per entry.
_ANALYSIS_BYTES: Final = 65_536
EVENT_LOG_DEPTH: Final = 500


def load_profile_depth(channels: int, period_min: int) -> int:
    """Entries the load profile holds for *channels* channels at *period_min*."""
    days = _DEPTH_DAYS[channels][_PERIOD_INDEX[period_min]]
    return days * 24 * 60 // period_min


class ProfileStatus(IntFlag):
    """Status byte of a load-profile entry (emulator's assignment)."""

    NONE = 0
    POWER_FAILURE = 0x01
    CLOCK_SET = 0x02
    BREAKER_OPEN = 0x04
    CLOCK_INVALID = 0x08
    DST = 0x80


@dataclass(frozen=True, slots=True)
class ProfileEntry:
    """One load-profile entry: end of period (meter local time), status, channel values."""

    local: datetime
    status: ProfileStatus
    values: tuple[int, ...]


@dataclass(slots=True)
class LoadProfile:
    """The load-profile logger."""

    period_min: int
    channels: tuple[str, ...]
    delta: bool = False
    entries: deque[ProfileEntry] = field(default_factory=deque)
    pending: ProfileStatus = ProfileStatus.NONE
    _previous: dict[str, int] | None = None

    def __post_init__(self) -> None:
        depth = load_profile_depth(len(self.channels), self.period_min)
        self.entries = deque(self.entries, maxlen=depth)

    @property
    def depth(self) -> int:
        """Maximum number of entries."""
        return self.entries.maxlen or 0

    def flag(self, status: ProfileStatus) -> None:
        """Mark the running period (power failure, clock set, breaker open)."""
        self.pending |= status

    def capture(self, local: datetime, dst: bool, wh: Mapping[str, int]) -> ProfileEntry:
        """Close the period ending at *local* with the registers' whole-Wh readings *wh*."""
        current = {name: wh[name] for name in self.channels}
        if self.delta:
            before = self._previous if self._previous is not None else current
            values = tuple(current[n] - before[n] for n in self.channels)
        else:
            values = tuple(current[n] for n in self.channels)
        self._previous = current
        status = self.pending | (ProfileStatus.DST if dst else ProfileStatus.NONE)
        entry = ProfileEntry(local, status, values)
        self.entries.append(entry)
        self.pending = ProfileStatus.NONE
        return entry

    def to_state(self) -> dict[str, Any]:
        """What survives a restart."""
        return {
            "entries": [[e.local.isoformat(), int(e.status), list(e.values)] for e in self.entries],
            "pending": int(self.pending),
            "previous": self._previous,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`to_state`."""
        self.entries.clear()
        for local, status, values in state["entries"]:
            entry = ProfileEntry(
                datetime.fromisoformat(local), ProfileStatus(status), tuple(values)
            )
            self.entries.append(entry)
        self.pending = ProfileStatus(state["pending"])
        self._previous = state["previous"]


@dataclass(slots=True)
class AnalysisLogger:
    """The 24-channel analysis logger: register values every *interval_min*."""

    interval_min: int
    channels: tuple[str, ...]
    #: (local time, channel values, DST flag), oldest first.
    entries: deque[tuple[datetime, tuple[float, ...], bool]] = field(default_factory=deque)

    def __post_init__(self) -> None:
        if len(self.channels) > 24:
            raise ValueError("the analysis logger has at most 24 channels")
        depth = _ANALYSIS_BYTES // (12 + 4 * max(len(self.channels), 1))
        self.entries = deque(self.entries, maxlen=depth)

    def capture(
        self, local: datetime, table: Mapping[str, tuple[Any, str]], *, dst: bool = False
    ) -> None:
        """Log every channel's value now from the meter's readings *table*."""
        values = []
        for code in self.channels:
            value = table.get(code, (0.0, ""))[0]
            values.append(float(value) if isinstance(value, int | float) else 0.0)
        self.entries.append((local, tuple(values), dst))

    def to_state(self) -> list[Any]:
        """What survives a restart."""
        return [[local.isoformat(), list(values), dst] for local, values, dst in self.entries]

    def load_state(self, state: Sequence[Any]) -> None:
        """Restore :meth:`to_state`."""
        self.entries.clear()
        for local, values, *dst in state:  # states before the DST flag have two fields
            entry = (datetime.fromisoformat(local), tuple(values), bool(dst and dst[0]))
            self.entries.append(entry)


@dataclass(frozen=True, slots=True)
class Event:
    """One time-stamped event (tamper, power failure, sag, swell, tariff, breaker, clock …)."""

    local: datetime
    kind: str
    detail: str = ""


@dataclass(slots=True)
class EventLog:
    """Time-stamped events in permanent memory, oldest dropped when full."""

    entries: deque[Event] = field(default_factory=lambda: deque(maxlen=EVENT_LOG_DEPTH))
    total: int = 0

    def add(self, local: datetime, kind: str, detail: str = "") -> Event:
        """Record an event."""
        event = Event(local, kind, detail)
        self.entries.append(event)
        self.total += 1
        return event

    def since(self, index: int) -> list[Event]:
        """Events recorded after the first *index* ever (for consumers that poll)."""
        new = self.total - index
        return list(self.entries)[-new:] if new > 0 else []

    def to_state(self) -> dict[str, Any]:
        """What survives a restart."""
        return {
            "total": self.total,
            "entries": [[e.local.isoformat(), e.kind, e.detail] for e in self.entries],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`to_state`."""
        self.entries.clear()
        for local, kind, detail in state["entries"]:
            self.entries.append(Event(datetime.fromisoformat(local), kind, detail))
        self.total = int(state["total"])
