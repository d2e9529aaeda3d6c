"""The optical port over DLMS/COSEM: the asyncio adapter around the sans-I/O ``DlmsClient``.

:class:`DlmsOpticalPort` owns the byte stream (serial 9600 8N1, or a ser2net-style TCP socket)
and one session at a time: SNRM/UA, AARQ/AARE, then GET/SET by object name, RLRQ and DISC on
exit. :class:`DlmsSession` turns names into attribute descriptors (the shared object table),
reads each register's scaler_unit once per port (so the meter's configured resolution is
honoured, not assumed), and converts to the contract's units: Wh → kWh, varh → kvarh.

Writes keep the A-XDR type the meter uses for the attribute (read first), so a u8 stays a u8.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Final, TypeAlias

from ..config import OpticalPortConfig
from ..protocol.axdr import CosemDateTime, Data, DataType
from ..protocol.dlms.client import (
    Associated,
    AttributeValue,
    ClientEvent,
    DlmsClient,
    ExchangeFailed,
    HlsGmac,
    Released,
    SetOutcome,
)
from ..protocol.dlms.descriptors import AttributeDescriptor, CaptureObject, RangeDescriptor
from ..protocol.dlms.enums import AcseServiceUserDiagnostic, DataAccessResult
from ..protocol.dlms.link import LinkConnected, LinkDisconnected
from ..protocol.errors import (
    AssociationRejected,
    AuthenticationFailed,
    OmnipowerError,
    ServiceRefused,
)
from ..protocol.hdlc import HdlcAddress
from ..protocol.omnipower_objects import OBJECTS, CosemObject, by_name
from .dlms_logs import meter_clock_of, read_log
from .hls_counter import HlsCounterFile
from .session import (
    LogEntry,
    MeterClock,
    ObjectRefused,
    OpticalAuthenticationFailed,
    OpticalPort,
    OpticalSession,
    OpticalUnavailable,
    ProfileRow,
)

__all__ = ["DlmsOpticalPort", "DlmsSession", "open_optical_port"]

_LOGGER = logging.getLogger(__name__)

StreamOpener: TypeAlias = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]

#: Blue Book unit codes (4.3.2) the gateway converts, and how: (factor, contract unit).
_UNIT_FACTORS: Final = {30: 1e-3, 32: 1e-3}  # Wh → kWh, varh → kvarh
#: Unit 255 "count / unitless" doubles as "the meter did not say" when attribute 3 is refused.
_UNIT_UNKNOWN: Final = 255
#: The time column of a profile: the clock, attribute 2.
_CLOCK_OBIS: Final = bytes([0, 1, 1, 0, 0, 255])
_BY_LOGICAL_NAME: Final = {obj.logical_name: obj for obj in OBJECTS}
#: 2020-01-01T00:00:00Z, the start of the clock-based invocation counter floor.
_EPOCH_2020: Final = 1_577_836_800
#: HLS counters reserved on disk before a session starts (a session uses a few dozen).
SESSION_COUNTERS: Final = 500
#: Column OBIS → load-profile key ([DLMS] §3: A+, A−, R+, R− in the profile).
_PROFILE_COLUMNS: Final = {
    bytes([1, 1, 1, 8, 0, 255]): "active_energy_import",
    bytes([1, 1, 2, 8, 0, 255]): "active_energy_export",
    bytes([1, 1, 3, 8, 0, 255]): "reactive_energy_import",
    bytes([1, 1, 4, 8, 0, 255]): "reactive_energy_export",
    **{bytes([1, 1, 4 + q, 8, 0, 255]): f"reactive_energy_q{q}" for q in range(1, 5)},
}


def open_optical_port(
    config: OpticalPortConfig, *, counters: HlsCounterFile | None = None
) -> OpticalPort:
    """The port *config* describes: DLMS over HDLC, or the IEC 62056-21 readout fallback.
    *counters* keeps the HLS-GMAC invocation counters across restarts."""
    if config.protocol == "iec62056-21":
        from .iec62056_21_session import iec62056_port

        return iec62056_port(config)
    if config.protocol != "dlms":
        raise OpticalUnavailable(
            f"optical protocol {config.protocol!r} is read by the readout client, not DLMS"
        )
    if config.kind == "tcp":

        def opener() -> Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
            return asyncio.open_connection(config.host, config.port)

    else:

        def opener() -> Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
            import serial_asyncio_fast

            result: Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
                serial_asyncio_fast.open_serial_connection(url=config.path, baudrate=9600)
            )
            return result

    return DlmsOpticalPort(config, opener, counters=counters)


class DlmsOpticalPort:
    """Sessions on one optical head, one at a time."""

    def __init__(
        self,
        config: OpticalPortConfig,
        open_stream: StreamOpener,
        *,
        response_timeout: float = 2.0,
        open_timeout: float = 5.0,
        counters: HlsCounterFile | None = None,
    ) -> None:
        self.config = config
        self._counters = counters
        self._open_stream = open_stream
        self.response_timeout = response_timeout
        self.open_timeout = open_timeout
        self._lock = asyncio.Lock()
        #: scaler per logical name, learnt once (attribute 3 of class 3/4 objects).
        self.scalers: dict[bytes, tuple[int, int]] = {}
        #: The next HLS-GMAC invocation counter (kept across sessions; see below).
        self._invocation_counter = 0

    def _next_invocation_counter(self) -> int:
        """Our next HLS-GMAC invocation counter: past every one this port used, past every one
        reserved on disk (``counters``), and past a clock-based floor, so that a restarted
        gateway never reuses one with the same key.

        The floor is 8 per second since 2020 (the counter is 32 bits: enough until 2036), a
        second line of defence when the state directory is lost. Before the session starts,
        :data:`SESSION_COUNTERS` more are reserved on disk.
        """
        floor = max(int(time.time()) - _EPOCH_2020, 0) * 8
        stored = self._counters.reserved(self._counter_key) if self._counters else 0
        self._invocation_counter = max(self._invocation_counter, floor, stored, 1)
        if self._counters is not None:
            self._counters.reserve(self._counter_key, self._invocation_counter + SESSION_COUNTERS)
        return self._invocation_counter

    @property
    def _counter_key(self) -> str:
        return f"{self.config.system_title.hex().upper()} {self.config.description}"

    @property
    def description(self) -> str:
        """For logs."""
        return self.config.description

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[OpticalSession]:
        """Open link and association; release and close on exit, whatever happened."""
        async with self._lock:
            try:
                async with asyncio.timeout(self.open_timeout):
                    reader, writer = await self._open_stream()
            except (OSError, TimeoutError) as exc:
                raise OpticalUnavailable(f"cannot open {self.description}: {exc}") from None
            config = self.config
            password = config.password
            keys = config.hls_keys()
            hls = None
            if keys is not None:
                hls = HlsGmac(
                    keys,
                    config.system_title,
                    secrets.token_bytes(16),  # CtoS: fresh for every association
                    invocation_counter=self._next_invocation_counter(),
                )
            client = DlmsClient(
                client=config.client_address,
                server=HdlcAddress(
                    16 if config.authenticated else 1, config.server_address, size=2
                ),
                password=None
                if password is None or hls is not None
                else password.reveal().encode(),
                response_timeout=self.response_timeout,
                hls=hls,
            )
            driver = _Driver(client, reader, writer)
            try:
                await driver.exchange(lambda now: client.connect(now), LinkConnected)
                await driver.exchange(lambda now: client.associate(now), Associated)
                yield DlmsSession(driver, self)
                with contextlib.suppress(OmnipowerError, OSError, TimeoutError):
                    await driver.exchange(lambda now: client.release(now), Released)
                with contextlib.suppress(OmnipowerError, OSError, TimeoutError):
                    await driver.exchange(lambda now: client.disconnect(now), LinkDisconnected)
            finally:
                # Never reuse a GCM nonce: the next session starts past every counter used.
                self._invocation_counter = max(
                    self._invocation_counter, client.session.invocation_counter
                )
                if self._counters is not None and hls is not None:
                    self._counters.reserve(self._counter_key, self._invocation_counter)
                writer.close()
                with contextlib.suppress(OSError, ConnectionError):
                    await writer.wait_closed()


class _Driver:
    """Runs the sans-I/O client against a stream until the wanted event arrives."""

    def __init__(
        self, client: DlmsClient, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.client = client
        self.reader = reader
        self.writer = writer

    async def exchange(self, start: Callable[[float], None], want: type[Any]) -> Any:
        client = self.client
        start(time.monotonic())
        await self._flush()
        while True:
            deadline = client.next_deadline
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                async with asyncio.timeout(timeout):
                    data = await self.reader.read(4096)
            except TimeoutError:
                events = client.timer(time.monotonic())
            else:
                if not data:
                    raise OpticalUnavailable("the optical port closed")
                events = client.receive_data(data, time.monotonic())
            await self._flush()
            for event in events:
                found = self._check(event, want)
                if found is not None:
                    return found

    @staticmethod
    def _check(event: ClientEvent, want: type[Any]) -> ClientEvent | None:
        matched: ClientEvent = event
        if isinstance(event, want):
            return matched
        if isinstance(event, ExchangeFailed):
            if isinstance(event.error, ServiceRefused):
                raise ObjectRefused("the request", str(event.error))
            if _authentication_refused(event.error):
                raise OpticalAuthenticationFailed(
                    f"{event.error} ({OpticalAuthenticationFailed.hint})"
                )
            raise OpticalUnavailable(f"{event.error} ({event.error.hint})")
        if isinstance(event, LinkDisconnected):
            raise OpticalUnavailable("the meter closed the HDLC link (no answer, or DM)")
        return None

    async def _flush(self) -> None:
        data = self.client.data_to_send()
        if data:
            self.writer.write(data)
            await self.writer.drain()


class DlmsSession:
    """:class:`~.session.OpticalSession` over one association."""

    def __init__(self, driver: _Driver, port: DlmsOpticalPort) -> None:
        self._driver = driver
        self._port = port

    async def _get(self, descriptor: AttributeDescriptor, access: Any = None) -> Data | None:
        event: AttributeValue = await self._driver.exchange(
            lambda now: self._driver.client.get(descriptor, now, access), AttributeValue
        )
        if isinstance(event.result, DataAccessResult):
            return None
        return event.result

    async def _scaler(self, obj: CosemObject) -> tuple[int, int]:
        cached = self._port.scalers.get(obj.logical_name)
        if cached is not None:
            return cached
        raw = await self._get(AttributeDescriptor(obj.class_id, obj.logical_name, 3))
        scaler, unit = obj.scaler, _UNIT_UNKNOWN
        if raw is not None and raw.type == DataType.STRUCTURE and len(raw.value) == 2:
            scaler, unit = int(raw.value[0].value), int(raw.value[1].value)
        self._port.scalers[obj.logical_name] = (scaler, unit)
        return scaler, unit

    async def _value(self, obj: CosemObject, raw: Data) -> Any:
        value = raw.value
        if obj.class_id in (3, 4) and isinstance(value, int) and not isinstance(value, bool):
            scaler, unit = await self._scaler(obj)
            return value * 10.0**scaler * _UNIT_FACTORS.get(unit, 1.0)
        if raw.type == DataType.OCTET_STRING and obj.name in ("meter_type", "firmware"):
            return bytes(value).decode("ascii", "replace")
        return value

    async def read_log(self, name: str, start: datetime, end: datetime) -> list[LogEntry]:
        """Log *name* by range on its clock column (:mod:`.dlms_logs`)."""
        return await read_log(self._get, self._scaler, name, start, end)

    async def read_capture_times(self, names: Sequence[str]) -> dict[str, MeterClock | None]:
        """Attribute 5 of each class-4 register in *names*."""
        out: dict[str, MeterClock | None] = {}
        for name in names:
            obj = by_name(name)
            if obj.class_id == 4:
                raw = await self._get(AttributeDescriptor(4, obj.logical_name, 5))
                if raw is not None:
                    out[name] = meter_clock_of(raw)
        return out

    async def scaler_units(self, names: Sequence[str]) -> dict[str, tuple[int, int]]:
        """Attribute 3 of each register in *names* (read once per port, then cached); a
        register whose scaler_unit the meter does not give is left out."""
        out: dict[str, tuple[int, int]] = {}
        for name in names:
            obj = by_name(name)
            if obj.class_id in (3, 4):
                scaler, unit = await self._scaler(obj)
                if unit != _UNIT_UNKNOWN:
                    out[name] = (scaler, unit)
        return out

    async def read(self, names: Sequence[str]) -> dict[str, Any]:
        """Every readable name; refused or undefined objects are left out."""
        out: dict[str, Any] = {}
        for name in names:
            obj = by_name(name)
            if obj.class_id in (7, 8):
                continue  # profiles and the clock have their own calls
            raw = await self._get(AttributeDescriptor(obj.class_id, obj.logical_name, 2))
            if raw is None or raw.type == DataType.NULL_DATA:
                continue
            out[name] = await self._value(obj, raw)
        return out

    async def resolution(self, name: str) -> float | None:
        """10**scaler in the contract's unit for a register (its scaler_unit, read once), 1 for
        an integer data object; None for anything else."""
        obj = by_name(name)
        if obj.class_id in (3, 4):
            scaler, unit = await self._scaler(obj)
            return float(10.0**scaler * _UNIT_FACTORS.get(unit, 1.0))
        if obj.class_id == 1:
            return 1.0
        return None

    async def write(self, name: str, value: Any) -> None:
        """SET attribute 2 in the type the meter uses for it."""
        obj = by_name(name)
        descriptor = AttributeDescriptor(obj.class_id, obj.logical_name, 2)
        current = await self._get(descriptor)
        if current is None:
            raise ObjectRefused(name, "object-undefined or read-denied")
        raw_value: Any = value
        if obj.class_id in (3, 4):
            scaler, unit = await self._scaler(obj)
            raw_value = round(float(value) / _UNIT_FACTORS.get(unit, 1.0) / 10.0**scaler)
        elif isinstance(value, float):
            raw_value = round(value)
        await self._set(name, descriptor, Data(current.type, raw_value))

    async def _set(self, name: str, descriptor: AttributeDescriptor, value: Data) -> None:
        outcome: SetOutcome = await self._driver.exchange(
            lambda now: self._driver.client.set(descriptor, value, now), SetOutcome
        )
        if outcome.result != DataAccessResult.SUCCESS:
            raise ObjectRefused(name, outcome.result.name.lower().replace("_", "-"))

    async def read_clock(self) -> MeterClock:
        """Clock attribute 2 (octet-string date-time)."""
        clock = by_name("clock")
        raw = await self._get(AttributeDescriptor(8, clock.logical_name, 2))
        if raw is None:
            raise ObjectRefused("clock", "read-denied")
        stamp = _date_time(raw)
        return MeterClock(stamp.to_naive(), stamp.dst)

    async def write_clock(self, clock: MeterClock) -> None:
        """Set the clock with its DST bit ([DLMS] §3: required inside the DST window)."""
        obj = by_name("clock")
        stamp = CosemDateTime.from_datetime(clock.local, dst=bool(clock.dst))
        descriptor = AttributeDescriptor(8, obj.logical_name, 2)
        await self._set("clock", descriptor, Data(DataType.OCTET_STRING, stamp.to_bytes()))

    async def read_load_profile(self, start: datetime, end: datetime) -> list[ProfileRow]:
        """The profile's entries in [start, end] by range selective access on its clock column."""
        profile = by_name("load_profile")
        columns_raw = await self._get(AttributeDescriptor(7, profile.logical_name, 3))
        if columns_raw is None or columns_raw.type != DataType.ARRAY:
            raise ObjectRefused("load_profile", "capture_objects not readable")
        columns = [CaptureObject.from_data(item) for item in columns_raw.value]
        clock_column = next(
            (c for c in columns if c.class_id == 8 and c.instance == _CLOCK_OBIS), None
        )
        if clock_column is None:
            raise ObjectRefused("load_profile", "the profile has no clock column")
        access = RangeDescriptor(
            clock_column,
            Data(DataType.OCTET_STRING, CosemDateTime.from_datetime(start, dst=False).to_bytes()),
            Data(DataType.OCTET_STRING, CosemDateTime.from_datetime(end, dst=False).to_bytes()),
        ).to_access()
        buffer = await self._get(AttributeDescriptor(7, profile.logical_name, 2), access)
        if buffer is None or buffer.type != DataType.ARRAY:
            raise ObjectRefused("load_profile", "buffer not readable with a range")
        # The entry's status is Kamstrup's LoggerStatus, the profile's own attribute 255
        # (Integer8 -1 on the wire, [DLMS] §4), not the reserved class 1 column.
        status_column = next(
            (
                index
                for index, c in enumerate(columns)
                if c.class_id == 7 and c.instance == profile.logical_name and c.attribute == -1
            ),
            None,
        )
        scalers: dict[int, float] = {}
        for index, column in enumerate(columns):
            register = _BY_LOGICAL_NAME.get(column.instance)
            if column.instance in _PROFILE_COLUMNS and register is not None:
                scaler, unit = await self._scaler(register)
                scalers[index] = 10.0**scaler * _UNIT_FACTORS.get(unit, 1.0)
        period_raw = await self._get(AttributeDescriptor(7, profile.logical_name, 4))
        period = period_raw.value if period_raw is not None else None
        period_s = period if isinstance(period, int) and period > 0 else None
        rows = []
        for entry in buffer.value:
            cells = entry.value
            values: dict[str, float] = {}
            stamp: CosemDateTime | None = None
            status = 0
            for index, (column, cell) in enumerate(zip(columns, cells, strict=False)):
                if column is clock_column:
                    stamp = _date_time(cell)
                elif index in scalers and isinstance(cell.value, int):
                    values[_PROFILE_COLUMNS[column.instance]] = cell.value * scalers[index]
                elif index == status_column and isinstance(cell.value, int):
                    status = cell.value & 0xFF
            if stamp is not None:
                clock = MeterClock(stamp.to_naive(), stamp.dst)
                rows.append(ProfileRow(clock, status, values, period_s))
        return rows


def _authentication_refused(error: OmnipowerError) -> bool:
    """A wrong password or wrong keys: AARE authentication-failure, or HLS pass 4 failing."""
    if isinstance(error, AuthenticationFailed):
        return True
    return (
        isinstance(error, AssociationRejected)
        and error.diagnostic == AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE
    )


def _date_time(raw: Data) -> CosemDateTime:
    if raw.type == DataType.OCTET_STRING:
        return CosemDateTime.from_bytes(bytes(raw.value))
    if isinstance(raw.value, CosemDateTime):
        return raw.value
    raise ObjectRefused("clock", f"unexpected type {raw.type.name}")
