"""Thin asyncio adapters that carry the emulated meter's bytes: pseudo-terminals and TCP.

A pty does not pace bytes at the baud rate (TOOLCHAIN facts), so :class:`PtyLink` sleeps for the
line time of each chunk: 10 bits per byte at 8N1, divided by the emulator's speed-up. It keeps
one slave descriptor open so the master survives a gateway that closes and reopens the port,
and it publishes a stable symlink so a gateway can find the port again after an "unplug"
(which closes the pty and opens a new one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Final, Protocol

__all__ = ["ByteLink", "PtyLink", "TcpLink", "line_time"]

_LOGGER = logging.getLogger(__name__)
_CHUNK: Final = 64


def line_time(size: int, baudrate: int, *, bits_per_byte: int = 10, speed: float = 1.0) -> float:
    """Seconds *size* bytes occupy on the line (start + 8 data + stop = 10 bits at 8N1)."""
    return size * bits_per_byte / baudrate / max(speed, 1e-9)


class ByteLink(Protocol):
    """Where the emulator writes a port's bytes."""

    @property
    def description(self) -> str:
        """Where a client connects (a device path or host:port)."""
        ...

    async def write(self, data: bytes) -> None:
        """Send *data*, paced like the real line."""
        ...


class PtyLink:
    """One end of a pseudo-terminal that a gateway opens as if it were a serial port.

    ``on_receive`` gets whatever the other side writes; the CCC with push enabled ignores it
    ([HAN] §7.1), the optical port answers it.
    """

    def __init__(
        self,
        *,
        baudrate: int,
        speed: float = 1.0,
        symlink: Path | None = None,
        on_receive: Callable[[bytes], None] | None = None,
    ) -> None:
        self.baudrate = baudrate
        self.speed = speed
        self.symlink = symlink
        self.on_receive = on_receive
        self._master = -1
        self._slave = -1
        self._path = ""
        self._write_lock = asyncio.Lock()
        self.unplugged = False

    @property
    def description(self) -> str:
        """The path to open: the stable symlink if there is one."""
        return str(self.symlink) if self.symlink is not None else self._path

    @property
    def device(self) -> str:
        """The current /dev/pts device."""
        return self._path

    def open(self) -> None:
        """Create the pty (and point the symlink at it)."""
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave, self._path = master, slave, os.ttyname(slave)
        if self.symlink is not None:
            tmp = self.symlink.with_name(self.symlink.name + ".new")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self._path)
            tmp.replace(self.symlink)
        asyncio.get_running_loop().add_reader(master, self._readable)
        self.unplugged = False

    def close(self) -> None:
        """Close both ends: the gateway's next read fails, as when a USB adapter is pulled."""
        if self._master >= 0:
            asyncio.get_running_loop().remove_reader(self._master)
            for fd in (self._master, self._slave):
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1

    async def unplug(self, seconds: float) -> None:
        """Simulate a pulled cable: the port vanishes for *seconds*, then comes back."""
        self.unplugged = True
        self.close()
        _LOGGER.info("CCC port unplugged for %.1f s", seconds)
        await asyncio.sleep(seconds)
        self.open()

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # EIO: nobody holds the slave open right now
        if data and self.on_receive is not None:
            self.on_receive(data)

    async def write(self, data: bytes) -> None:
        """Write in small chunks, sleeping for each chunk's line time."""
        async with self._write_lock:
            for start in range(0, len(data), _CHUNK):
                if self._master < 0:
                    return  # unplugged: the bytes are lost, as on a real line
                chunk = data[start : start + _CHUNK]
                view = memoryview(chunk)
                while view:
                    try:
                        written = os.write(self._master, view)
                    except BlockingIOError:
                        await asyncio.sleep(0.005)
                        continue
                    except OSError:
                        return
                    view = view[written:]
                await asyncio.sleep(line_time(len(chunk), self.baudrate, speed=self.speed))

    async def __aenter__(self) -> PtyLink:
        self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
        if self.symlink is not None:
            with contextlib.suppress(FileNotFoundError):
                self.symlink.unlink()


class TcpLink:
    """A ser2net-style raw TCP port on loopback: every connected client gets the bytes."""

    def __init__(
        self,
        *,
        port: int,
        baudrate: int,
        speed: float = 1.0,
        host: str = "127.0.0.1",
        on_receive: Callable[[bytes], None] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.baudrate = baudrate
        self.speed = speed
        self.on_receive = on_receive
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    @property
    def description(self) -> str:
        """host:port to connect to."""
        return f"tcp://{self.host}:{self.port}"

    async def __aenter__(self) -> TcpLink:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for writer in list(self._clients):
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while data := await reader.read(4096):
                if self.on_receive is not None:
                    self.on_receive(data)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._clients.discard(writer)
            writer.close()

    async def write(self, data: bytes) -> None:
        """Send to every client, paced like the serial line it stands for."""
        for start in range(0, len(data), _CHUNK):
            chunk = data[start : start + _CHUNK]
            for writer in list(self._clients):
                try:
                    writer.write(chunk)
                except (ConnectionError, RuntimeError):
                    self._clients.discard(writer)
            await asyncio.sleep(line_time(len(chunk), self.baudrate, speed=self.speed))
