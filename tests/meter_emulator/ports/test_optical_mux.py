"""One optical port for both protocols: the first octet decides, idle hands the port back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccc_gateway.config import OpticalPortConfig, Secret
from ccc_gateway.optical.iec62056_21_port import SerialOpticalPort, read_readout
from ccc_gateway.optical.ports import open_optical_port
from ccc_gateway.protocol.axdr import Data, DataType
from ccc_gateway.protocol.dlms.client import (
    Associated,
    AttributeValue,
    ClientEvent,
    DlmsClient,
    Released,
)
from ccc_gateway.protocol.dlms.descriptors import AttributeDescriptor
from ccc_gateway.protocol.dlms.link import LinkConnected, LinkDisconnected
from ccc_gateway.protocol.hdlc import HdlcAddress
from ccc_gateway.protocol.iec62056_21 import (
    DataMessage,
    Identification,
    Message,
    OptionSelect,
    Request,
    encode,
)
from ccc_gateway.protocol.iec62056_21_reader import MessageReader, MessageRejected
from meter_emulator.dlms.provider import build_omnipower_registry, omnipower_associations
from meter_emulator.dlms.server import DlmsServer
from meter_emulator.ports.iec62056_21 import Iec62056Server, OpticalConfig
from meter_emulator.ports.iec62056_21_link import OpticalPort
from meter_emulator.ports.iec62056_21_meter import MemoryMeter, UserData
from meter_emulator.ports.links import PtyLink
from meter_emulator.ports.optical_mux import DlmsServerEndpoint, MuxState, OpticalMux

from ..dlms.fake_meter import FakeMeter

METER_NUMBER = AttributeDescriptor.of(1, "1.1.0.0.1.255", 2)


def mux(*, inactivity_timeout: float = 20.0, quiet_timeout: float = 120.0) -> OpticalMux:
    associations = omnipower_associations()
    dlms = DlmsServer(
        build_omnipower_registry(FakeMeter(), associations),
        associations,
        inactivity_timeout=inactivity_timeout,
    )
    return OpticalMux(
        Iec62056Server(MemoryMeter()), DlmsServerEndpoint(dlms), quiet_timeout=quiet_timeout
    )


class Line:
    """The optical head in memory: octets to the mux at a chosen time, its answers back."""

    def __init__(self, port: OpticalMux) -> None:
        self.port = port
        self.now = 0.0
        self.rates: list[int] = []

    def send(self, data: bytes, *, after: float = 0.1) -> bytes:
        self.now += after
        transmits = self.port.receive_data(data, self.now)
        self.rates += [t.baudrate for t in transmits]
        return b"".join(t.data for t in transmits)

    def wait(self, seconds: float) -> bytes:
        self.now += seconds
        return b"".join(t.data for t in self.port.poll(self.now))

    def state(self) -> MuxState:
        """A call, so mypy does not carry one assert's narrowing to the next."""
        return self.port.state

    def iec(self, message: Message, *, parity: bool = True) -> list[Message]:
        reader = MessageReader(parity=parity)
        reader.receive_data(self.send(encode(message, parity=parity)))
        out: list[Message] = []
        for item in reader.messages():
            assert not isinstance(item, MessageRejected), item
            out.append(item)
        return out

    def readout(self, *, parity: bool = True) -> DataMessage:
        (ident,) = self.iec(Request(), parity=parity)
        assert isinstance(ident, Identification)
        (data,) = self.iec(OptionSelect("0", "5", "0"), parity=parity)
        assert isinstance(data, DataMessage)
        return data

    def dlms(self, client: DlmsClient) -> list[ClientEvent]:
        events: list[ClientEvent] = []
        for _ in range(1000):
            out = client.data_to_send()
            back = self.send(out, after=0.01) if out else b""
            if back:
                events += client.receive_data(back, self.now)
            if not out and not back:
                return events
        raise AssertionError("never quiet")


def dlms_client() -> DlmsClient:
    return DlmsClient(client=19, server=HdlcAddress(16), password=b"12345")


