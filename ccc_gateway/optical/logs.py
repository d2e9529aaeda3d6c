"""The meter's own logs → ``events``, each entry once, from a cursor that survives restarts.

:class:`LogCursor` keeps, per meter and per log, the time stamp of the newest entry handled and
the ids of the entries with that stamp (a range read is inclusive, so the next read starts at
that stamp and leaves those out): no entry is published twice, none is skipped. The first poll of
a log without a cursor is a baseline: the cursor starts at the meter's time then, and nothing
from the meter's past is published (as the first poll is only a baseline for changes).

:func:`log_events` turns entries into the contract's events, stamped with the entry's meter time
and with an id derived from the entry (meter, log, UTC second, code, rank among same-stamp
entries), so a consumer can de-duplicate across reconnects and restarts. Pure but for the
cursor's small atomic file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Final

from ..protocol.omnipower_logs import EventCode, PowerQualityCode, TariffSource
from .session import LogEntry

__all__ = ["EVENT_LOGS", "LogCursor", "entry_ids", "log_events"]

#: The logs read at every poll, and the short name in event ids.
EVENT_LOGS: Final = {"standard_event_log": "sel", "power_quality_log": "pql"}
_SOURCES: Final = {
    TariffSource.DISABLED: "calendar",
    TariffSource.CALENDAR: "calendar",
    TariffSource.INPUT: "input",
    TariffSource.FORCED: "forced",
}
_TAMPER: Final = {
    EventCode.TERMINAL_COVER_OPENED: ("cover", True),
    EventCode.TERMINAL_COVER_CLOSED: ("cover", False),
    EventCode.MAGNET_DETECTED: ("magnet", True),
    EventCode.MAGNET_GONE: ("magnet", False),
}
_SCHEMA: Final = 1


def _code(entry: LogEntry, log: str) -> int:
    key = "event_code" if log == "standard_event_log" else "pq_event_code"
    value = entry.values.get(key)
    return int(value) if isinstance(value, int) else -1


def entry_ids(meter: str, log: str, entries: Sequence[LogEntry], zone: tzinfo) -> list[str]:
    """A stable id per entry: the same entry read again (after a restart) gets the same id."""
    short = EVENT_LOGS.get(log, log)
    ids = []
    seen: dict[tuple[int, int], int] = {}
    for entry in entries:
        second = int(entry.clock.aware(zone).timestamp())
        code = _code(entry, log)
        rank = seen.get((second, code), 0)
        seen[(second, code)] = rank + 1
        ids.append(f"{meter}-{short}-{second}-{code}" + (f"-{rank}" if rank else ""))
    return ids


@dataclass(slots=True)
class LogCursor:
    """Per log: the newest handled entry's aware time and the ids handled at that time."""

    path: Path
    _logs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return  # first start (a damaged file too): the next read is a baseline
        if isinstance(data, dict):
            self._logs = {str(k): v for k, v in data.items() if isinstance(v, dict)}

    def start(self, log: str) -> datetime | None:
        """Where the next read of *log* starts (inclusive), or None before the first read."""
        text = self._logs.get(log, {}).get("at")
        try:
            return None if not isinstance(text, str) else datetime.fromisoformat(text)
        except ValueError:
            return None

    def baseline(self, log: str, at: datetime) -> None:
        """Start *log* at *at* (the meter's time of the first read): its past is not news."""
        self._logs[log] = {"at": at.isoformat(), "ids": []}
        self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._logs, sort_keys=True))
        os.replace(temporary, self.path)

    def new(
        self, log: str, entries: Sequence[LogEntry], ids: Sequence[str], zone: tzinfo
    ) -> list[int]:
        """Indexes of the entries not handled yet (all of them past the cursor)."""
        start = self.start(log)
        if start is None:
            return []
        done = set(self._logs.get(log, {}).get("ids", []))
        return [
            index
            for index, (entry, entry_id) in enumerate(zip(entries, ids, strict=True))
            if entry.clock.aware(zone) > start
            or (entry.clock.aware(zone) == start and entry_id not in done)
        ]

    def advance(
        self, log: str, entries: Sequence[LogEntry], ids: Sequence[str], zone: tzinfo
    ) -> None:
        """Record *entries* as handled (written atomically)."""
        at = self.start(log)
        done = set(self._logs.get(log, {}).get("ids", []))
        for entry, entry_id in zip(entries, ids, strict=True):
            stamp = entry.clock.aware(zone)
            if at is None or stamp > at:
                at, done = stamp, {entry_id}
            elif stamp == at:
                done.add(entry_id)
        if at is None:
            return
        record = {"at": at.isoformat(), "ids": sorted(done)}
        if self._logs.get(log) == record:
            return
        self._logs[log] = record
        self._write()


