"""The emulator's byte links, opened the way the gateway opens them (real ptys and sockets)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import serial
import serial_asyncio_fast

from meter_emulator.ports.links import PtyLink, TcpLink, line_time

PAYLOAD = bytes(range(256)) * 2


async def _read_exactly(reader: asyncio.StreamReader, size: int) -> bytes:
    return await asyncio.wait_for(reader.readexactly(size), timeout=5)


async def test_pty_carries_bytes_to_a_serial_client(tmp_path: Path) -> None:
    async with PtyLink(baudrate=2400, speed=50, symlink=tmp_path / "ccc") as link:
        reader, writer = await serial_asyncio_fast.open_serial_connection(
            url=link.description, baudrate=2400
        )
        try:
            started = time.monotonic()
            await link.write(PAYLOAD)
            assert await _read_exactly(reader, len(PAYLOAD)) == PAYLOAD
            # Paced like the line: 512 bytes at 2400 baud take 2.13 s, 50x faster here.
            assert time.monotonic() - started >= 0.9 * line_time(len(PAYLOAD), 2400, speed=50)
        finally:
            writer.close()


async def test_pty_input_reaches_the_handler(tmp_path: Path) -> None:
    received: list[bytes] = []
    async with PtyLink(
        baudrate=9600, symlink=tmp_path / "optical", on_receive=received.append
    ) as link:
        _, writer = await serial_asyncio_fast.open_serial_connection(
            url=link.description, baudrate=9600
        )
        writer.write(b"/?!\r\n")
        for _ in range(100):
            if b"".join(received) == b"/?!\r\n":
                break
            await asyncio.sleep(0.01)
        writer.close()
    assert b"".join(received) == b"/?!\r\n"


async def test_unplug_breaks_the_reader_and_the_symlink_finds_the_new_port(
    tmp_path: Path,
) -> None:
    async with PtyLink(baudrate=2400, speed=100, symlink=tmp_path / "ccc") as link:
        reader, writer = await serial_asyncio_fast.open_serial_connection(
            url=link.description, baudrate=2400
        )
        first_device = link.device
        unplugging = asyncio.create_task(link.unplug(0.2))
        with pytest.raises((serial.SerialException, ConnectionError, asyncio.IncompleteReadError)):
            await asyncio.wait_for(reader.readexactly(1), timeout=5)
        writer.close()
        await unplugging
        assert link.device != first_device or not link.unplugged
        reader, writer = await serial_asyncio_fast.open_serial_connection(
            url=link.description, baudrate=2400
        )
        await link.write(b"back")
        assert await _read_exactly(reader, 4) == b"back"
        writer.close()


async def test_tcp_link_serves_every_client() -> None:
    async with TcpLink(port=0, baudrate=2400, speed=100) as link:
        host, port = link.description.removeprefix("tcp://").split(":")
        a = await asyncio.open_connection(host, int(port))
        b = await asyncio.open_connection(host, int(port))
        await asyncio.sleep(0.05)
        await link.write(b"push")
        assert await _read_exactly(a[0], 4) == b"push"
        assert await _read_exactly(b[0], 4) == b"push"
        for _, writer in (a, b):
            writer.close()
