"""Third-party DLMS clients against the emulated meter over TCP and a pty (issue 5 §3).

The emulator side is the real optical port: the mux (1107 or HDLC by the first octet) with the
DLMS server over the meter model (:func:`~meter_emulator.dlms.model_provider.dlms_server_for`),
on a ser2net-style TCP link or a pseudo-terminal. Gurux (``gurux-dlms``) and dlms-cosem each
associate publicly and with LLS, read the clock, the meter number, a register with its
scaler_unit, the object list and (LLS) the load profile by a range on its clock column, through
their documented client APIs and their own transports (a socket, or pyserial on the pty); each
writes CouplingState and the model's breaker opens. The blocking clients run in a worker thread
while the emulator runs on the event loop.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
import serial
from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
from gurux_dlms.enums import Authentication as GxAuthentication
from gurux_dlms.enums import DataType as GxDataType
from gurux_dlms.enums import InterfaceType, ObjectType
from gurux_dlms.objects import GXDLMSData

from ccc_gateway.protocol.axdr import CosemDateTime
from ccc_gateway.protocol.omnipower_logs import (
    ANALYSIS_LOG,
    BILLING_LOG_1,
    BILLING_LOG_2,
    CUTOFF_LOG,
    POWER_QUALITY_LOG,
    STANDARD_EVENT_LOG,
)
from ccc_gateway.protocol.omnipower_objects import OBJECTS
from meter_emulator.dlms.model_provider import ModelProvider, dlms_server_for
from meter_emulator.model import CouplingState, Meter, PhaseSupply, Supply, parse_config
from meter_emulator.model.source import ConstantLoad
from meter_emulator.ports.iec62056_21 import Iec62056Server
from meter_emulator.ports.iec62056_21_link import OpticalPort
from meter_emulator.ports.iec62056_21_model import ModelOpticalMeter
from meter_emulator.ports.links import PtyLink, TcpLink
from meter_emulator.ports.optical_mux import DlmsServerEndpoint, OpticalMux

pytestmark = pytest.mark.slow

START = datetime(2024, 6, 3, 4, 0, tzinfo=UTC)  # 06:00 local summer time
#: Line time and the server's timers run this much faster than real time.
SPEED = 20.0
METER_NUMBER = 12345678
PROFILE = "1.1.99.1.0.255"
THREE_PHASE = "6841131BN243101040"


def emulated_meter() -> Meter:
    """A three-phase meter on 1 kW per phase, run for 3 hours: 12 load-profile entries."""
    config = parse_config({"meter": {"type_number": THREE_PHASE, "serial": METER_NUMBER}})
    supply = Supply(tuple(PhaseSupply(230.0, 1000.0, 100.0) for _ in range(3)))
    meter = Meter(config, start=START, source=ConstantLoad(supply))
    meter.advance_to(START + timedelta(hours=3))
    return meter


@asynccontextmanager
async def optical_port(meter: Meter, transport: str, tmp_path: Path) -> AsyncIterator[str]:
    """The meter's optical port (mux + DLMS server) on a free loopback TCP port ("tcp:<port>")
    or on a pseudo-terminal (its path), as the clients below name it."""
    # The server's clock runs SPEED times faster: keep its inactivity timeout a real 20 s.
    server = dlms_server_for(meter, inactivity_timeout=20.0 * SPEED)
    mux = OpticalMux(Iec62056Server(ModelOpticalMeter(meter)), DlmsServerEndpoint(server))
    link: TcpLink | PtyLink = (
        TcpLink(port=0, baudrate=9600, speed=SPEED)
        if transport == "tcp"
        else PtyLink(baudrate=9600, speed=SPEED, symlink=tmp_path / "ttyOPT")
    )
    async with link, OpticalPort(mux, link, reaction_time=0.0):
        yield f"tcp:{link.port}" if isinstance(link, TcpLink) else str(tmp_path / "ttyOPT")


_T = TypeVar("_T")


async def in_thread(where: str, client: Callable[[str], _T]) -> _T:
    return await asyncio.wait_for(asyncio.to_thread(client, where), 60)


class Wire:
    """The client's end of the optical head: a socket or a serial port (pyserial on the pty)."""

    def __init__(self, where: str) -> None:
        self.socket: socket.socket | None = None
        self.serial: serial.Serial | None = None
        if where.startswith("tcp:"):
            self.socket = socket.create_connection(("127.0.0.1", int(where[4:])), timeout=10)
        else:
            self.serial = serial.Serial(where, 9600, timeout=10)

    def send(self, data: bytes) -> None:
        if self.socket is not None:
            self.socket.sendall(data)
        elif self.serial is not None:
            self.serial.write(data)

    def receive(self) -> bytes:
        if self.socket is not None:
            return self.socket.recv(4096)
        assert self.serial is not None
        return bytes(self.serial.read(max(1, self.serial.in_waiting)))

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close()
        if self.serial is not None:
            self.serial.close()


