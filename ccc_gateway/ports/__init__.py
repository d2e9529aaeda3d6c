"""Thin asyncio adapters that move bytes from a meter's port; the protocol core decides on them.

Every port is an async context manager (reusable, not re-entrant) whose ``read`` returns the next
chunk, ``b""`` at the end of a finite source, and raises :class:`PortUnavailable` when the device
or socket is gone. :func:`~.supervisor.pump` owns reopening with backoff.
"""

from .base import ByteSource, PortUnavailable
from .replay import ReplayPort, read_capture
from .serial import SerialPort
from .supervisor import Backoff, PortSink, pump
from .tcp import TcpPort

__all__ = [
    "Backoff",
    "ByteSource",
    "PortSink",
    "PortUnavailable",
    "ReplayPort",
    "SerialPort",
    "TcpPort",
    "pump",
    "read_capture",
]
