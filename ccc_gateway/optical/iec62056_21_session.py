"""The optical port as an IEC 62056-21 readout: the fallback for meters without DLMS optically.

:class:`Iec62056OpticalPort` is an :class:`~.session.OpticalPort` like the DLMS one, so the
poller needs no second code path. A session opens the optical head and takes one readout (at the
first call that needs it); every ``read`` and ``read_clock`` of that session answers from it. The
readout's registers are matched to the object names of
:mod:`ccc_gateway.protocol.omnipower_objects` by their ``C.D.E`` codes (the display suppresses A
and B, [1107]) and converted from the display's units to the contract's (``kW`` → W,
``kWh`` stays kWh). A register whose unit cannot be converted is left out, never guessed; so is
anything the table does not name.

A readout cannot write, set the clock or read the load profile (that needs programming mode and
a password, which Kamstrup's 1107 allows but the gateway does not use): those calls raise
:class:`~.session.ObjectRefused`. Every failure of the readout itself (no answer, bad BCC or
parity, a lost port) becomes :class:`~.session.OpticalUnavailable` carrying the readout error's
hint, so the poller counts it and backs off like for DLMS.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeAlias

from ..config import OpticalPortConfig
from ..ports.base import PortUnavailable
from ..protocol.errors import OmnipowerError
from ..protocol.omnipower_objects import OBJECTS, CosemObject
from .iec62056_21_client import Iec62056Client, Readout
from .iec62056_21_port import OpticalLink, SerialOpticalPort, TcpOpticalPort, read_readout
from .session import (
    LogEntry,
    MeterClock,
    ObjectRefused,
    OpticalSession,
    OpticalUnavailable,
    ProfileRow,
)

__all__ = [
    "READOUT_ONLY",
    "Iec62056OpticalPort",
    "Iec62056Session",
    "iec62056_port",
    "readout_clock",
    "readout_values",
]

#: Why writes, clock sets and the load profile are refused.
READOUT_ONLY: Final = "the IEC 62056-21 readout is read-only (no programming mode)"

#: Contract units of the objects whose table unit is not the contract's (docs/mqtt.md).
_CONTRACT_UNITS: Final = {"Wh": "kWh", "varh": "kvarh"}
_UNIT_OVERRIDES: Final = {"prepayment_alarm_limit": "kWh", "prepayment_time_remaining": "min"}
#: (display unit, contract unit), case-insensitively (Kamstrup's example writes ``*kwh``) →
#: factor. Identical units convert by 1.
_FACTORS: Final = {
    ("wh", "kwh"): Decimal("0.001"),
    ("varh", "kvarh"): Decimal("0.001"),
    ("kw", "w"): Decimal(1000),
    ("kvar", "var"): Decimal(1000),
    ("mwh", "kwh"): Decimal(1000),
    ("h", "min"): Decimal(60),
}
#: Objects whose value is text, kept as the meter wrote it (leading zeros matter).
_TEXT: Final = frozenset({"meter_number", "serial_number", "meter_type", "firmware"})
_CLOCK: Final = "1.0.0"
_TIME: Final = re.compile(r"([01])([01]?)(\d{12})")


def _display_code(obj: CosemObject) -> str:
    return ".".join(obj.obis.split(".")[2:5])


def _by_code() -> dict[str, CosemObject]:
    table: dict[str, CosemObject] = {}
    for obj in OBJECTS:
        if obj.class_id in (7, 8):
            continue  # profiles and the clock are not values of a readout
        code = _display_code(obj)
        if code in table:
            raise AssertionError(f"{obj.name} and {table[code].name} share C.D.E {code}")
        table[code] = obj
    return table


#: Readout ``C.D.E`` → object, for every value object of the shared table.
BY_DISPLAY_CODE: Final = _by_code()


def _contract_unit(obj: CosemObject) -> str | None:
    if obj.name in _UNIT_OVERRIDES:
        return _UNIT_OVERRIDES[obj.name]
    return _CONTRACT_UNITS.get(obj.unit or "", obj.unit)


def _factor(display_unit: str | None, contract_unit: str | None) -> Decimal | None:
    """How to scale a display value to the contract's unit; None when that would be a guess."""
    if display_unit is None or contract_unit is None:
        return Decimal(1) if display_unit is None and contract_unit is None else None
    shown, wanted = display_unit.lower(), contract_unit.lower()
    if shown == wanted:
        return Decimal(1)
    return _FACTORS.get((shown, wanted))


def _value(obj: CosemObject, text: str, unit: str | None) -> Any:
    if obj.name in _TEXT:
        return text
    factor = _factor(unit, _contract_unit(obj))
    if factor is None:
        return None
    try:
        number = Decimal(text) * factor
    except InvalidOperation:
        return None
    if obj.class_id in (3, 4) or number != number.to_integral_value():
        return float(number)
    return int(number)


def readout_values(readout: Readout) -> dict[str, Any]:
    """Every register of *readout* that names an object, by object name, in contract units."""
    out: dict[str, Any] = {}
    for item in readout.values:
        obj = BY_DISPLAY_CODE.get(item.obis)
        if obj is None:
            continue
        value = _value(obj, item.value, item.unit)
        if value is not None:
            out[obj.name] = value
    meter_type = readout.identification.meter_type
    if meter_type and "meter_type" not in out:
        out["meter_type"] = meter_type  # the identification names the type (first 15 chars)
    return out