# --- Gurux ------------------------------------------------------------------------------------


class GuruxSession:
    """Gurux's GXDLMSClient over a socket or a pty: it builds the frames, we move them."""

    def __init__(self, where: str, *, client: int, server: int, password: str | None) -> None:
        authentication = GxAuthentication.NONE if password is None else GxAuthentication.LOW
        self.client = GXDLMSClient(
            True, client, server, authentication, password, InterfaceType.HDLC
        )
        self.wire = Wire(where)

    def exchange(self, request: Any) -> GXReplyData:
        reply = GXReplyData()
        data = bytes(request)
        while True:
            self.wire.send(data)
            buffer = GXByteBuffer()
            while not self.client.getData(buffer, reply, GXReplyData()):
                chunk = self.wire.receive()
                assert chunk, "the emulator closed the port"
                buffer.set(chunk)
            if not reply.isMoreData():
                return reply
            data = bytes(self.client.receiverReady(reply))

    def open(self) -> None:
        self.client.parseUAResponse(self.exchange(self.client.snrmRequest()).data)
        for request in self.client.aarqRequest():
            reply = self.exchange(request)
        self.client.parseAareResponse(reply.data)

    def read(self, item: Any, attribute: int) -> Any:
        reply = self.exchange(self.client.read(item, attribute)[0])
        self.client.updateValue(item, attribute, reply.value)
        return item

    def close(self) -> None:
        for request in self.client.releaseRequest():
            self.exchange(request)
        self.exchange(self.client.disconnectRequest())
        self.wire.close()


def gurux_reads(where: str, *, public: bool) -> dict[str, Any]:
    session = (
        GuruxSession(where, client=16, server=1, password=None)
        if public
        else GuruxSession(where, client=19, server=16, password="12345")
    )
    session.open()
    objects = session.client.parseObjects(
        session.exchange(session.client.getObjectsRequest()).data, True
    )
    clock = session.read(objects.findByLN(ObjectType.CLOCK, "0.1.1.0.0.255"), 2)
    number = session.read(objects.findByLN(ObjectType.DATA, "1.1.0.0.1.255"), 2)
    energy = objects.findByLN(ObjectType.REGISTER, "1.1.1.8.0.255")
    session.read(energy, 3)
    session.read(energy, 2)
    profile = objects.findByLN(ObjectType.PROFILE_GENERIC, "1.1.99.1.0.255")
    session.read(profile, 3)
    if not public:  # selective access is not in the public association's conformance
        # Gurux writes a naive datetime with deviation 0 (this machine's UTC) and the meter
        # honours deviations: the bounds are the meter's local summer time (UTC+2).
        cest = timezone(timedelta(hours=2))
        request = session.client.readRowsByRange(
            profile,
            datetime(2024, 6, 3, 8, 0, tzinfo=cest),
            datetime(2024, 6, 3, 8, 45, tzinfo=cest),
        )
        session.client.updateValue(profile, 2, session.exchange(request[0]).value)
    out = {
        "objects": len(objects),
        "clock": clock.time.value.replace(tzinfo=None),
        "meter_number": number.value,
        "energy_kwh": energy.value / 1000 if energy.unit == 30 else None,  # Gurux scales to Wh
        "energy_scaler": energy.scaler,
        "profile_columns": len(profile.captureObjects),
        "profile": [list(row) for row in profile.buffer],
    }
    session.close()
    return out


def gurux_disconnects(where: str) -> tuple[Any, Any]:
    session = GuruxSession(where, client=19, server=16, password="12345")
    session.open()
    coupling = GXDLMSData("1.1.128.0.0.255")
    before = session.read(coupling, 2).value
    coupling.value = 1
    coupling.setDataType(2, GxDataType.UINT8)
    session.exchange(session.client.write(coupling, 2)[0])
    after = session.read(coupling, 2).value
    session.close()
    return before, after