def test_dlms_then_1107_then_1107_without_parity_on_one_port() -> None:
    line = Line(mux())
    client = dlms_client()
    client.connect(line.now)
    assert [type(e) for e in line.dlms(client)] == [LinkConnected]
    assert line.state() is MuxState.DLMS
    client.associate(line.now)
    assert [type(e) for e in line.dlms(client)] == [Associated]
    client.get(METER_NUMBER, line.now)
    (value,) = line.dlms(client)
    assert isinstance(value, AttributeValue)
    assert value.result == Data(DataType.DOUBLE_LONG_UNSIGNED, 12345678)
    assert set(line.rates) == {9600}
    # An octet that belongs to neither protocol while DLMS holds the port goes to DLMS.
    assert line.send(encode(Request(), parity=True)) == b""
    assert line.state() is MuxState.DLMS
    client.release(line.now)
    assert [type(e) for e in line.dlms(client)] == [Released]
    client.disconnect(line.now)
    assert [type(e) for e in line.dlms(client)] == [LinkDisconnected]
    assert line.state() is MuxState.UNDECIDED

    line.rates.clear()
    assert line.readout().block.startswith("0.0.1(12345678)\r\n")
    assert line.rates == [300, 9600]  # the identification at 300, the readout at the HHU's rate
    assert line.state() is MuxState.UNDECIDED

    raw = line.send(encode(Request(), parity=False))
    assert raw == encode(Identification("KAM", "5", " 6841131BN243101"), parity=False)
    (data,) = line.iec(OptionSelect("0", "5", "0"), parity=False)
    assert isinstance(data, DataMessage)
    assert data.block.startswith("0.0.1(12345678)\r\n")
    assert line.port.counts == {"dlms": 1, "iec62056_21": 2}


def test_noise_before_a_sign_on_is_dropped_and_counted() -> None:
    line = Line(mux())
    (ident,) = line.iec(Request())  # fine on its own
    assert isinstance(ident, Identification)
    line.wait(2.0)  # Tt: the mode A readout, then idle
    assert line.state() is MuxState.UNDECIDED
    reply = line.send(b"\x00\xff\x13" + encode(Request(), parity=True))
    assert reply.startswith(encode(Identification("KAM", "5", " 6841131BN243101"), parity=True))
    assert line.port.counts["noise_octets"] == 3


def test_a_sign_on_in_pieces_stays_with_1107() -> None:
    line = Line(mux())
    request = encode(Request(), parity=True)
    assert line.send(request[:2]) == b""
    assert line.state() is MuxState.IEC62056_21
    assert line.send(request[2:]).startswith(
        encode(Identification("KAM", "5", ""), parity=True)[:4]
    )


def test_a_vanished_dlms_client_frees_the_port_at_the_link_inactivity_timeout() -> None:
    line = Line(mux())
    client = dlms_client()
    client.connect(line.now)
    assert [type(e) for e in line.dlms(client)] == [LinkConnected]
    assert line.port.next_deadline() == pytest.approx(line.now + 20.0)
    line.wait(19.0)
    assert line.state() is MuxState.DLMS
    line.wait(1.0)
    assert line.state() is MuxState.UNDECIDED
    assert "0.0.1(12345678)" in line.readout().block


def test_the_quiet_timeout_frees_a_port_whose_side_never_times_out() -> None:
    line = Line(mux(inactivity_timeout=0, quiet_timeout=30.0))
    client = dlms_client()
    client.connect(line.now)
    assert [type(e) for e in line.dlms(client)] == [LinkConnected]
    line.wait(29.0)
    assert line.state() is MuxState.DLMS
    line.wait(1.0)
    assert line.state() is MuxState.UNDECIDED
    assert line.port.counts["quiet_release"] == 1


def test_d0_cannot_share_the_port() -> None:
    server = Iec62056Server(MemoryMeter(), OpticalConfig(d0_interval=60.0))
    with pytest.raises(ValueError, match="D0"):
        OpticalMux(server, mux().dlms)


@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.binary(max_size=40),
                st.sampled_from([b"\x7e", b"\xaf", b"/", encode(Request(), parity=True)]),
            ),
            st.floats(0, 30),
        ),
        max_size=30,
    )
)
def test_random_input_never_breaks_the_mux(chunks: list[tuple[bytes, float]]) -> None:
    line = Line(mux())
    for data, pause in chunks:
        line.send(data, after=pause)
        assert isinstance(line.state(), MuxState)
        deadline = line.port.next_deadline()
        assert deadline is None or line.state() is not MuxState.UNDECIDED


async def test_both_protocols_on_one_pty(tmp_path: Path) -> None:
    """The gateway's DLMS port and its 1107 readout take turns on one emulated optical head."""
    meter = MemoryMeter()
    server = Iec62056Server(meter, OpticalConfig(readout=UserData.USER_DATA_1))
    port = OpticalMux(server, mux().dlms)
    async with (
        PtyLink(baudrate=300, speed=4.0, symlink=tmp_path / "optical") as link,
        OpticalPort(port, link),
    ):
        dlms = open_optical_port(
            OpticalPortConfig(kind="serial", path=link.description, password=Secret("12345"))
        )
        for _ in range(2):
            async with SerialOpticalPort(link.description) as head:
                readout = await asyncio.wait_for(read_readout(head), 20)
            assert readout.values[0].value == "12345678"
            async with dlms.session() as session:
                values = await asyncio.wait_for(session.read(["meter_number"]), 20)
            assert values == {"meter_number": 12345678}
    assert port.counts["dlms"] == 2
    assert port.counts["iec62056_21"] == 2
