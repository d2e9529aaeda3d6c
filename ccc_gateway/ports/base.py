"""What every port adapter offers, and the one error a lost port raises."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from ..protocol import OmnipowerError

__all__ = ["ByteSource", "PortUnavailable"]


class PortUnavailable(OmnipowerError):
    """The device or socket cannot be opened or went away (USB unplugged, TCP reset, pty closed)."""

    code = "port_unavailable"
    hint = "Check the cable or USB adapter, the device path, and that no other program holds it."


class ByteSource(Protocol):
    """A port the gateway reads. ``finite`` sources (replays) end instead of being reopened."""

    @property
    def description(self) -> str:
        """How logs name the port (a path or tcp://host:port; never a secret)."""
        ...

    @property
    def finite(self) -> bool:
        """True when ``b""`` from :meth:`read` means done rather than lost."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    async def read(self) -> bytes:
        """The next chunk; ``b""`` at the end; :class:`PortUnavailable` when the port is lost."""
        ...
