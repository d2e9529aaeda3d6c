"""The COSEM date-time (Blue Book 4.1.6.1): 12 octets kept field by field, and what they mean.

A value type of its own, apart from the A-XDR codec that carries it: the push list, the P1
telegram, the optical port's clock and profiles and the emulator's model all hold date-times,
and what a date-time *means* (local time, the DST bit, the meter's zone) is not an encoding
question.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from datetime import datetime, tzinfo

from ._record import record
from .errors import MalformedData

__all__ = ["CLOCK_STATUS_DST", "CLOCK_STATUS_INVALID", "CosemDateTime"]

_NOT_SPECIFIED: Final = 0xFF
_DEVIATION_NOT_SPECIFIED: Final = -0x8000
#: Clock status bit 7: daylight saving active (Blue Book 4.1.6.1; [DLMS] 3.5.2).
CLOCK_STATUS_DST: Final = 0x80
#: Clock status bit 0: the time is invalid.
CLOCK_STATUS_INVALID: Final = 0x01


@record
class CosemDateTime:
    """The 12-octet COSEM date-time, kept field by field so that it round-trips exactly.

    Fields hold 0xFF (deviation -0x8000) where the meter says "not specified". Kamstrup sends
    local time with the deviation not specified; :meth:`to_datetime` needs the zone for that.
    """

    year: int
    month: int
    day: int
    day_of_week: int
    hour: int
    minute: int
    second: int
    hundredths: int = _NOT_SPECIFIED
    deviation: int = _DEVIATION_NOT_SPECIFIED
    clock_status: int = 0

    @classmethod
    def from_bytes(cls, raw: bytes) -> CosemDateTime:
        """Parse the 12 octets; raises MalformedData for any other length."""
        if len(raw) != 12:
            raise MalformedData(f"a COSEM date-time has 12 octets, not {len(raw)}")
        year, month, day, dow, hour, minute, second, hundredths, deviation, status = (
            _DATE_TIME.unpack(raw)
        )
        return cls(year, month, day, dow, hour, minute, second, hundredths, deviation, status)

    @classmethod
    def from_datetime(
        cls, moment: datetime, *, dst: bool | None = None, deviation: int | None = None
    ) -> CosemDateTime:
        """The meter's representation of a local wall-clock time.

        ``dst`` sets the clock-status DST bit (default: from the aware datetime's zone);
        ``deviation`` stays "not specified" unless given, as OMNIPOWER sends it.
        """
        if dst is None:
            offset = moment.dst()
            dst = bool(offset)
        return cls(
            moment.year,
            moment.month,
            moment.day,
            moment.isoweekday(),
            moment.hour,
            moment.minute,
            moment.second,
            _NOT_SPECIFIED,
            _DEVIATION_NOT_SPECIFIED if deviation is None else deviation,
            CLOCK_STATUS_DST if dst else 0,
        )

    def to_bytes(self) -> bytes:
        """The 12 octets as sent."""
        return _DATE_TIME.pack(
            self.year,
            self.month,
            self.day,
            self.day_of_week,
            self.hour,
            self.minute,
            self.second,
            self.hundredths,
            self.deviation,
            self.clock_status,
        )

    @property
    def dst(self) -> bool:
        """Whether the meter flags daylight saving time."""
        return bool(self.clock_status & CLOCK_STATUS_DST)

    @property
    def invalid(self) -> bool:
        """Whether the meter flags its own clock as invalid."""
        return bool(self.clock_status & CLOCK_STATUS_INVALID)

    def to_naive(self) -> datetime:
        """The wall-clock time as the meter states it. Raises MalformedData if unspecified."""
        from datetime import datetime  # not on the decode path: a decoder never loads it

        try:
            micro = 0 if self.hundredths == _NOT_SPECIFIED else self.hundredths * 10_000
            return datetime(
                self.year, self.month, self.day, self.hour, self.minute, self.second, micro
            )
        except (ValueError, OverflowError) as exc:
            raise MalformedData(f"date-time {self.to_bytes().hex()} is not a time") from exc

    def to_datetime(self, zone: tzinfo | None = None) -> datetime:
        """An aware datetime.

        With a deviation the offset is exact (deviation is minutes *from local to UTC*, Blue
        Book 4.1.6.1). Without one the meter's zone must be given; the DST bit settles the
        hour that occurs twice in autumn.
        """
        naive = self.to_naive()
        if self.deviation != _DEVIATION_NOT_SPECIFIED:
            from datetime import timedelta, timezone

            return naive.replace(tzinfo=timezone(timedelta(minutes=-self.deviation)))
        if zone is None:
            raise ValueError("the meter's time zone is needed: its date-time has no deviation")
        first = naive.replace(tzinfo=zone, fold=0)
        second = naive.replace(tzinfo=zone, fold=1)
        if first.utcoffset() != second.utcoffset():  # ambiguous: the autumn repeated hour
            return first if (bool(first.dst()) == self.dst) else second
        return first

    def isoformat(self) -> str:
        """The naive wall-clock time in ISO 8601, as the vectors state it."""
        return self.to_naive().isoformat()

    def __str__(self) -> str:
        return self.isoformat()


_DATE_TIME: Final = struct.Struct(">HBBBBBBBhB")
