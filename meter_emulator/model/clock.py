"""The meter's real-time clock: its own UTC reading, local time with the EU DST table, drift.

Inside the model time is an integer count of microseconds since 1970-01-01 UTC ("us"): exact,
fast, and free of time-zone objects. *True* time is the simulation's; the RTC reads true time
plus an offset that grows with the drift (ppm) and jumps when the time is set or adjusted.

The meter keeps local time from its own table (Z11 GMT offset, Z15 EU summer time), not from
a time-zone database: summer time runs from 01:00 UTC on the last Sunday of March to 01:00 UTC
on the last Sunday of October (Directive 2000/84/EC, art. 2 and 3). The clock status carries
bit 7 (DST) and bit 0 (invalid) only ([DLMS] §3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

__all__ = [
    "HOUR",
    "MINUTE",
    "SECOND",
    "MeterClock",
    "eu_summer_time",
    "from_us",
    "naive_from_us",
    "naive_to_us",
    "to_us",
]

SECOND: Final = 1_000_000
MINUTE: Final = 60 * SECOND
HOUR: Final = 60 * MINUTE
DAY: Final = 24 * HOUR
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH: Final = datetime(1970, 1, 1)
#: A fully charged supercap keeps the RTC running this long without supply (data sheet).
SUPERCAP_US: Final = 7 * DAY


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("simulated time must be aware (UTC)")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * SECOND + delta.microseconds


def from_us(us: int) -> datetime:
    """The aware UTC datetime of *us*."""
    return _EPOCH + timedelta(microseconds=us)


def naive_from_us(us: int) -> datetime:
    """A naive wall-clock datetime from microseconds on a local time line."""
    return _NAIVE_EPOCH + timedelta(microseconds=us)


def naive_to_us(moment: datetime) -> int:
    """Microseconds of a naive wall-clock datetime on its local time line."""
    delta = moment - _NAIVE_EPOCH
    return (delta.days * 86_400 + delta.seconds) * SECOND + delta.microseconds


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month, 31)
    return last - timedelta(days=(last.weekday() + 1) % 7)


@lru_cache(maxsize=256)
def eu_summer_time(year: int) -> tuple[int, int]:
    """[start, end) of EU summer time in *year*, in UTC microseconds."""
    start = _last_sunday(year, 3)
    end = _last_sunday(year, 10)
    return (
        to_us(datetime(start.year, start.month, start.day, 1, tzinfo=UTC)),
        to_us(datetime(end.year, end.month, end.day, 1, tzinfo=UTC)),
    )


@dataclass(slots=True)
class MeterClock:
    """The RTC of one meter."""

    gmt_offset_h: int = 1
    eu_dst: bool = True
    drift_ppm: float = 0.0
    offset_us: int = 0  # RTC minus true time at reference_us
    reference_us: int = 0
    invalid: bool = False
    _year: tuple[int, int, int, int] = (0, 0, 0, 0)  # cached [first, last) of a year, DST bounds

    # --- reading --------------------------------------------------------------------------

    def rtc_us(self, true_us: int) -> int:
        """The RTC's own UTC reading at true time *true_us*."""
        drift = round((true_us - self.reference_us) * self.drift_ppm / 1e6)
        return true_us + self.offset_us + drift

    def is_dst(self, rtc_us: int) -> bool:
        """Whether the meter's table puts *rtc_us* (RTC UTC) in summer time."""
        if not self.eu_dst:
            return False
        first, last, start, end = self._year
        if not first <= rtc_us < last:
            year = from_us(rtc_us).year
            start, end = eu_summer_time(year)
            first = to_us(datetime(year, 1, 1, tzinfo=UTC))
            last = to_us(datetime(year + 1, 1, 1, tzinfo=UTC))
            self._year = (first, last, start, end)
        return start <= rtc_us < end

    def local_us(self, rtc_us: int) -> int:
        """Local wall-clock microseconds for an RTC UTC reading."""
        shift = self.gmt_offset_h * HOUR + (HOUR if self.is_dst(rtc_us) else 0)
        return rtc_us + shift

    def local(self, true_us: int) -> tuple[datetime, bool]:
        """(naive local time, DST flag) the meter shows at true time *true_us*."""
        rtc = self.rtc_us(true_us)
        return naive_from_us(self.local_us(rtc)), self.is_dst(rtc)

    def status(self, true_us: int) -> int:
        """Clock status byte: bit 7 DST, bit 0 invalid."""
        rtc = self.rtc_us(true_us)
        return (0x80 if self.is_dst(rtc) else 0) | (0x01 if self.invalid else 0)

    # --- boundaries -----------------------------------------------------------------------

    def rtc_for_local(self, local_us: int, after_rtc_us: int) -> int:
        """The first RTC UTC instant after *after_rtc_us* at which the clock shows *local_us*.

        A local time skipped in spring maps to the switch instant; one repeated in autumn maps
        to its first occurrence still ahead.
        """
        base = local_us - self.gmt_offset_h * HOUR
        candidates = [
            rtc
            for rtc in (base - HOUR, base)
            if self.local_us(rtc) == local_us and rtc > after_rtc_us
        ]
        if candidates:
            return min(candidates)
        start, _ = eu_summer_time(from_us(base).year)
        return max(start, after_rtc_us + 1)  # skipped by the spring change: happens at the jump

    def true_for_rtc(self, rtc_us: int) -> int:
        """The first true instant at which the RTC reads at least *rtc_us*."""
        rate = 1 + self.drift_ppm / 1e6
        guess = self.reference_us + int((rtc_us - self.reference_us - self.offset_us) / rate)
        while self.rtc_us(guess) < rtc_us:
            guess += 1
        while self.rtc_us(guess - 1) >= rtc_us:
            guess -= 1
        return guess

    # --- changes --------------------------------------------------------------------------

    def _rebase(self, true_us: int, rtc_us: int) -> None:
        self.reference_us = true_us
        self.offset_us = rtc_us - true_us

    def set_local(self, true_us: int, local: datetime, *, dst: bool | None = None) -> None:
        """Set the clock so it shows naive *local* now; clears the invalid flag.

        *dst* settles the repeated autumn hour; by default the meter's table decides.
        """
        local_us = naive_to_us(local)
        base = local_us - self.gmt_offset_h * HOUR
        options = [rtc for rtc in (base - HOUR, base) if self.local_us(rtc) == local_us]
        if dst is not None:
            options = [rtc for rtc in options if self.is_dst(rtc) == dst] or options
        if not options:
            raise ValueError(f"{local.isoformat()} does not exist on this meter's clock")
        self._rebase(true_us, options[0])
        self.invalid = False

    def shift(self, true_us: int, seconds: float) -> None:
        """Adjust the clock by *seconds* (class 8 shift_time)."""
        self._rebase(true_us, self.rtc_us(true_us) + round(seconds * SECOND))

    def outage(self, true_start_us: int, true_end_us: int, *, battery: bool) -> None:
        """The supply was off: past the supercap's reserve the RTC stops and turns invalid."""
        length = true_end_us - true_start_us
        if battery or length <= SUPERCAP_US:
            return
        self._rebase(true_end_us, self.rtc_us(true_end_us) - (length - SUPERCAP_US))
        self.invalid = True

    def to_state(self) -> dict[str, Any]:
        """What survives a restart."""
        return {
            "offset_us": self.offset_us,
            "reference_us": self.reference_us,
            "invalid": self.invalid,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`to_state`."""
        self.offset_us = int(state["offset_us"])
        self.reference_us = int(state["reference_us"])
        self.invalid = bool(state["invalid"])