def _seconds(value: Any) -> float | None:
    return round(float(value), 3) if isinstance(value, int | float) else None


def log_events(
    log: str,
    entries: Iterable[tuple[LogEntry, str]],
    zone: tzinfo,
    *,
    last_tariff: int | None = None,
) -> list[dict[str, Any]]:
    """The events of *entries* (entry, id), oldest first, in the contract's shape."""
    events: list[dict[str, Any]] = []
    clock_old: datetime | None = None
    tariff = last_tariff
    for entry, entry_id in entries:
        ts = entry.clock.aware(zone)
        head = {"ts": ts.isoformat(), "schema": _SCHEMA, "id": entry_id}
        values = entry.values
        code = _code(entry, log)
        duration = _seconds(values.get("event_duration"))
        if log == "power_quality_log":
            if code in (PowerQualityCode.VOLTAGE_SAG, PowerQualityCode.VOLTAGE_SWELL):
                kind = "voltage_sag" if code == PowerQualityCode.VOLTAGE_SAG else "voltage_swell"
                event = head | {"type": kind, "phase": int(values.get("pq_event_phase") or 1)}
                if duration is not None:
                    event["duration_s"] = duration
                    event["started"] = (ts - timedelta(seconds=duration)).isoformat()
                    event["ended"] = ts.isoformat()
                extreme = values.get("pq_event_extreme_voltage")
                if isinstance(extreme, int | float):
                    event["voltage_v"] = round(float(extreme), 3)
                events.append(event)
            continue
        if code in _TAMPER:
            kind, active = _TAMPER[EventCode(code)]
            event = head | {"type": "tamper", "kind": kind, "active": active}
            if not active and duration is not None:
                event["duration_s"] = duration
            events.append(event)
        elif code == EventCode.POWER_DOWN:
            events.append(
                head | {"type": "power_failure", "started": ts.isoformat(), "ended": None}
            )
        elif code == EventCode.POWER_UP:
            started = ts - timedelta(seconds=duration or 0.0)
            events.append(
                head
                | {
                    "type": "power_failure",
                    "started": started.isoformat(),
                    "ended": ts.isoformat(),
                    "duration_s": duration,
                }
            )
        elif code == EventCode.CLOCK_ADJUSTED_OLD:
            clock_old = ts
        elif code == EventCode.CLOCK_ADJUSTED_NEW:
            event = head | {"type": "clock_adjusted", "new": ts.isoformat(), "by": "unknown"}
            event["old"] = None if clock_old is None else clock_old.isoformat()
            event["drift_s"] = 0.0 if clock_old is None else (ts - clock_old).total_seconds()
            events.append(event)
            clock_old = None
        elif code == EventCode.TARIFF_CHANGED:
            new = values.get("actual_tariff")
            raw_source = values.get("tariff_source")
            try:
                source = _SOURCES[TariffSource(raw_source if isinstance(raw_source, int) else -1)]
            except ValueError:
                source = "calendar"  # a source this gateway does not know: the meter's own
            if isinstance(new, int) and 1 <= new <= 8:
                events.append(
                    head | {"type": "tariff_changed", "from": tariff, "to": new, "source": source}
                )
                tariff = new
    return events
