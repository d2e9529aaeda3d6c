"""Replay of a capture file, for support cases: a user's saved bytes through the whole gateway.

A capture is either hex text (one frame per line is usual; ``#`` comment lines, spaces, colons
and ``0x`` are allowed, as people paste them) or the raw bytes ``omnipower decode --save`` wrote.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from .base import PortUnavailable

__all__ = ["ReplayPort", "read_capture"]

_HEX_TEXT: Final = re.compile(rb"[\s0-9A-Fa-fx:,\-]*")
_SEPARATORS: Final = re.compile(r"0x|[\s:,\-]", re.IGNORECASE)
#: Raw captures are handed out in pieces of this size, like a serial driver would.
RAW_CHUNK: Final = 256


def read_capture(content: bytes) -> list[bytes]:
    """The chunks of a capture: one per hex line, or fixed-size pieces of a raw capture."""
    lines = [line for line in content.splitlines() if not line.lstrip().startswith(b"#")]
    if content[:1] != b"/" and all(_HEX_TEXT.fullmatch(line) for line in lines):
        chunks: list[bytes] = []
        for number, line in enumerate(lines, start=1):
            text = _SEPARATORS.sub("", line.decode("ascii"))
            if not text:
                continue
            try:
                chunks.append(bytes.fromhex(text))
            except ValueError:
                raise ValueError(f"line {number} is not whole hex bytes") from None
        return chunks
    return [content[i : i + RAW_CHUNK] for i in range(0, len(content), RAW_CHUNK)]


class ReplayPort:
    """A capture file as a port. ``realtime`` paces bytes at *baudrate* (10 bits per byte, 8N1);
    otherwise everything comes as fast as the gateway takes it."""

    finite = True

    def __init__(self, path: Path, *, realtime: bool = True, baudrate: int = 2400) -> None:
        self.path = path
        self.realtime = realtime
        self.baudrate = baudrate
        self._chunks: list[bytes] | None = None
        self._next = 0

    @property
    def description(self) -> str:
        return f"replay:{self.path}"

    async def __aenter__(self) -> Self:
        if self._chunks is not None:
            raise RuntimeError(f"{self.description} is already open (ports are not re-entrant)")
        try:
            content = self.path.read_bytes()
            self._chunks = read_capture(content)
        except (OSError, ValueError) as exc:
            raise PortUnavailable(f"cannot replay {self.path}: {exc}") from exc
        self._next = 0
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._chunks = None

    async def read(self) -> bytes:
        """The next chunk, after its line time when replaying in real time; ``b""`` at the end."""
        if self._chunks is None:
            raise RuntimeError(f"{self.description} is not open")
        if self._next >= len(self._chunks):
            return b""
        chunk = self._chunks[self._next]
        self._next += 1
        if self.realtime:
            await asyncio.sleep(len(chunk) * 10 / self.baudrate)
        else:
            await asyncio.sleep(0)  # let the rest of the gateway (MQTT) run between chunks
        return chunk
