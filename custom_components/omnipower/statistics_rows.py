"""Load-profile batches → hourly readings per register, and the rows the recorder gets.

Pure (no Home Assistant state, no recorder): the adapter in ``statistics.py`` owns the recorder
and what it already holds. A batch's intervals carry the meter's **register readings at each
interval's end** (docs/mqtt.md, ``load_profile``), so an hour's long-term row is the reading at
its end (``state``), and ``sum`` is that reading minus one constant per statistic, the
*baseline*: the lowest reading ever imported. Every hour's change (what the Energy dashboard and
a statistics graph show) is then the register's own difference, whatever order batches arrive
in, and the oldest row's sum is the energy known inside its hour, not the meter's whole life.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.util import dt as dt_util

__all__ = [
    "HOUR",
    "KVARH",
    "KWH",
    "SERIES",
    "Readings",
    "Series",
    "floor_hour",
    "hourly_rows",
    "readings",
]

HOUR: Final = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Series:
    """One register of the profile and the external statistic it fills.

    ``suffix`` is part of the statistic id (``omnipower:<serial>_<suffix>``): it never changes,
    or the recorder would start a second, empty history beside the old one.
    """

    key: str
    suffix: str
    label: str
    unit: str


KWH: Final = "kWh"
#: Home Assistant's own spelling of kilovolt-ampere-reactive hours (``UnitOfReactiveEnergy``
#: in releases after 2025.4, which convert it to varh; 2025.4 stores it as it is).
KVARH: Final = "kvarh"

#: Every register a profile may capture (docs/schemas/load_profile.schema.json), in the
#: order the statistics are listed.
SERIES: Final = (
    Series("active_energy_import_kwh", "energy_import", "energy import", KWH),
    Series("active_energy_export_kwh", "energy_export", "energy export", KWH),
    Series(
        "reactive_energy_import_kvarh", "reactive_energy_import", "reactive energy import", KVARH
    ),
    Series(
        "reactive_energy_export_kvarh", "reactive_energy_export", "reactive energy export", KVARH
    ),
    *(
        Series(
            f"reactive_energy_q{q}_kvarh",
            f"reactive_energy_q{q}",
            f"reactive energy quadrant {q} (R{q})",
            KVARH,
        )
        for q in range(1, 5)
    ),
)


@dataclass(frozen=True, slots=True)
class Readings:
    """What one batch says about one register: its usable readings, oldest first.

    ``points`` are (interval end in UTC, reading), never going down. ``malformed`` counts
    intervals that could not be read; ``backwards`` readings left out because they are lower
    than an older one (a register never goes down; the gateway holds such values back).
    """

    points: tuple[tuple[datetime, float], ...]
    malformed: int = 0
    backwards: int = 0

    @property
    def lowest(self) -> float | None:
        """The oldest (and so lowest) reading, on the hour or not."""
        return self.points[0][1] if self.points else None

    @property
    def first_end(self) -> datetime | None:
        """The end of the oldest usable interval."""
        return self.points[0][0] if self.points else None

    def hours(self) -> dict[datetime, float]:
        """Each whole hour's start → the reading at its end (a 15-minute profile's quarters
        in between only move :attr:`lowest`)."""
        return {
            end - HOUR: value
            for end, value in self.points
            if not (end.minute or end.second or end.microsecond)
        }

    def after(self, newest_end: datetime, newest_reading: float) -> Readings:
        """Without the readings that contradict what the recorder holds: newer than its newest
        row (ending at *newest_end*) yet lower than that row's reading."""
        kept = tuple(
            (end, value)
            for end, value in self.points
            if not (end > newest_end and value < newest_reading)
        )
        dropped = len(self.points) - len(kept)
        return Readings(kept, self.malformed, self.backwards + dropped)


def _end(interval: dict[str, Any]) -> datetime | None:
    """The interval's aware end in UTC, or None."""
    end = dt_util.parse_datetime(str(interval.get("end")))
    if end is None or end.tzinfo is None:
        return None
    return dt_util.as_utc(end)


def readings(intervals: list[Any], key: str) -> Readings:
    """The usable readings of register *key* in a batch's *intervals*.

    An interval without *key* (or with null) does not capture that register: that is no fault.
    One that is not an object, has no aware ``end`` or a value that is not a number is
    malformed; a reading lower than an older one is left out. Neither ever reaches a row.
    """
    malformed = 0
    points: list[tuple[datetime, float]] = []
    for interval in intervals:
        if not isinstance(interval, dict):
            malformed += 1
            continue
        value = interval.get(key)
        if value is None:
            continue
        end = _end(interval)
        if end is None or not isinstance(value, int | float) or isinstance(value, bool):
            malformed += 1
            continue
        points.append((end, float(value)))
    points.sort(key=lambda point: point[0])
    kept: dict[datetime, float] = {}
    backwards = 0
    highest: float | None = None
    for end, value in points:
        if highest is not None and value < highest:
            backwards += 1
            continue
        kept[end] = highest = value  # an interval read twice in one batch counts once
    return Readings(tuple(kept.items()), malformed, backwards)


def hourly_rows(hours: dict[datetime, float], baseline: float) -> list[dict[str, Any]]:
    """The recorder's rows: ``state`` the reading at the hour's end, ``sum`` above *baseline*."""
    return [
        {"start": start, "state": value, "sum": round(value - baseline, 6)}
        for start, value in sorted(hours.items())
    ]


def floor_hour(moment: datetime) -> datetime:
    """The start of the hour holding *moment*."""
    return moment.replace(minute=0, second=0, microsecond=0)
