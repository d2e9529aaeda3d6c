"""When the CCC pushes, by the meter's own clock ([HAN], 4 item 2).

The 10 s list goes out at hh:mm:x0. The hourly list (HAN-NVE list 2) goes out once an hour at a
meter-specific offset — :05 in the spec, :25/:35/:55 in real captures — which never falls on a
10 s slot, so the two never collide. Pure: the caller passes the clock readings in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Final

__all__ = ["DuePush", "PushKind", "PushSchedule"]

INTERVAL: Final = timedelta(seconds=10)
#: After a jump of the clock (power failure, set time) only the latest due push is sent; a meter
#: does not replay the pushes it missed.
_MAX_CATCH_UP: Final = 1


class PushKind(Enum):
    """Which of the configured lists a trigger is for."""

    INTERVAL = "interval"
    HOURLY = "hourly"


@dataclass(frozen=True, slots=True)
class DuePush:
    """A push to send now, and the trigger time its APDU date-time must carry."""

    kind: PushKind
    trigger: datetime


@dataclass(frozen=True, slots=True)
class PushSchedule:
    """The triggers of one meter. ``hourly_offset_s`` None disables the hourly list."""

    hourly_offset_s: int | None = 25

    def __post_init__(self) -> None:
        offset = self.hourly_offset_s
        if offset is not None and (not 0 < offset < 3600 or offset % 10 == 0):
            raise ValueError(
                "the hourly push offset is 1..3599 s past the hour and never on a 10 s slot"
            )

    def due(self, previous: datetime, now: datetime) -> list[DuePush]:
        """Triggers in (previous, now], in time order; at most the latest one of each kind."""
        if now <= previous:
            return []
        out: list[DuePush] = []
        last_slot = now.replace(microsecond=0) - timedelta(seconds=now.second % 10)
        if last_slot > previous:
            out.append(DuePush(PushKind.INTERVAL, last_slot))
        if self.hourly_offset_s is not None:
            hour = now.replace(minute=0, second=0, microsecond=0)
            trigger = hour + timedelta(seconds=self.hourly_offset_s)
            if trigger > now:
                trigger -= timedelta(hours=1)
            if trigger > previous:
                out.append(DuePush(PushKind.HOURLY, trigger))
        out.sort(key=lambda push: push.trigger)
        return out[-2 * _MAX_CATCH_UP :]