@pytest.mark.parametrize("transport", ["tcp", "pty"])
@pytest.mark.parametrize("public", [True, False], ids=["public", "lls"])
async def test_gurux_reads_the_emulated_meter(public: bool, transport: str, tmp_path: Path) -> None:
    meter = emulated_meter()
    async with optical_port(meter, transport, tmp_path) as where:
        read = await in_thread(where, lambda there: gurux_reads(there, public=public))
    assert read["objects"] > 50
    assert read["clock"] == meter.local().replace(microsecond=0) == datetime(2024, 6, 3, 9, 0)
    assert read["meter_number"] == METER_NUMBER
    assert read["energy_scaler"] == pytest.approx(10.0)  # 10 Wh at the default display 7.2
    assert read["energy_kwh"] == pytest.approx(meter.energy.wh("a_plus") // 10 * 10 / 1000)
    assert read["profile_columns"] == 8
    if public:
        return
    rows = read["profile"]
    assert [row[0].value.replace(tzinfo=None).minute for row in rows] == [0, 15, 30, 45]
    entries = [e for e in meter.load_profile.entries if datetime(2024, 6, 3, 8) <= e.local]
    # Gurux scales each register column by its register's scaler_unit: back in Wh.
    assert [row[4] for row in rows] == [e.values[0] // 10 * 10 for e in entries[:4]]


async def test_gurux_write_of_coupling_state_opens_the_breaker(tmp_path: Path) -> None:
    meter = emulated_meter()
    async with optical_port(meter, "tcp", tmp_path) as where:
        before, after = await in_thread(where, gurux_disconnects)
    assert (before, after) == (4, 1)
    assert meter.breaker.state is CouplingState.DISCONNECTED
    assert meter.push_snapshot()["1.1.1.7.0.255"] == 0


# --- issue 11: every logger and register the meter stores ----------------------------------

LOGS = {
    "standard_event_log": STANDARD_EVENT_LOG,
    "power_quality_log": POWER_QUALITY_LOG,
    "cutoff_log": CUTOFF_LOG,
    "billing_log_1": BILLING_LOG_1,
    "billing_log_2": BILLING_LOG_2,
    "analysis_log": ANALYSIS_LOG,
}
#: (local from, local to, rows expected) of each logger's range read (see eventful_meter).
RANGES = {
    "standard_event_log": (datetime(2024, 5, 31, 22, 0), datetime(2024, 5, 31, 22, 35), 2),
    "power_quality_log": (datetime(2024, 5, 31, 22, 0), datetime(2024, 5, 31, 23, 0), 6),
    "cutoff_log": (datetime(2024, 5, 31, 22, 0), datetime(2024, 5, 31, 23, 0), 3),
    "billing_log_1": (datetime(2024, 6, 1, 0, 0), datetime(2024, 6, 1, 0, 1), 1),
    "billing_log_2": (datetime(2024, 6, 1, 0, 0), datetime(2024, 6, 1, 0, 1), 1),
    "analysis_log": (datetime(2024, 5, 31, 23, 0), datetime(2024, 6, 1, 0, 0), 2),
}
#: The registers issue 11 added to the object table, read by both clients.
REGISTERS = [
    info
    for info in OBJECTS
    if info.class_id in (1, 3, 4)
    and info.name.startswith(
        (
            "max_",
            "accumulated_max_",
            "debiting_stop_counter",
            "hour_counter",
            "power_threshold_counter",
            "pulse_input",
            "apparent_energy",
            "reactive_energy_import_t",
            "reactive_energy_q",
            "tariff_",
            "event_",
            "pq_event_",
            "voltage_unbalance",
            "voltage_variation_count_",
        )
    )
    and info.name != "event_status_a"
    and info.name != "event_status_b"
]


def eventful_meter() -> Meter:
    """Three hours of a three-phase meter over the June debiting stop (00:00 CEST), with a
    cover opened and closed, a sag and a swell, breaker commands, a forced tariff, a magnet and
    a clock adjustment: every logger holds entries."""
    start = datetime(2024, 5, 31, 20, 0, tzinfo=UTC)  # 22:00 CEST
    config = parse_config({"meter": {"type_number": THREE_PHASE, "serial": METER_NUMBER}})
    supply = Supply(tuple(PhaseSupply(230.0, 1000.0, 100.0) for _ in range(3)))
    meter = Meter(config, start=start, source=ConstantLoad(supply))

    def at(minutes: float) -> None:
        meter.advance_to(start + timedelta(minutes=minutes))

    at(10)
    meter.set_cover(True)
    at(12)
    meter.set_cover(False)
    at(20)
    meter.set_override(Supply(tuple(PhaseSupply(180.0, 1000.0) for _ in range(3))), seconds=2)
    at(30)
    meter.set_override(Supply(tuple(PhaseSupply(260.0, 1000.0) for _ in range(3))), seconds=1)
    at(40)
    meter.force_tariff(3)
    at(45)
    for command in (1, 2, 3):
        meter.write_coupling(command)
    at(150)
    meter.set_magnet(True)
    at(160)
    meter.set_magnet(False)
    meter.shift_time(60)
    at(180)
    assert len(meter.debiting.records) == 1
    assert len(meter.pq_log.entries) == 6
    assert len(meter.breaker.log) == 3
    return meter


def expected_registers(meter: Meter) -> dict[str, Any]:
    """Each new register's raw value, and its scaler where it has one, as our server sends it."""
    provider = ModelProvider(meter)
    out: dict[str, Any] = {}
    for info in REGISTERS:
        value = provider.value(info.name)
        assert value is not None, info.name
        out[info.name] = (value.value, provider.scaler(info.name) if info.class_id != 1 else 0)
    return out


def gurux_reads_logs(where: str) -> dict[str, Any]:
    session = GuruxSession(where, client=19, server=16, password="12345")
    session.open()
    objects = session.client.parseObjects(
        session.exchange(session.client.getObjectsRequest()).data, True
    )
    logs: dict[str, Any] = {}
    for name, obis in LOGS.items():
        profile = objects.findByLN(ObjectType.PROFILE_GENERIC, obis)
        for attribute in (3, 7, 8):
            session.read(profile, attribute)
        columns = [
            (item.objectType, item.logicalName, co.attributeIndex)
            for item, co in profile.captureObjects
        ]
        low, high, _ = RANGES[name]
        # Gurux gives a naive datetime deviation 0 (UTC here); the bounds are meter local time.
        cest = timezone(timedelta(hours=2))
        request = session.client.readRowsByRange(
            profile, low.replace(tzinfo=cest), high.replace(tzinfo=cest)
        )
        session.client.updateValue(profile, 2, session.exchange(request[0]).value)
        by_range = [list(row) for row in profile.buffer]
        request = session.client.readRowsByEntry(profile, 1, 2)
        session.client.updateValue(profile, 2, session.exchange(request[0]).value)
        by_entry = [list(row) for row in profile.buffer]
        logs[name] = {
            "columns": columns,
            "in_use": profile.entriesInUse,
            "capacity": profile.profileEntries,
            "by_range": by_range,
            "by_entry": by_entry,
        }
    registers: dict[str, Any] = {}
    for info in REGISTERS:
        kind = {1: ObjectType.DATA, 3: ObjectType.REGISTER, 4: ObjectType.EXTENDED_REGISTER}
        item = objects.findByLN(kind[info.class_id], info.obis)
        if info.class_id != 1:
            session.read(item, 3)
        session.read(item, 2)
        registers[info.name] = {"value": item.value}
        if info.class_id == 4:
            session.read(item, 5)
            registers[info.name]["captured"] = item.captureTime
    session.close()
    return {"logs": logs, "registers": registers}


async def test_gurux_reads_every_logger_and_register(tmp_path: Path) -> None:
    meter = eventful_meter()
    expected = expected_registers(meter)
    provider = ModelProvider(meter)
    async with optical_port(meter, "tcp", tmp_path) as where:
        read = await in_thread(where, gurux_reads_logs)
    for name, log in read["logs"].items():
        columns = provider.capture_objects(name)
        assert log["columns"] == [
            (c.class_id, ".".join(str(b) for b in c.instance), c.attribute) for c in columns
        ], name
        assert log["in_use"] == len(provider.profile_rows(name)), name
        assert log["capacity"] == provider.profile_entries(name) > log["in_use"], name
        assert len(log["by_range"]) == RANGES[name][2], name
        assert len(log["by_entry"]) == min(2, log["in_use"]), name
        assert all(len(row) == len(columns) for row in log["by_range"] + log["by_entry"]), name
    events = read["logs"]["standard_event_log"]["by_range"]
    assert [row[1] for row in events] == [40, 41]  # terminal cover opened, closed
    assert events[0][0].value.replace(tzinfo=None) == datetime(2024, 5, 31, 22, 10)
    quality = read["logs"]["power_quality_log"]["by_range"]
    assert [(row[1], row[2]) for row in quality] == [(c, p) for c in (1, 2) for p in (1, 2, 3)]
    for name, (raw, scaler) in expected.items():
        got = read["registers"][name]["value"]
        assert got == pytest.approx(raw * 10.0**scaler), name
    assert read["registers"]["max_active_power_import"]["value"] == meter.peaks.value("p_plus")
    captured = read["registers"]["max_active_power_import"]["captured"]
    peak = meter.peaks.maxima["p_plus"]
    assert captured.value.replace(tzinfo=None) == peak.local


def dlms_cosem_reads_logs(where: str) -> dict[str, Any]:
    from dlms_cosem import cosem, enumerations, utils
    from dlms_cosem.client import DlmsClient
    from dlms_cosem.cosem.capture_object import CaptureObject
    from dlms_cosem.cosem.selective_access import EntryDescriptor, RangeDescriptor
    from dlms_cosem.io import HdlcTransport
    from dlms_cosem.security import LowLevelSecurityAuthentication

    kind = enumerations.CosemInterface
    transport = HdlcTransport(
        client_logical_address=19, server_logical_address=16, io=dlms_cosem_io(where)
    )
    client = DlmsClient(
        transport=transport, authentication=LowLevelSecurityAuthentication(secret=b"12345")
    )

    def value(interface: Any, obis: str, index: int, access: Any = None) -> Any:
        target = cosem.CosemAttribute(interface, cosem.Obis.from_string(obis), index)
        return utils.parse_as_dlms_data(client.get(target, access))

    class Entries(EntryDescriptor):  # type: ignore[misc]
        """dlms-cosem leaves EntryDescriptor.to_bytes unimplemented: this supplies the Blue
        Book entry_descriptor (selector 2, {from_entry u32, to_entry u32, from/to_selected_value
        u16}); dlms-cosem still builds the request around it and decodes the answer."""

        def to_bytes(self) -> bytes:
            return bytes([2, 0x02, 0x04]) + b"".join(
                bytes([tag]) + value.to_bytes(size, "big")
                for tag, size, value in (
                    (0x06, 4, self.from_entry),
                    (0x06, 4, self.to_entry),
                    (0x12, 2, self.from_selected_value),
                    (0x12, 2, self.to_selected_value),
                )
            )

    clock = cosem.CosemAttribute(kind.CLOCK, cosem.Obis.from_string("0.1.1.0.0.255"), 2)
    logs: dict[str, Any] = {}
    registers: dict[str, Any] = {}
    with client.session():
        for name, obis in LOGS.items():
            low, high, _ = RANGES[name]
            by_range = RangeDescriptor(CaptureObject(clock, 0), low, high)
            logs[name] = {
                "columns": value(kind.PROFILE_GENERIC, obis, 3),
                "in_use": value(kind.PROFILE_GENERIC, obis, 7),
                "capacity": value(kind.PROFILE_GENERIC, obis, 8),
                "by_range": value(kind.PROFILE_GENERIC, obis, 2, by_range),
                "by_entry": value(kind.PROFILE_GENERIC, obis, 2, Entries(2, 3)),
            }
        interfaces = {1: kind.DATA, 3: kind.REGISTER, 4: kind.EXTENDED_REGISTER}
        for info in REGISTERS:
            interface = interfaces[info.class_id]
            registers[info.name] = {"value": value(interface, info.obis, 2)}
            if info.class_id != 1:
                registers[info.name]["scaler_unit"] = value(interface, info.obis, 3)
            if info.class_id == 4:
                registers[info.name]["captured"] = value(interface, info.obis, 5)
    return {"logs": logs, "registers": registers}


async def test_dlms_cosem_reads_every_logger_and_register(tmp_path: Path) -> None:
    meter = eventful_meter()
    expected = expected_registers(meter)
    provider = ModelProvider(meter)
    async with optical_port(meter, "pty", tmp_path) as where:
        read = await in_thread(where, dlms_cosem_reads_logs)
    for name, log in read["logs"].items():
        columns = provider.capture_objects(name)
        assert log["columns"] == [
            [c.class_id, c.instance, c.attribute, c.data_index] for c in columns
        ], name
        rows = provider.profile_rows(name)
        assert log["in_use"] == len(rows), name
        assert log["capacity"] == provider.profile_entries(name), name
        assert len(log["by_range"]) == RANGES[name][2], name
        assert log["by_entry"] == [[cell.value for cell in row] for row in rows[1:3]], name
    events = read["logs"]["standard_event_log"]["by_range"]
    assert [row[1] for row in events] == [40, 41]
    for name, (raw, scaler) in expected.items():
        got = read["registers"][name]
        assert got["value"] == raw, name
        if "scaler_unit" in got:
            assert got["scaler_unit"][0] == scaler, name
    peak = meter.peaks.maxima["p_plus"]
    captured = read["registers"]["max_active_power_import"]["captured"]
    assert CosemDateTime.from_bytes(captured).to_naive() == peak.local


# --- dlms-cosem -------------------------------------------------------------------------------


class WholeFrames:
    """dlms-cosem's own IO, reading each HDLC frame whole by its length field.

    dlms-cosem 24 finds a frame's end by the next 7E and, when that parse fails, reads more
    from the line before it looks at the next 7E it already holds. HDLC on DLMS has no byte
    stuffing, so a length or FCS octet of 7E inside a frame is legal, and then the library
    waits for data that never comes (the meter waits for its RR). This wrapper of the
    library's pluggable IO reads each frame by its length (Green Book 8.4) and hands it over
    cut after every 7E, with an empty read when the library asks again before sending: every
    protocol step stays dlms-cosem's.
    """

    def __init__(self, io: Any) -> None:
        self.io = io
        self._chunks: list[bytes] = []
        self._sent = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.io, name)

    def send(self, data: bytes) -> None:
        self._sent = True
        self.io.send(data)

    def recv_until(self, end: bytes) -> bytes:
        if not self._chunks:
            if not self._sent:
                return b""  # the frame is whole in the library's buffer: let it look on
            self._chunks = self._cut(self._frame())
            self._sent = False
        return self._chunks.pop(0)

    def _frame(self) -> bytes:
        flag = self.io.recv(1)
        while flag != b"\x7e":  # stray octets between frames
            flag = self.io.recv(1)
        header = self.io.recv(2)
        length = int.from_bytes(header, "big") & 0x7FF  # octets between the flags
        return flag + header + self.io.recv(length - 2) + self.io.recv(1)

    @staticmethod
    def _cut(frame: bytes) -> list[bytes]:
        chunks, start = [], 0
        for index, octet in enumerate(frame):
            if octet == 0x7E:
                chunks.append(frame[start : index + 1])
                start = index + 1
        return chunks


def dlms_cosem_io(where: str) -> Any:
    """dlms-cosem's own IO: its blocking TCP socket, or its serial port on the pty."""
    from dlms_cosem.io import BlockingTcpIO, SerialIO

    if where.startswith("tcp:"):
        return WholeFrames(BlockingTcpIO(host="127.0.0.1", port=int(where[4:])))
    return WholeFrames(SerialIO(port_name=where, baud_rate=9600))


def dlms_cosem_reads(where: str, *, public: bool) -> dict[str, Any]:
    from dlms_cosem import cosem, enumerations, utils
    from dlms_cosem.client import DataResultError, DlmsClient
    from dlms_cosem.cosem.capture_object import CaptureObject
    from dlms_cosem.cosem.selective_access import RangeDescriptor
    from dlms_cosem.io import HdlcTransport
    from dlms_cosem.parsers import AssociationObjectListParser
    from dlms_cosem.security import LowLevelSecurityAuthentication, NoSecurityAuthentication
    from dlms_cosem.time import datetime_from_bytes

    kind = enumerations.CosemInterface
    transport = HdlcTransport(
        client_logical_address=16 if public else 19,
        server_logical_address=1 if public else 16,
        io=dlms_cosem_io(where),
    )
    authentication = (
        NoSecurityAuthentication() if public else LowLevelSecurityAuthentication(secret=b"12345")
    )
    client = DlmsClient(transport=transport, authentication=authentication)

    def attribute(interface: Any, obis: str, index: int) -> Any:
        return cosem.CosemAttribute(interface, cosem.Obis.from_string(obis), index)

    def value(interface: Any, obis: str, index: int, access: Any = None) -> Any:
        return utils.parse_as_dlms_data(client.get(attribute(interface, obis, index), access))

    with client.session():
        objects = AssociationObjectListParser.parse_bytes(
            client.get(attribute(kind.ASSOCIATION_LN, "0.0.40.0.0.255", 2))
        )
        clock_bytes = client.get(attribute(kind.CLOCK, "0.1.1.0.0.255", 2))
        clock, status = datetime_from_bytes(utils.parse_as_dlms_data(clock_bytes))
        clock_column = attribute(kind.CLOCK, "0.1.1.0.0.255", 2)
        by_range = RangeDescriptor(
            CaptureObject(clock_column, 0),
            datetime(2024, 6, 3, 8, 0),
            datetime(2024, 6, 3, 8, 45),
        )
        if public:  # selective access is not in the public association's conformance
            with pytest.raises(DataResultError, match="SCOPE_OF_ACCESS_VIOLATED"):
                value(kind.PROFILE_GENERIC, "1.1.99.1.0.255", 2, by_range)
        return {
            "objects": len(objects),
            "clock": clock.replace(tzinfo=None),
            "clock_status": status,
            "meter_number": value(kind.DATA, "1.1.0.0.1.255", 2),
            "energy": value(kind.REGISTER, "1.1.1.8.0.255", 2),
            "energy_scaler_unit": value(kind.REGISTER, "1.1.1.8.0.255", 3),
            "profile": None if public else value(kind.PROFILE_GENERIC, PROFILE, 2, by_range),
        }


@pytest.mark.parametrize("transport", ["tcp", "pty"])
@pytest.mark.parametrize("public", [True, False], ids=["public", "lls"])
async def test_dlms_cosem_reads_the_emulated_meter(
    public: bool, transport: str, tmp_path: Path
) -> None:
    meter = emulated_meter()
    async with optical_port(meter, transport, tmp_path) as where:
        read = await in_thread(where, lambda there: dlms_cosem_reads(there, public=public))
    assert read["objects"] > 50
    assert read["clock"] == datetime(2024, 6, 3, 9, 0)
    assert read["meter_number"] == METER_NUMBER
    assert read["energy"] == meter.energy.wh("a_plus") // 10
    assert read["energy_scaler_unit"] == [1, 30]  # 10 Wh
    assert read["clock_status"] is not None
    if public:
        return
    rows = read["profile"]
    entries = [e for e in meter.load_profile.entries if datetime(2024, 6, 3, 8) <= e.local]
    assert len(rows) == 4
    assert [row[4] for row in rows] == [e.values[0] // 10 for e in entries[:4]]


def dlms_cosem_disconnects(where: str) -> tuple[int, int]:
    from dlms_cosem import cosem, enumerations, utils
    from dlms_cosem.client import DlmsClient
    from dlms_cosem.io import HdlcTransport
    from dlms_cosem.security import LowLevelSecurityAuthentication

    transport = HdlcTransport(
        client_logical_address=19,
        server_logical_address=16,
        io=dlms_cosem_io(where),
    )
    client = DlmsClient(
        transport=transport, authentication=LowLevelSecurityAuthentication(secret=b"12345")
    )
    coupling = cosem.CosemAttribute(
        enumerations.CosemInterface.DATA, cosem.Obis.from_string("1.1.128.0.0.255"), 2
    )
    with client.session():
        before = utils.parse_as_dlms_data(client.get(coupling))
        response = client.set(coupling, bytes.fromhex("1101"))  # unsigned 1: disconnect
        assert response.result == enumerations.DataAccessResult.SUCCESS
        after = utils.parse_as_dlms_data(client.get(coupling))
    return before, after


async def test_dlms_cosem_write_of_coupling_state_opens_the_breaker(tmp_path: Path) -> None:
    meter = emulated_meter()
    async with optical_port(meter, "pty", tmp_path) as where:
        before, after = await in_thread(where, dlms_cosem_disconnects)
    assert (before, after) == (4, 1)
    assert meter.breaker.state is CouplingState.DISCONNECTED
