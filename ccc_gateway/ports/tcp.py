"""A raw TCP socket carrying the port's bytes unchanged (ser2net ``raw`` mode, serial servers)."""

from __future__ import annotations

import asyncio

from ._stream import StreamPort

__all__ = ["TcpPort"]

#: A serial server that accepts but never answers should not hang start-up.
CONNECT_TIMEOUT: float = 10.0


class TcpPort(StreamPort):
    """``host:port`` of a ser2net-style raw socket."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__()
        self.host = host
        self.port = port

    @property
    def description(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), CONNECT_TIMEOUT
            )
        except TimeoutError as exc:
            raise OSError(f"no answer within {CONNECT_TIMEOUT:.0f} s") from exc
