"""Runs the emulated meter in (sped-up) real time and feeds its ports.

The model is pure and advanced by a simulated clock; this module maps real time to simulated
time (``speed`` simulated seconds per real second), advances the model in small steps, asks the
CCC push port which frames are due by the *meter's* clock (which may drift or jump), and hands
the bytes to the links. Writing never blocks the clock: each link has a bounded queue, and at
extreme speed-ups the oldest queued frames are dropped rather than letting the line fall behind
without end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Protocol, TypeAlias

from ccc_gateway.protocol.axdr import CosemDateTime

from .ports.ccc_push import CccPush
from .ports.links import ByteLink

__all__ = ["EmulatorRuntime", "MeterLike", "SimClock"]

_LOGGER = logging.getLogger(__name__)
#: Real seconds between model steps: fine enough for 10 s pushes at a 100x speed-up.
STEP: Final = 0.05
#: Frames waiting for one link before the oldest is dropped.
MAX_BACKLOG: Final = 8

Snapshot: TypeAlias = Mapping[str, int | str | CosemDateTime]


class MeterLike(Protocol):
    """What the runtime needs from the meter model."""

    def advance_to(self, moment: datetime) -> None:
        """Advance the simulation to *moment* (aware)."""
        ...

    def meter_clock(self) -> datetime:
        """The meter's RTC reading now: local wall-clock time (naive)."""
        ...

    def push_snapshot(self) -> Snapshot:
        """Raw register values for the push lists, at the configured resolution."""
        ...

    def meter_clock_at(self, moment: datetime) -> datetime:
        """What the RTC will read at *moment* (at least the present), without advancing."""
        ...

    def moment_of(self, meter_time: datetime) -> datetime:
        """The true moment (not before the present) at which the RTC reads *meter_time*."""
        ...

    def is_powered(self) -> bool:
        """Whether the meter has supply: without it the CCC module is dead and pushes nothing."""
        ...


@dataclass(slots=True)
class SimClock:
    """Simulated time: starts at *start* and runs *speed* times faster than the wall clock."""

    start: datetime
    speed: float = 1.0
    monotonic: Callable[[], float] = time.monotonic
    _real_start: float = field(init=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("simulated time must be aware (UTC)")
        if self.speed <= 0:
            raise ValueError("speed must be positive")
        self._real_start = self.monotonic()

    def now(self) -> datetime:
        """The simulated moment now."""
        return self.start + timedelta(seconds=(self.monotonic() - self._real_start) * self.speed)


@dataclass(slots=True)
class EmulatorRuntime:
    """Advances *meter* on *clock* and writes due CCC pushes to *ccc_links*."""

    meter: MeterLike
    clock: SimClock
    ccc: CccPush
    ccc_links: Sequence[ByteLink]
    push_enabled: bool = True
    on_push: Callable[[bytes], None] | None = None
    frames_dropped: int = 0
    _last_true: datetime | None = None
    _queues: list[asyncio.Queue[bytes]] = field(default_factory=list)

    async def run(self) -> None:
        """Until cancelled."""
        self._queues = [asyncio.Queue(MAX_BACKLOG) for _ in self.ccc_links]
        writers = [
            asyncio.create_task(self._drain(link, queue))
            for link, queue in zip(self.ccc_links, self._queues, strict=True)
        ]
        try:
            self.meter.advance_to(self.clock.now())
            previous = self.meter.meter_clock()
            while True:
                await asyncio.sleep(STEP)
                previous = self.step(previous)
        finally:
            for task in writers:
                task.cancel()
            for task in writers:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def step(self, previous_meter_time: datetime) -> datetime:
        """Advance to now, pushing every list due since *previous_meter_time* on the way.

        Each push is built from the registers at its own trigger time, as on the meter: the
        model is advanced to the trigger, the snapshot taken, then time goes on.
        """
        now = self.clock.now()
        meter_now = self.meter.meter_clock_at(now)
        since = previous_meter_time
        if meter_now < previous_meter_time:
            # The clock went back (autumn DST change, or set back): push only for the time
            # that passed since the last step, never replay what was already sent.
            elapsed = now - self._last_true if self._last_true is not None else timedelta(0)
            since = meter_now - elapsed
        self._last_true = now
        due_pushes = self.ccc.schedule().due(since, meter_now) if self.push_enabled else []
        for due in due_pushes:
            moment = self.meter.moment_of(due.trigger)
            if self.meter.meter_clock_at(moment) != due.trigger:
                continue  # a time the clock skipped (spring DST change, clock set forward)
            self.meter.advance_to(moment)
            if not self.meter.is_powered():
                continue
            frame = self.ccc.build(due, self.meter.push_snapshot())
            if self.on_push is not None:
                self.on_push(frame)
            for queue in self._queues:
                if queue.full():
                    queue.get_nowait()
                    self.frames_dropped += 1
                queue.put_nowait(frame)
        self.meter.advance_to(now)
        return self.meter.meter_clock()

    @staticmethod
    async def _drain(link: ByteLink, queue: asyncio.Queue[bytes]) -> None:
        while True:
            frame = await queue.get()
            try:
                await link.write(frame)
            except OSError as exc:  # a vanished port loses the frame, like a real line
                _LOGGER.debug("write to %s failed: %s", link.description, exc)
