"""Real parts for the end-to-end tests: a Mosquitto child process and pseudo-terminal meters.

Mosquitto runs per test on a free loopback port (it listens ~30 ms after start); run as root it
drops to user ``mosquitto``, so its config lives in a world-readable temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import shutil
import socket
import subprocess
import tempfile
import time
import tty
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiomqtt
import pytest

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    """A loopback TCP port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Mosquitto:
    """One broker on a fixed port that can be stopped and started again (same port)."""

    def __init__(self, directory: Path, settings: str = "allow_anonymous true\n") -> None:
        self.port = free_port()
        self.config = directory / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\npersistence false\n{settings}")
        self.config.chmod(0o644)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.process.returncode}")
            time.sleep(0.01)
        raise RuntimeError("mosquitto did not listen within 5 s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture
def mosquitto() -> Iterator[Mosquitto]:
    """A running Mosquitto, killed by its PID at teardown."""
    if not os.path.exists(MOSQUITTO):
        pytest.skip("mosquitto is not installed (apt-get install -y mosquitto)")
    directory = Path(tempfile.mkdtemp(prefix="omnipower-mosquitto-"))
    directory.chmod(0o755)
    broker = Mosquitto(directory)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(directory, ignore_errors=True)


class PtyMeter:
    """The meter's end of a pseudo-terminal behind a stable symlink (like /dev/serial/by-id).

    One slave fd stays open here so the master survives the gateway closing and reopening the
    port; :meth:`unplug` closes everything, :meth:`plug` makes a new pty behind the same link.
    """

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = -1
        self._slave = -1
        self.plug()

    def plug(self) -> None:
        self.master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        tty.setraw(self.master)
        os.set_blocking(self.master, False)
        tmp = self.link.with_suffix(".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(self._slave))
        tmp.replace(self.link)

    def unplug(self) -> None:
        for fd in (self.master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self._slave = -1

    async def send(self, data: bytes, *, baudrate: int = 115_200, chunk: int = 32) -> float:
        """Write *data* paced at *baudrate* (10 bits a byte); the loop time of the last byte."""
        loop = asyncio.get_running_loop()
        for start in range(0, len(data), chunk):
            piece = data[start : start + chunk]
            with contextlib.suppress(BlockingIOError):  # nobody reading: the line drops it
                os.write(self.master, piece)
            if start + chunk < len(data):
                await asyncio.sleep(len(piece) * 10 / baudrate)
        return loop.time()

    def drain(self) -> None:
        """Nothing to read on the meter side: the CCC is transmit-only."""


@pytest.fixture
def pty_meter(tmp_path: Path) -> Iterator[PtyMeter]:
    meter = PtyMeter(tmp_path / "ttyCCC")
    try:
        yield meter
    finally:
        meter.unplug()


class Subscriber:
    """An aiomqtt client that records every message under a topic filter."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.messages: list[aiomqtt.Message] = []
        self._new = asyncio.Condition()

    async def run(self) -> None:
        async for message in self.client.messages:
            async with self._new:
                self.messages.append(message)
                self._new.notify_all()

    async def wait_for(
        self, predicate: Callable[[aiomqtt.Message], bool], *, within: float = 10.0, after: int = 0
    ) -> aiomqtt.Message:
        """The first message (from index *after*) matching *predicate*, within *within* s."""
        async with asyncio.timeout(within), self._new:
            while True:
                for message in self.messages[after:]:
                    if predicate(message):
                        return message
                await self._new.wait()

    def on(self, topic: str) -> list[aiomqtt.Message]:
        return [m for m in self.messages if m.topic.matches(topic)]


@contextlib.asynccontextmanager
async def subscriber(port: int, topic_filter: str) -> AsyncIterator[Subscriber]:
    async with aiomqtt.Client(
        "127.0.0.1", port, identifier=f"test-{os.getpid()}-{time.time_ns()}"
    ) as client:
        await client.subscribe(topic_filter, qos=1)
        sub = Subscriber(client)
        task = asyncio.create_task(sub.run())
        try:
            yield sub
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task
