"""Port adapters and the reconnect loop, on real files, sockets and a missing device."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from pathlib import Path

import pytest

from ccc_gateway.meter import PortState
from ccc_gateway.ports import Backoff, PortUnavailable, ReplayPort, SerialPort, TcpPort, pump
from ccc_gateway.ports.replay import read_capture
from tests.vectors import PLAIN_HDLC_PUSHES, frame

FAST = Backoff(initial=0.01, maximum=0.05)


class Recorder:
    """A PortSink that keeps everything."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.states: list[PortState] = []
        self.reasons: list[str | None] = []
        self.silences = 0
        self.changed = asyncio.Event()

    def port_data(self, data: bytes) -> None:
        self.data += data
        self.changed.set()

    def port_silence(self) -> None:
        self.silences += 1

    def port_state(self, state: PortState, reason: str | None) -> None:
        self.states.append(state)
        self.reasons.append(reason)
        self.changed.set()

    async def until(self, condition: object, within: float = 5.0) -> None:
        async with asyncio.timeout(within):
            while not condition():  # type: ignore[operator]
                self.changed.clear()
                await self.changed.wait()


def test_read_capture_hex_lines_comments_and_separators() -> None:
    text = b"# provenance\n7E A0 07\n0x03:21:93\n\n"
    assert read_capture(text) == [bytes.fromhex("7EA007"), bytes.fromhex("032193")]


def test_read_capture_raw_bytes_in_pieces() -> None:
    raw = bytes(range(256)) * 3
    chunks = read_capture(raw)
    assert b"".join(chunks) == raw
    assert all(len(c) <= 256 for c in chunks)


async def test_replay_as_fast_as_possible_ends_the_pump(tmp_path: Path) -> None:
    frames = [frame(n) for n in PLAIN_HDLC_PUSHES]
    capture = tmp_path / "capture.hex"
    capture.write_text("# saved\n" + "\n".join(f.hex() for f in frames) + "\n")
    sink = Recorder()
    async with asyncio.timeout(5):
        await pump(lambda: ReplayPort(capture, realtime=False), sink, backoff=FAST)
    assert bytes(sink.data) == b"".join(frames)
    assert sink.states == [PortState.CONNECTING, PortState.OPEN, PortState.FINISHED]


async def test_replay_in_real_time_is_paced_at_the_baud_rate(tmp_path: Path) -> None:
    capture = tmp_path / "capture.bin"
    capture.write_bytes(bytes(96))  # 96 bytes at 9600 baud, 10 bits each: 0.1 s
    port = ReplayPort(capture, realtime=True, baudrate=9600)
    loop = asyncio.get_running_loop()
    async with port:
        start = loop.time()
        assert await port.read() == bytes(96)
        assert loop.time() - start >= 0.09
        assert await port.read() == b""


async def test_missing_serial_device_is_port_unavailable(tmp_path: Path) -> None:
    with pytest.raises(PortUnavailable, match="cannot open"):
        async with SerialPort(str(tmp_path / "ttyUSB9")):
            pass


async def test_missing_replay_file_is_port_unavailable(tmp_path: Path) -> None:
    with pytest.raises(PortUnavailable):
        async with ReplayPort(tmp_path / "nothing.hex"):
            pass


async def test_tcp_port_reconnects_after_the_server_drops_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.write(b"A" if connections == 1 else b"B")
        await writer.drain()
        writer.close()  # a ser2net restart, a reset serial server

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sink = Recorder()
    task = asyncio.create_task(pump(lambda: TcpPort("127.0.0.1", port), sink, backoff=FAST))
    try:
        await sink.until(lambda: bytes(sink.data).count(b"B") >= 2)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        server.close()
        await server.wait_closed()
    assert bytes(sink.data).startswith(b"AB")
    assert PortState.UNAVAILABLE in sink.states
    assert caplog.text.count("closed by the other end") == caplog.text.count("is back")


async def test_flapping_server_is_logged_once_and_backs_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    accepted: list[float] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(asyncio.get_running_loop().time())
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sink = Recorder()
    backoff = Backoff(initial=0.01, maximum=0.08)
    task = asyncio.create_task(pump(lambda: TcpPort("127.0.0.1", port), sink, backoff=backoff))
    try:
        await sink.until(lambda: len(accepted) >= 6)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        server.close()
        await server.wait_closed()
    assert caplog.text.count("closed by the other end") == 1
    gaps = [b - a for a, b in itertools.pairwise(accepted)]
    assert gaps[-1] > gaps[0]  # the delay grew: no hot loop


async def test_ports_are_not_reentrant(tmp_path: Path) -> None:
    capture = tmp_path / "c.hex"
    capture.write_text("7E\n")
    port = ReplayPort(capture)
    async with port:
        with pytest.raises(RuntimeError, match="not re-entrant"):
            async with port:
                pass
    async with port:  # but reusable
        assert await port.read() == b"\x7e"


class Exploding(Recorder):
    """A sink with a bug: the first chunk raises."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def port_data(self, data: bytes) -> None:
        self.calls += 1
        if self.calls == 1:
            raise KeyError("a bug")
        super().port_data(data)


async def test_a_bug_while_reading_reopens_instead_of_ending(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    capture = tmp_path / "c.hex"
    capture.write_text("7E\n")
    sink = Exploding()
    async with asyncio.timeout(5):
        await pump(lambda: ReplayPort(capture, realtime=False), sink, backoff=FAST)
    assert bytes(sink.data) == b"\x7e"  # the second attempt read it
    assert "unexpected error while reading" in caplog.text
    assert sink.states[-1] is PortState.FINISHED
