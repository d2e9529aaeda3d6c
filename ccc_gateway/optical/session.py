"""What the gateway needs from an optical-port session, whatever the protocol underneath.

A session is one association with the meter (DLMS over HDLC today). Values go in and out by the
object names of :mod:`ccc_gateway.protocol.omnipower_objects`, already scaled to the contract's
units (kWh, W, V, A, %, Hz), so the poller and the command executor never see a scaler, an OBIS
code or a data-access-result. The port serialises sessions: the optical head is half-duplex and
the meter serves one association at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Protocol

from ..protocol.errors import OmnipowerError

__all__ = [
    "MeterClock",
    "ObjectRefused",
    "OpticalAuthenticationFailed",
    "OpticalError",
    "OpticalPort",
    "OpticalSession",
    "OpticalUnavailable",
    "ProfileRow",
]


class OpticalError(OmnipowerError):
    """Base of what can go wrong on the optical port."""

    code = "optical_error"
    hint = "check the optical head's position and cable"


class OpticalUnavailable(OpticalError):
    """No session: port missing, no answer, link refused, or association rejected."""

    code = "optical_unavailable"
    hint = (
        "check that the optical head sits on the meter's optical port and its cable is plugged "
        "in; a rejected association means a wrong LLS password or client address"
    )


class OpticalAuthenticationFailed(OpticalUnavailable):
    """The meter refused our credentials: the LLS password, or the HLS-GMAC keys (Z28 = 1)."""

    code = "optical_authentication_failed"
    hint = (
        "the meter refused the association's authentication: check [meters.optical] password, "
        "or encryption_key and authentication_key on a meter with local interface encryption"
    )


class ObjectRefused(OpticalError):
    """The meter answered, but refused this object (data-access-result ≠ success)."""

    code = "object_refused"
    hint = "the meter does not offer this object to this association, or not for writing"

    def __init__(self, name: str, result: str) -> None:
        super().__init__(f"the meter refused {name}: {result}")
        self.name = name
        self.result = result


@dataclass(frozen=True, slots=True)
class MeterClock:
    """The meter's clock reading: local wall time as it shows it, and its DST status bit."""

    local: datetime  # naive
    dst: bool | None

    def aware(self, zone: tzinfo) -> datetime:
        """This reading in *zone*, with a fixed UTC offset; the DST bit settles a repeated hour.

        The fixed offset matters: Python compares and subtracts two times of one ZoneInfo as
        naive wall times, fold ignored, which would merge the two 02:00 of an autumn night.
        """
        fold = 0 if self.dst is None or self.dst else 1
        local = self.local.replace(tzinfo=zone, fold=fold)
        return local.astimezone(timezone(local.utcoffset() or timedelta(0)))


@dataclass(frozen=True, slots=True)
class ProfileRow:
    """One load-profile entry: the register readings captured at *end* (the meter's local time)."""

    end: MeterClock
    status: int
    values: Mapping[str, float] = field(default_factory=dict)


class OpticalSession(Protocol):
    """One open association."""

    async def read(self, names: Sequence[str]) -> dict[str, Any]:
        """The values of *names* the meter has; a name it refuses is left out (never guessed)."""
        ...

    async def write(self, name: str, value: Any) -> None:
        """Write attribute 2 of *name*; :class:`ObjectRefused` when the meter says no."""
        ...

    async def resolution(self, name: str) -> float | None:
        """The step of *name*'s value in the contract's unit (0.001 for a Wh register read as
        kWh, 1 for an integer data object), or None when the meter does not say. Commands
        check what they will write against it, and compare the read-back at it."""
        ...

    async def read_clock(self) -> MeterClock:
        """The meter's RTC."""
        ...

    async def write_clock(self, clock: MeterClock) -> None:
        """Set the meter's RTC (with its DST bit)."""
        ...

    async def read_load_profile(self, start: datetime, end: datetime) -> list[ProfileRow]:
        """Entries whose capture time is within [*start*, *end*] (meter local time, naive)."""
        ...


class OpticalPort(Protocol):
    """Opens sessions, one at a time."""

    @property
    def description(self) -> str:
        """For logs and diagnostics."""
        ...

    def session(self) -> AbstractAsyncContextManager[OpticalSession]:
        """Wait for the port, open a session, close it on exit; :class:`OpticalUnavailable`."""
        ...
