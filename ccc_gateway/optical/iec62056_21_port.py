"""Thin asyncio adapter: one IEC 62056-21 readout over a serial optical head or a raw TCP port.

The client (:mod:`.iec62056_21_client`) decides everything; this module moves its bytes, changes
the port's baud rate when told to, and turns the clock into the ``now`` the client expects. The
port stays at 8N1 and the client adds and checks the 7E1 parity bit itself: a UART at 8N1 samples
the same 10-bit character, and a pty (the emulator) has no parity at all.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol, assert_never

from ..ports.base import PortUnavailable
from ..ports.serial import SerialPort
from ..ports.tcp import TcpPort
from .iec62056_21_client import (
    BaudrateChanged,
    Iec62056Client,
    Readout,
    ReadoutReceived,
    Transmit,
)

__all__ = ["OpticalLink", "SerialOpticalPort", "TcpOpticalPort", "read_readout"]

_LOGGER = logging.getLogger(__name__)


def _line_time(size: int, rate: int) -> float:
    return size * 10 / rate  # start + 7 data + parity + stop


class OpticalLink(Protocol):
    """A port the readout client can talk through."""

    @property
    def description(self) -> str: ...

    async def read(self) -> bytes:
        """The next chunk; ``b""`` when the other end closed."""
        ...

    async def write(self, data: bytes) -> None:
        """Queue *data* for the line."""
        ...

    async def set_baudrate(self, rate: int) -> None:
        """Switch rate once the bytes written so far have left the line."""
        ...


class SerialOpticalPort(SerialPort):
    """An optical head on a serial device (or the emulator's pty), starting at 300 baud."""

    def __init__(self, path: str, *, baudrate: int = 300) -> None:
        super().__init__(path, baudrate=baudrate, parity="N")
        self._sent_until = 0.0

    async def write(self, data: bytes) -> None:
        """Write and remember when the last bit will have left at the current rate."""
        if self._writer is None:
            raise RuntimeError(f"{self.description} is not open")
        self._writer.write(data)
        await self._writer.drain()
        now = asyncio.get_running_loop().time()
        self._sent_until = max(now, self._sent_until) + _line_time(len(data), self.baudrate)

    async def set_baudrate(self, rate: int) -> None:
        """Wait for the UART to empty at the old rate, then reprogram it."""
        if self._writer is None:
            raise RuntimeError(f"{self.description} is not open")
        delay = self._sent_until - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)
        port = getattr(self._writer.transport, "serial", None)  # pyserial's Serial
        if port is None:
            raise PortUnavailable(f"{self.description} is closed")
        try:
            port.baudrate = rate
        except OSError as exc:
            raise PortUnavailable(f"{self.description}: cannot set {rate} baud: {exc}") from exc
        self.baudrate = rate


class TcpOpticalPort(TcpPort):
    """A raw socket to a serial server or the emulator: the far end owns the baud rate."""

    async def write(self, data: bytes) -> None:
        """Send *data*."""
        if self._writer is None:
            raise RuntimeError(f"{self.description} is not open")
        self._writer.write(data)
        try:
            await self._writer.drain()
        except ConnectionError as exc:
            raise PortUnavailable(f"{self.description} went away: {exc}") from exc

    async def set_baudrate(self, rate: int) -> None:
        """Nothing to do: a raw TCP port has no line settings (no RFC 2217 here)."""


async def read_readout(link: OpticalLink, client: Iec62056Client | None = None) -> Readout:
    """One readout through an open *link*; raises the client's named errors or
    :class:`PortUnavailable`. The caller owns retries and the reconnect loop."""
    client = client or Iec62056Client()
    loop = asyncio.get_running_loop()
    events = client.start(loop.time())
    while True:
        result: Readout | None = None
        for event in events:
            match event:
                case Transmit(data, _):
                    await link.write(data)
                case BaudrateChanged(rate):
                    await link.set_baudrate(rate)
                case ReadoutReceived(readout):
                    result = readout
                case _:
                    assert_never(event)
        if result is not None:
            _LOGGER.debug(
                "IEC 62056-21 readout of %d registers from %s",
                len(result.data_sets),
                result.identification.meter_type,
            )
            return result
        deadline = client.next_deadline()
        timeout = None if deadline is None else max(0.0, deadline - loop.time())
        try:
            data = await asyncio.wait_for(link.read(), timeout)
        except TimeoutError:
            events = client.poll(loop.time())
            continue
        if not data:
            raise PortUnavailable(f"{link.description} closed during a readout")
        events = client.receive_data(data, loop.time())
