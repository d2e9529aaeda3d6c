"""The StreamReader-based port shared by the serial and TCP adapters."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Self

from .base import PortUnavailable

__all__ = ["StreamPort"]

#: Largest chunk asked of the stream: a CCC frame is at most 2 kB and arrives in bursts.
CHUNK: int = 4096


class StreamPort:
    """Opens a stream pair in ``__aenter__``; subclasses say how (``_open``)."""

    finite = False

    def __init__(self) -> None:
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._entered = False

    @property
    def description(self) -> str:
        raise NotImplementedError

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError(f"{self.description} is already open (ports are not re-entrant)")
        try:
            self._reader, self._writer = await self._open()
        except (OSError, ValueError) as exc:
            raise PortUnavailable(f"cannot open {self.description}: {exc}") from exc
        self._entered = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        self._entered = False
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def read(self) -> bytes:
        """The next chunk of bytes as they arrived; ``b""`` when the other end closed."""
        if self._reader is None:
            raise RuntimeError(f"{self.description} is not open")
        try:
            return await self._reader.read(CHUNK)
        except OSError as exc:  # SerialException and ConnectionResetError are OSErrors
            raise PortUnavailable(f"{self.description} went away: {exc}") from exc
