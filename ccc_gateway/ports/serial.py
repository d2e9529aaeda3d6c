"""A serial device (USB adapter on the CCC pins, or a pty) through pyserial-asyncio-fast."""

from __future__ import annotations

import asyncio
from typing import Literal

from ._stream import StreamPort

__all__ = ["SerialPort"]


class SerialPort(StreamPort):
    """The CCC at 2400 8N1 by default; read only (the meter's CCC transmits, never listens)."""

    def __init__(
        self, path: str, *, baudrate: int = 2400, parity: Literal["N", "E", "O"] = "N"
    ) -> None:
        super().__init__()
        self.path = path
        self.baudrate = baudrate
        self.parity = parity

    @property
    def description(self) -> str:
        return self.path

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        # Imported here: a TCP- or replay-only gateway never loads pyserial.
        import serial_asyncio_fast

        reader: asyncio.StreamReader
        writer: asyncio.StreamWriter
        reader, writer = await serial_asyncio_fast.open_serial_connection(
            url=self.path, baudrate=self.baudrate, parity=self.parity, bytesize=8, stopbits=1
        )
        return reader, writer
