"""IEC 62056-21 end to end: the gateway's readout client and the emulator's optical port on a real
pty (and a loopback socket), 7E1 carried as bit 7 of every octet."""

from __future__ import annotations

import asyncio
import os
import time
import tty
from pathlib import Path
from typing import Any

import pytest

from ccc_gateway.optical.iec62056_21_client import (
    Iec62056Client,
    ReadoutTimeout,
    ReadoutValue,
)
from ccc_gateway.optical.iec62056_21_port import SerialOpticalPort, TcpOpticalPort, read_readout
from ccc_gateway.protocol.iec62056_21 import (
    Ack,
    BccError,
    Command,
    DataMessage,
    Nak,
    OptionSelect,
    ParityError,
    Request,
    encode,
    has_even_parity,
)
from ccc_gateway.protocol.iec62056_21_reader import MessageReader
from meter_emulator.ports.iec62056_21 import Iec62056Server, OpticalConfig
from meter_emulator.ports.iec62056_21_link import OpticalPort
from meter_emulator.ports.iec62056_21_meter import MemoryMeter, UserData, data_set
from meter_emulator.ports.links import PtyLink, TcpLink, line_time

#: Line times and timers run this much faster than real time on the emulator side.
SPEED = 4.0


class _RecordingLink(PtyLink):
    """Notes the baud rate each write is paced at."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.writes: list[tuple[int, bytes]] = []

    async def write(self, data: bytes) -> None:
        self.writes.append((self.baudrate, data))
        await super().write(data)


async def test_readout_over_a_pty_at_300_then_9600_baud(tmp_path: Path) -> None:
    meter = MemoryMeter()
    server = Iec62056Server(meter, OpticalConfig(readout=UserData.USER_DATA_1))
    link = _RecordingLink(baudrate=300, speed=SPEED, symlink=tmp_path / "optical")
    async with (
        link,
        OpticalPort(server, link),
        SerialOpticalPort(link.description) as port,
    ):
        started = time.monotonic()
        readout = await asyncio.wait_for(read_readout(port), 20)
        elapsed = time.monotonic() - started
        assert port.baudrate == 300  # back at the initial rate for the next sign-on
    assert readout.identification.meter_type == meter.meter_type
    assert readout.baudrate == 9600
    assert list(readout.data_sets) == [data_set(r) for r in meter.readout(UserData.USER_DATA_1)]
    assert ReadoutValue("1.8.0", "0000586.12", "kWh") in readout.values
    # The identification crossed at 300 baud and the readout at 9600, each paced like the line.
    (ident_rate, ident), (readout_rate, _) = link.writes
    assert (ident_rate, readout_rate) == (300, 9600)
    assert elapsed >= 0.9 * line_time(len(ident), 300, speed=SPEED)


async def test_the_wire_carries_even_parity_and_a_bad_bcc_is_answered_nak(tmp_path: Path) -> None:
    """A raw HHU on the pty: every octet the meter sends has even parity; the meter checks ours."""
    server = Iec62056Server(MemoryMeter())
    async with (
        PtyLink(baudrate=300, speed=50, symlink=tmp_path / "optical") as link,
        OpticalPort(server, link),
    ):
        fd = os.open(link.device, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd)
        reader = MessageReader(parity=True)
        raw: list[bytes] = []

        async def exchange(data: bytes) -> list[object]:
            os.write(fd, data)
            for _ in range(400):
                await asyncio.sleep(0.01)
                try:
                    chunk = os.read(fd, 4096)
                except BlockingIOError:
                    chunk = b""
                if chunk:
                    raw.append(chunk)
                    reader.receive_data(chunk)
                    messages = reader.messages()
                    if messages:
                        return list(messages)
            return []

        os.set_blocking(fd, False)
        try:
            assert len(await exchange(encode(Request(), parity=True))) == 1
            assert await exchange(encode(OptionSelect("0", "5", "1"), parity=True)) == [
                Command("P0", "()")
            ]
            assert await exchange(encode(Command("P1", "(12345)"), parity=True)) == [Ack()]
            good = encode(Command("R1", "1.8.0()"), parity=True)
            assert await exchange(good[:-1] + bytes([good[-1] ^ 0x81])) == [Nak()]
            assert await exchange(good) == [DataMessage("1.8.0(0000586.12*kWh)")]
            assert await exchange(encode(Command("P1", "(12345)"), parity=True)) != []
        finally:
            os.close(fd)
    octets = b"".join(raw)
    assert all(has_even_parity(octet) for octet in octets)
    assert any(octet & 0x80 for octet in octets)  # the parity bit is really on the wire
    assert server.errors["bcc_error"] == 1


async def test_wrong_address_times_out_over_a_pty(tmp_path: Path) -> None:
    async with (
        PtyLink(baudrate=300, speed=SPEED, symlink=tmp_path / "optical") as link,
        OpticalPort(Iec62056Server(MemoryMeter()), link),
        SerialOpticalPort(link.description) as port,
    ):
        client = Iec62056Client(address="99999999", response_timeout=0.5)
        with pytest.raises(ReadoutTimeout):
            await read_readout(port, client)


async def test_a_meter_without_parity_gives_a_parity_error(tmp_path: Path) -> None:
    server = Iec62056Server(MemoryMeter(), OpticalConfig(parity=False))
    async with (
        PtyLink(baudrate=300, speed=SPEED, symlink=tmp_path / "optical") as link,
        OpticalPort(server, link),
        SerialOpticalPort(link.description) as port,
    ):
        with pytest.raises(ParityError):
            await read_readout(port, Iec62056Client())


class _CorruptingLink(PtyLink):
    """The line flips one bit of the readout's BCC (the last octet of the longest message)."""

    async def write(self, data: bytes) -> None:
        if len(data) > 100:
            data = data[:-1] + bytes([data[-1] ^ 0x81])
        await super().write(data)


async def test_a_corrupted_readout_gives_a_bcc_error(tmp_path: Path) -> None:
    async with (
        _CorruptingLink(baudrate=300, speed=SPEED, symlink=tmp_path / "optical") as link,
        OpticalPort(Iec62056Server(MemoryMeter()), link),
        SerialOpticalPort(link.description) as port,
    ):
        with pytest.raises(BccError):
            await read_readout(port, Iec62056Client())


async def test_readout_over_tcp() -> None:
    meter = MemoryMeter()
    async with (
        TcpLink(port=0, baudrate=300, speed=50) as link,
        OpticalPort(Iec62056Server(meter), link),
        TcpOpticalPort("127.0.0.1", link.port) as port,
    ):
        for _ in range(100):  # the server registers the client once it has accepted it
            if link._clients:
                break
            await asyncio.sleep(0.01)
        readout = await asyncio.wait_for(read_readout(port), 20)
    assert [d.address for d in readout.data_sets][:2] == ["0.0.1", "97.97.0"]  # User data 2
    assert len(readout.data_sets) == len(meter.readout(UserData.USER_DATA_2))
