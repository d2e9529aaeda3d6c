"""The reconnect loop around one port: open, read, notice silence, reopen with backoff.

The adapters only move bytes; this loop owns what docs/gateway.md asks of the adapter layer: a port
that disappears is reopened with a capped exponential backoff, logged once when lost (with what
to check) and once when back, and never takes anything else down with it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..meter import PortState
from .base import ByteSource, PortUnavailable

__all__ = ["Backoff", "PortSink", "pump"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between reopen attempts: initial × factor^n, capped, with ±10 % jitter so that
    many gateways behind one serial server do not retry in lockstep."""

    initial: float = 1.0
    maximum: float = 60.0
    factor: float = 2.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt number *attempt* (0-based)."""
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 32))
        return base * random.uniform(0.9, 1.1)  # jitter, not cryptography


class PortSink(Protocol):
    """Where :func:`pump` delivers bytes and news about the port."""

    def port_data(self, data: bytes) -> None:
        """Bytes as they arrived."""

    def port_silence(self) -> None:
        """The line has been quiet for the silence period (or the port closed)."""

    def port_state(self, state: PortState, reason: str | None) -> None:
        """The port opened, was lost (with the reason), or a replay finished."""


async def pump(
    factory: Callable[[], ByteSource],
    sink: PortSink,
    *,
    silence: float = 0.5,
    backoff: Backoff | None = None,
) -> None:
    """Feed *sink* from ports made by *factory* until cancelled (or a finite source ends).

    *silence*: seconds without bytes after which a partial frame is reported as truncated; a
    2400-baud frame arrives as one continuous burst, so half a second of nothing means it ended.
    """
    loop = _Loop(backoff or Backoff())
    while True:
        port = factory()
        sink.port_state(PortState.CONNECTING, None)
        try:
            async with port:
                sink.port_state(PortState.OPEN, None)
                await _read_until_closed(port, sink, silence, loop)
            if port.finite:
                _LOGGER.info("%s: end of the capture", port.description)
                sink.port_state(PortState.FINISHED, None)
                return
            raise PortUnavailable(f"{port.description} was closed by the other end")
        except PortUnavailable as exc:
            sink.port_silence()
            sink.port_state(PortState.UNAVAILABLE, str(exc))
            await loop.failed(exc)
        except Exception as exc:
            # A bug must not end the reading for good (nor, through the task group, the whole
            # service): say so with the traceback, then treat it like a lost port.
            _LOGGER.exception("unexpected error while reading %s", port.description)
            wrapped = PortUnavailable(f"{port.description} failed: {type(exc).__name__}: {exc}")
            sink.port_state(PortState.UNAVAILABLE, str(wrapped))
            await loop.failed(wrapped)


class _Loop:
    """Backoff and log state of one pump: lost is logged once, back once.

    Both reset only once bytes flow again, so a serial server that accepts and hangs up at
    once is retried with a growing delay and logged once, not every second.
    """

    def __init__(self, backoff: Backoff) -> None:
        self.backoff = backoff
        self.attempt = 0
        self.lost = False

    def flowing(self, description: str) -> None:
        self.attempt = 0
        if self.lost:
            _LOGGER.info("%s is back; bytes arrive again", description)
            self.lost = False

    async def failed(self, exc: PortUnavailable) -> None:
        if not self.lost:
            _LOGGER.warning(
                "%s. %s Retrying with backoff up to every %g s; readings pause meanwhile",
                exc,
                exc.hint,
                self.backoff.maximum,
            )
            self.lost = True
        delay = self.backoff.delay(self.attempt)
        self.attempt += 1
        await asyncio.sleep(delay)


async def _read_until_closed(port: ByteSource, sink: PortSink, silence: float, loop: _Loop) -> None:
    pending = False  # bytes arrived since the last silence: only then is a timer needed
    first = True
    while True:
        if pending:
            try:
                async with asyncio.timeout(silence):
                    chunk = await port.read()
            except TimeoutError:
                sink.port_silence()
                pending = False
                continue
        else:
            chunk = await port.read()
        if not chunk:
            sink.port_silence()
            return
        if first:
            first = False
            loop.flowing(port.description)
        pending = True
        sink.port_data(chunk)
