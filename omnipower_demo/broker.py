"""An MQTT broker for the demo, so a fresh machine needs no system service.

Which broker: **Mosquitto** when its binary is installed (run as a child process on loopback),
because it is what the README recommends for production and it gets MQTT right: retained
messages once per subscription, ``+`` wildcards, MQTT 5 clients. Otherwise **amqtt**, pure
Python and in-process, so the light demo venv needs nothing from the system; amqtt 0.12.1 has
known faults (a retained message can arrive twice, a ``+`` filter can return every retained
topic, an MQTT 5 client gets no answer), which is why it is only the fallback.

The port is fixed so Home Assistant can stay pointed at the demo: 1883 when it is free, else the
first free one up to 1899, which the demo prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any, Final

__all__ = ["DEMO_PORTS", "EmbeddedBroker", "find_mosquitto", "free_port", "pick_port"]

#: Ports the demo's broker tries, in order: MQTT's own port first.
DEMO_PORTS: Final = range(1883, 1900)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on *host* right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def pick_port(host: str = "127.0.0.1", ports: range = DEMO_PORTS) -> int:
    """The first free port of *ports*; any free port when all are taken."""
    for port in ports:
        if _is_free(host, port):
            return port
    return free_port(host)


def find_mosquitto() -> str | None:
    """The mosquitto binary (Debian puts it in /usr/sbin, often not on a user's PATH)."""
    found = shutil.which("mosquitto")
    if found is None and Path("/usr/sbin/mosquitto").is_file():
        found = "/usr/sbin/mosquitto"
    return found


class EmbeddedBroker:
    """Mosquitto (when *mosquitto* names its binary) or amqtt on ``host:port``, anonymous, as an
    async context manager. *mosquitto* defaults to :func:`find_mosquitto`; pass ``None`` for
    amqtt."""

    _UNSET: Final = object()

    def __init__(
        self, port: int | None = None, host: str = "127.0.0.1", mosquitto: Any = _UNSET
    ) -> None:
        self.host = host
        self.port = port if port is not None else pick_port(host)
        self.mosquitto: str | None = find_mosquitto() if mosquitto is self._UNSET else mosquitto
        self._broker: Any = None
        self._process: asyncio.subprocess.Process | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def kind(self) -> str:
        """ "mosquitto" or "amqtt": what the demo says it runs."""
        return "mosquitto" if self.mosquitto else "amqtt"

    @property
    def url(self) -> str:
        """mqtt://host:port of this broker."""
        return f"mqtt://{self.host}:{self.port}"

    async def __aenter__(self) -> EmbeddedBroker:
        if self.mosquitto:
            await self._start_mosquitto(self.mosquitto)
        else:
            await self._start_amqtt()
        return self

    async def _start_mosquitto(self, binary: str) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="omnipower-demo-")
        config = self._write_config(Path(self._dir.name))
        self._process = await asyncio.create_subprocess_exec(
            binary,
            "-c",
            str(config),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while loop.time() < deadline:
            if self._process.returncode is not None:
                break
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection(self.host, self.port)
                writer.close()
                await writer.wait_closed()
                return
            await asyncio.sleep(0.02)
        error = b""
        if self._process.returncode is not None and self._process.stderr is not None:
            error = await self._process.stderr.read()
        await self._stop_mosquitto()
        raise OSError(f"mosquitto did not listen on {self.host}:{self.port}: {error.decode()}")

    def _write_config(self, directory: Path) -> Path:
        # Run as root, mosquitto drops to its own user, which must read this.
        directory.chmod(0o755)
        config = directory / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} {self.host}\nallow_anonymous true\npersistence false\n"
        )
        config.chmod(0o644)
        return config

    async def _start_amqtt(self) -> None:
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

    async def _stop_mosquitto(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stop_mosquitto()
        if self._broker is not None:
            with contextlib.suppress(Exception):  # shutting down; nothing left to report to
                await self._broker.shutdown()
            self._broker = None
