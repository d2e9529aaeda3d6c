"""The CCC push port, sans I/O: which frames go on the wire at a given meter time.

The runtime advances the meter model to each trigger time, takes a register snapshot, and asks
this object for the frame; the pty/TCP adapter only moves the bytes. Faults are queued on demand
(one-shot) or drawn at a rate from a seeded RNG, so a test can reproduce a run exactly.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeAlias

from ccc_gateway.protocol.axdr import CosemDateTime
from ccc_gateway.protocol.cipher import Keys

from .ccc_frames import PushSecurity, build_push_frame
from .faults import (
    BUILD_FAULTS,
    FRAME_FAULTS,
    TELEGRAM_FAULTS,
    Fault,
    corrupt_frame,
    corrupt_telegram,
)
from .p1_telegram import P1Resolution, build_telegram
from .push_lists import AbsentObjects, ListProfile, PushList, build_list_body
from .push_schedule import DuePush, PushKind, PushSchedule

__all__ = ["CccPush", "CccPushConfig", "FaultNotApplicable"]

Snapshot: TypeAlias = Mapping[str, int | str | CosemDateTime]


class FaultNotApplicable(ValueError):
    """A fault that makes no sense for this port's configuration (e.g. a key fault in clear)."""


@dataclass(frozen=True, slots=True)
class CccPushConfig:
    """How the DSO configured this meter's push ([HAN] §7.1)."""

    push_list: PushList = PushList.HAN_NVE_LIST_1
    absent: AbsentObjects = AbsentObjects.NULL_DATA
    hourly: bool = True  # HAN-NVE list 2 once an hour (only with HAN-NVE list 1)
    hourly_offset_s: int = 25
    security: PushSecurity | None = None
    #: Set: push Swedish HAN P1 ASCII telegrams (every 10 s, never encrypted) instead of a list.
    han_p1: P1Resolution | None = None

    @property
    def name(self) -> str:
        """What this port pushes, by the name the meter TOML uses."""
        return "han_p1" if self.han_p1 is not None else self.push_list.value

    def profile(self, kind: PushKind) -> ListProfile:
        """The list profile of a trigger kind."""
        if kind is PushKind.HOURLY:
            return ListProfile(PushList.HAN_NVE_LIST_2, self.absent)
        return ListProfile(self.push_list, self.absent)

    def schedule(self) -> PushSchedule:
        """The push triggers of this configuration."""
        hourly = self.hourly and self.push_list is PushList.HAN_NVE_LIST_1 and not self.han_p1
        return PushSchedule(self.hourly_offset_s if hourly else None)


@dataclass(slots=True)
class CccPush:
    """Turns due triggers and register snapshots into wire bytes, applying queued faults.

    ``next_invocation_counter`` comes from the meter model, which persists it so a counter is
    never reused across restarts.
    """

    config: CccPushConfig
    next_invocation_counter: Callable[[], int]
    fault_rate: float = 0.0
    rate_faults: tuple[Fault, ...] = (Fault.BAD_FCS, Fault.BAD_HCS, Fault.TRUNCATED, Fault.GARBAGE)
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    pushes_sent: int = 0
    _queued: deque[Fault] = field(default_factory=deque)
    _last_ic: int | None = None

    def inject(self, fault: Fault, count: int = 1) -> None:
        """Apply *fault* to the next *count* pushes."""
        if fault in (Fault.SILENCE, Fault.CLOCK_JUMP):
            raise FaultNotApplicable(f"{fault.value} is applied by the port or the clock")
        needs_cipher = fault in BUILD_FAULTS or fault is Fault.CORRUPTED_TAG
        if self.config.han_p1 is not None and fault not in TELEGRAM_FAULTS:
            raise FaultNotApplicable(f"{fault.value} does not apply to a HAN P1 telegram")
        if needs_cipher and self.config.security is None:
            raise FaultNotApplicable(f"{fault.value} needs an encrypted push")
        if fault is Fault.REPLAYED_IC and self._last_ic is None:
            raise FaultNotApplicable("replayed_ic needs a previous encrypted push")
        self._queued.extend([fault] * count)

    @property
    def queued_faults(self) -> tuple[Fault, ...]:
        """Faults waiting for the next pushes."""
        return tuple(self._queued)

    def schedule(self) -> PushSchedule:
        """When this port pushes."""
        return self.config.schedule()

    def build(self, due: DuePush, snapshot: Snapshot) -> bytes:
        """The bytes for one trigger (the snapshot taken at ``due.trigger``)."""
        fault = self._next_fault()
        if self.config.han_p1 is not None:
            return self._build_telegram(due, snapshot, fault)
        clock = CosemDateTime.from_datetime(due.trigger, dst=_dst(snapshot, due.trigger))
        body = build_list_body(self.config.profile(due.kind), snapshot, clock=clock)
        security = self.config.security
        ic: int | None = None
        if security is not None:
            if fault is Fault.REPLAYED_IC and self._last_ic is not None:
                ic = self._last_ic
            else:
                ic = self.next_invocation_counter()
                self._last_ic = ic
            security = self._faulty_security(fault, security)
        frame = build_push_frame(body, date_time=clock, security=security, invocation_counter=ic)
        if fault in FRAME_FAULTS:
            frame = corrupt_frame(fault, frame, self.rng)
        self.pushes_sent += 1
        return frame

    def _build_telegram(self, due: DuePush, snapshot: Snapshot, fault: Fault | None) -> bytes:
        resolution = self.config.han_p1 or P1Resolution()
        dst = _dst(snapshot, due.trigger)
        telegram = build_telegram(snapshot, clock=due.trigger, dst=bool(dst), resolution=resolution)
        if fault is not None:
            telegram = corrupt_telegram(fault, telegram, self.rng)
        self.pushes_sent += 1
        return telegram

    def _next_fault(self) -> Fault | None:
        if self._queued:
            return self._queued.popleft()
        if self.fault_rate and self.rng.random() < self.fault_rate:
            faults = self.rate_faults
            if self.config.han_p1 is not None:
                faults = tuple(f for f in faults if f in TELEGRAM_FAULTS) or (Fault.BAD_FCS,)
            return self.rng.choice(faults)
        return None

    def _faulty_security(self, fault: Fault | None, security: PushSecurity) -> PushSecurity:
        keys = security.keys
        if fault is Fault.WRONG_KEY:
            wrong = bytes(self.rng.randrange(256) for _ in range(16))
            return PushSecurity(Keys(wrong, keys.authentication_key), security.system_title)
        if fault is Fault.SWAPPED_KEYS and keys.authentication_key is not None:
            return PushSecurity(
                Keys(keys.authentication_key, keys.encryption_key), security.system_title
            )
        return security


def _dst(snapshot: Snapshot, moment: datetime) -> bool | None:
    """DST flag: from the model's clock status when it offers one, else from the zone."""
    flag = snapshot.get("clock_dst")
    if isinstance(flag, int):
        return bool(flag)
    return None if moment.tzinfo is not None else False