def readout_clock(readout: Readout) -> MeterClock | None:
    """The meter's time from ``1.0.0(NVYYMMDDhhmmss)``, or from ``0.9.1`` (hhmmss) and
    ``0.9.2`` (YYMMDD) without a DST flag; None when the readout has neither."""
    texts: Mapping[str, str] = {item.obis: item.value for item in readout.values}
    stamp = _TIME.fullmatch(texts.get(_CLOCK, ""))
    if stamp is not None:
        local = _digits(stamp.group(3))
        return None if local is None else MeterClock(local, stamp.group(1) == "1")
    time, date = texts.get("0.9.1", ""), texts.get("0.9.2", "")
    if len(time) == 6 and len(date) == 6:
        local = _digits(date + time)
        return None if local is None else MeterClock(local, None)
    return None


def _digits(text: str) -> datetime | None:
    """``YYMMDDhhmmss`` in this century; None if it is not a date."""
    if len(text) != 12 or not text.isdigit():
        return None
    year, month, day, hour, minute, second = (int(text[i : i + 2]) for i in range(0, 12, 2))
    try:
        return datetime(2000 + year, month, day, hour, minute, second)
    except ValueError:
        return None


class Iec62056Session:
    """:class:`~.session.OpticalSession` over one readout, taken at the first read."""

    def __init__(self, link: OpticalLink, client: Iec62056Client) -> None:
        self._link = link
        self._client = client
        self._readout: Readout | None = None

    async def readout(self) -> Readout:
        """The session's readout; :class:`OpticalUnavailable` when it fails."""
        if self._readout is None:
            try:
                self._readout = await read_readout(self._link, self._client)
            except OmnipowerError as exc:
                hint = getattr(exc, "hint", OpticalUnavailable.hint)
                raise OpticalUnavailable(f"IEC 62056-21 readout failed: {exc} ({hint})") from exc
        return self._readout

    async def read(self, names: Sequence[str]) -> dict[str, Any]:
        """The values of *names* the readout carries; others are left out."""
        values = readout_values(await self.readout())
        return {name: values[name] for name in names if name in values}

    async def write(self, name: str, value: Any) -> None:
        """Refused: see :data:`READOUT_ONLY`."""
        raise ObjectRefused(name, READOUT_ONLY)

    async def resolution(self, name: str) -> float | None:
        """Unknown: a readout shows values, not their registers' scalers (and takes no writes)."""
        return None

    async def read_clock(self) -> MeterClock:
        """The readout's date and time; :class:`ObjectRefused` when it carries none."""
        clock = readout_clock(await self.readout())
        if clock is None:
            raise ObjectRefused("clock", "the readout carries no date and time (1.0.0)")
        return clock

    async def write_clock(self, clock: MeterClock) -> None:
        """Refused: see :data:`READOUT_ONLY`."""
        raise ObjectRefused("clock", READOUT_ONLY)

    async def read_load_profile(self, start: datetime, end: datetime) -> list[ProfileRow]:
        """Refused: see :data:`READOUT_ONLY`."""
        raise ObjectRefused("load_profile", READOUT_ONLY)

    async def read_log(self, name: str, start: datetime, end: datetime) -> list[LogEntry]:
        """Refused: see :data:`READOUT_ONLY`."""
        raise ObjectRefused(name, READOUT_ONLY)

    async def read_capture_times(self, names: Sequence[str]) -> dict[str, MeterClock | None]:
        """None: the readout carries no capture times."""
        return {}

    async def scaler_units(self, names: Sequence[str]) -> dict[str, tuple[int, int]]:
        """None: a readout shows values at the display's format, not the push's scalers."""
        return {}


LinkOpener: TypeAlias = Callable[[], AbstractAsyncContextManager[OpticalLink]]


class Iec62056OpticalPort:
    """Readout sessions on one optical head, one at a time (the head is half-duplex)."""

    def __init__(
        self,
        description: str,
        open_link: LinkOpener,
        *,
        client: Callable[[], Iec62056Client] = Iec62056Client,
    ) -> None:
        self._description = description
        self._open_link = open_link
        self._client = client
        self._lock = asyncio.Lock()

    @property
    def description(self) -> str:
        """For logs and diagnostics."""
        return self._description

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[OpticalSession]:
        """Open the head; the readout happens at the session's first read."""
        async with self._lock, contextlib.AsyncExitStack() as stack:
            try:
                link = await stack.enter_async_context(self._open_link())
            except PortUnavailable as exc:
                raise OpticalUnavailable(f"cannot open {self.description}: {exc}") from None
            yield Iec62056Session(link, self._client())


def iec62056_port(config: OpticalPortConfig) -> Iec62056OpticalPort:
    """The readout port *config* describes: a serial head (300 baud, then the meter's maximum)
    or a raw TCP socket to a serial server."""
    if config.kind == "tcp":

        def opener() -> AbstractAsyncContextManager[OpticalLink]:
            return TcpOpticalPort(config.host, config.port)

    else:

        def opener() -> AbstractAsyncContextManager[OpticalLink]:
            return SerialOpticalPort(config.path)

    return Iec62056OpticalPort(config.description, opener)
