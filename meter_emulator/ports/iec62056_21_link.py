"""Thin asyncio adapter: serve an :class:`Iec62056Server` on a pty or TCP link.

The link (:class:`~.links.PtyLink` or :class:`~.links.TcpLink`) moves the octets; this adapter
hands them to the server with the time they arrived, wakes the server at its deadlines, and
writes each reply at the baud rate the server names. A pty has no baud rate, so the link paces
the octets by line time (10 bits per character, 7E1 as 8N1) at that rate, which is how the
switch from 300 to 9600 baud shows on the emulated line. The server's clock is the loop's clock
times ``speed``, so a sped-up emulator keeps its timers and its line times in proportion.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Protocol, Self

from .iec62056_21 import Transmit
from .links import PtyLink, TcpLink

__all__ = ["OpticalPort", "OpticalServer"]

_LOGGER = logging.getLogger(__name__)


class OpticalServer(Protocol):
    """What this adapter runs: :class:`~.iec62056_21.Iec62056Server`, or the
    :class:`~.optical_mux.OpticalMux` that shares the port with DLMS."""

    def receive_data(self, data: bytes, now: float) -> list[Transmit]: ...

    def poll(self, now: float) -> list[Transmit]: ...

    def next_deadline(self) -> float | None: ...


class OpticalPort:
    """Runs one 1107 dialogue on *link*; enter the link first (it owns the pty or socket)."""

    def __init__(
        self, server: OpticalServer, link: PtyLink | TcpLink, *, reaction_time: float = 0.2
    ) -> None:
        self.server = server
        self.link = link
        #: IEC 62056-21 reaction time tr, 200 ms to 1500 ms: the meter leaves the HHU time to switch
        #: its line round (and its baud) before answering. Meter seconds, sped up like the line.
        self.reaction_time = reaction_time
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def now(self) -> float:
        """The server's clock: the loop's, sped up like the link's line times."""
        return asyncio.get_running_loop().time() * self.link.speed

    async def __aenter__(self) -> Self:
        if self._task is not None:
            raise RuntimeError("the optical port is already running (not re-entrant)")
        self.link.on_receive = self._inbox.put_nowait
        self._task = asyncio.create_task(self._run(), name="iec62056-21")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        task, self._task = self._task, None
        self.link.on_receive = None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        await self._send(self.server.poll(self.now()))  # starts the D0 period, if any
        while True:
            deadline = self.server.next_deadline()
            timeout = (
                None if deadline is None else max(0.0, (deadline - self.now()) / self.link.speed)
            )
            try:
                data = await asyncio.wait_for(self._inbox.get(), timeout)
            except TimeoutError:
                await self._send(self.server.poll(self.now()))
                continue
            replies = self.server.receive_data(data, self.now())
            if replies and self.reaction_time > 0:
                await asyncio.sleep(self.reaction_time / self.link.speed)
            await self._send(replies)

    async def _send(self, transmits: list[Transmit]) -> None:
        for transmit in transmits:
            if transmit.baudrate != self.link.baudrate:
                _LOGGER.debug("optical port now at %d baud", transmit.baudrate)
            self.link.baudrate = transmit.baudrate
            await self.link.write(transmit.data)
