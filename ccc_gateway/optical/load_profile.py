"""Load-profile intervals → ``load_profile`` batches, and where the back-fill resumes.

Pure but for :class:`LoadProfileCursor`'s small atomic file. A batch's ``interval_s`` is the
profile's capture_period as the meter reports it (attribute 4), so a single-row batch of a
15-minute profile says 900; only for a meter that does not say, the most common spacing of the
entries. Intervals carry the register readings at their end: A+, A−, R+, R− and R1–R4 where
the profile captures them.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Final

from .session import ProfileRow

__all__ = [
    "BATCH_SIZE",
    "ENERGY_OBJECTS",
    "ENERGY_UNITS",
    "INTERVALS",
    "PROFILE_REGISTERS",
    "LoadProfileCursor",
    "profile_batches",
]

ENERGY_OBJECTS: Final = (
    "active_energy_import",
    "active_energy_export",
    "reactive_energy_import",
    "reactive_energy_export",
    *(f"active_energy_import_t{t}" for t in range(1, 5)),
)
ENERGY_UNITS: Final = {
    "reactive_energy_import": "kvarh",
    "reactive_energy_export": "kvarh",
    **{f"reactive_energy_q{q}": "kvarh" for q in range(1, 5)},
}
#: The registers a load-profile interval may carry: A+, A−, R+, R−, and R1–R4 (quadrants).
PROFILE_REGISTERS: Final = (
    *ENERGY_OBJECTS[:4],
    *(f"reactive_energy_q{q}" for q in range(1, 5)),
)
#: Intervals per ``load_profile`` message (a day of 15-minute intervals).
BATCH_SIZE: Final = 96
#: Capture periods the contract allows ([DLMS] §3: 300/900/1800/3600 s).
INTERVALS: Final = (300, 900, 1800, 3600)


def _interval_of(rows: Sequence[ProfileRow], zone: tzinfo) -> int:
    """The capture period, from the most common spacing of consecutive entries."""
    ends = [row.end.aware(zone) for row in rows]
    gaps = [int((b - a).total_seconds()) for a, b in itertools.pairwise(ends)]
    candidates = [g for g in gaps if g in INTERVALS]
    if not candidates:
        return 3600
    return max(set(candidates), key=candidates.count)


def profile_batches(
    rows: Sequence[ProfileRow],
    *,
    zone: tzinfo,
    meter: str,
    read_at: datetime,
    request_id: str | None,
    interval_s: int | None = None,
) -> list[dict[str, Any]]:
    """``load_profile`` messages for *rows* (oldest first), :data:`BATCH_SIZE` intervals each."""
    if not rows:
        return []
    periods = [row.period_s for row in rows if row.period_s]
    interval = interval_s or (periods[0] if periods else None) or _interval_of(rows, zone)
    intervals = []
    for row in sorted(rows, key=lambda r: r.end.aware(zone)):
        end = row.end.aware(zone)
        entry: dict[str, Any] = {
            "start": (end - timedelta(seconds=interval)).isoformat(),
            "end": end.isoformat(),
        }
        for name in PROFILE_REGISTERS:
            if name in row.values:
                key = f"{name}_{ENERGY_UNITS.get(name, 'kwh')}"
                entry[key] = round(float(row.values[name]), 6)
        entry["status"] = int(row.status) & 0xFF
        intervals.append(entry)
    chunks = [intervals[i : i + BATCH_SIZE] for i in range(0, len(intervals), BATCH_SIZE)]
    batch_id = f"{meter}-lp-{int(read_at.timestamp())}"
    return [
        {
            "ts": read_at.isoformat(),
            "schema": 1,
            "batch_id": batch_id,
            "request_id": request_id,
            "interval_s": interval,
            "part": number,
            "parts": len(chunks),
            "intervals": chunk,
        }
        for number, chunk in enumerate(chunks, start=1)
    ]


@dataclass(slots=True)
class LoadProfileCursor:
    """The end of the newest interval published, per meter, kept across restarts (atomically)."""

    path: Path
    _ends: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return  # first start, or a damaged file: back-fill the default window again
        if isinstance(data, dict):
            self._ends = {str(k): str(v) for k, v in data.items()}

    def get(self, meter: str) -> datetime | None:
        """The last published interval end for *meter*, aware."""
        text = self._ends.get(meter)
        try:
            return None if text is None else datetime.fromisoformat(text)
        except ValueError:
            return None

    def advance(self, meter: str, end: datetime) -> None:
        """Record *end* (never moves backwards) and write the file atomically."""
        current = self.get(meter)
        if current is not None and end <= current:
            return
        # Every meter of a gateway has its own cursor object on this one file: take what the
        # others wrote since, so one meter's write never drops another's cursor.
        with contextlib.suppress(OSError, ValueError):
            on_disk = json.loads(self.path.read_text())
            if isinstance(on_disk, dict):
                self._ends = {str(k): str(v) for k, v in on_disk.items()}
        self._ends[meter] = end.isoformat()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._ends, sort_keys=True))
        os.replace(temporary, self.path)
