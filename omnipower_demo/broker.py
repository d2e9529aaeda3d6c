"""An MQTT broker inside the demo process, so a fresh machine needs no system service.

amqtt is pure Python and starts in milliseconds; it listens on loopback only. Production
installations use a real broker (Mosquitto, EMQX, …): the gateway only needs its address.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from typing import Any

__all__ = ["EmbeddedBroker", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on *host* right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedBroker:
    """amqtt on ``127.0.0.1:<port>`` with anonymous access, as an async context manager."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port if port is not None else free_port(host)
        self._broker: Any = None

    @property
    def url(self) -> str:
        """mqtt://host:port of this broker."""
        return f"mqtt://{self.host}:{self.port}"

    async def __aenter__(self) -> EmbeddedBroker:
        from amqtt.broker import Broker

        # An explicit plugin list: left out, amqtt loads a plugin that warns on start-up.
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        # amqtt logs every connection at INFO; the demo's screen is for readings.
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._broker = Broker(config)
        await self._broker.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._broker is not None:
            with contextlib.suppress(Exception):  # shutting down; nothing left to report to
                await self._broker.shutdown()
            self._broker = None
