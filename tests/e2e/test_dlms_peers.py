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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import serial
from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
from gurux_dlms.enums import Authentication as GxAuthentication
from gurux_dlms.enums import DataType as GxDataType
from gurux_dlms.enums import InterfaceType, ObjectType
from gurux_dlms.objects import GXDLMSData

from meter_emulator.dlms.model_provider import dlms_server_for
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
        request = session.client.readRowsByRange(
            profile, datetime(2024, 6, 3, 8, 0), datetime(2024, 6, 3, 8, 45)
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


# --- dlms-cosem -------------------------------------------------------------------------------


def dlms_cosem_io(where: str) -> Any:
    """dlms-cosem's own IO: its blocking TCP socket, or its serial port on the pty."""
    from dlms_cosem.io import BlockingTcpIO, SerialIO

    if where.startswith("tcp:"):
        return BlockingTcpIO(host="127.0.0.1", port=int(where[4:]))
    return SerialIO(port_name=where, baud_rate=9600)


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
