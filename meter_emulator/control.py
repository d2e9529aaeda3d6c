"""The emulator's local control interface: one JSON object per line over a UNIX socket.

Request ``{"cmd": "set_load", "args": {"active_power_w": 2000}}``, reply
``{"ok": true, "result": …}`` or ``{"ok": false, "error": "…"}``. A request that does not
validate changes nothing: handlers validate every argument before touching the meter.
Chosen over HTTP because it needs no framework, works with ``socat`` and ``nc -U``, and a UNIX
socket is reachable only by local users with permission on the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeAlias

__all__ = [
    "ArgumentError",
    "ControlClient",
    "ControlServer",
    "Handler",
    "get_bool",
    "get_number",
    "get_str",
]

_LOGGER = logging.getLogger(__name__)
_MAX_LINE: Final = 64 * 1024

Handler: TypeAlias = Callable[[Mapping[str, Any]], Any | Awaitable[Any]]


class ArgumentError(ValueError):
    """A control request with a missing, unknown or out-of-range argument."""


def _require(args: Mapping[str, Any], name: str) -> Any:
    if name not in args:
        raise ArgumentError(f"missing argument {name!r}")
    return args[name]


def get_number(
    args: Mapping[str, Any],
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    default: float | None = None,
) -> float:
    """A numeric argument within [minimum, maximum]."""
    if default is not None and name not in args:
        return default
    value = _require(args, name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArgumentError(f"{name!r} must be a number, not {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ArgumentError(f"{name!r} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ArgumentError(f"{name!r} must be at most {maximum}")
    return float(value)


def get_bool(args: Mapping[str, Any], name: str, *, default: bool | None = None) -> bool:
    """A boolean argument."""
    if default is not None and name not in args:
        return default
    value = _require(args, name)
    if not isinstance(value, bool):
        raise ArgumentError(f"{name!r} must be true or false")
    return value


def get_str(
    args: Mapping[str, Any],
    name: str,
    *,
    choices: frozenset[str] | None = None,
    default: str | None = None,
) -> str:
    """A string argument, optionally one of *choices*."""
    if default is not None and name not in args:
        return default
    value = _require(args, name)
    if not isinstance(value, str):
        raise ArgumentError(f"{name!r} must be a string")
    if choices is not None and value not in choices:
        raise ArgumentError(f"{name!r} must be one of {', '.join(sorted(choices))}")
    return value


@dataclass(slots=True)
class ControlServer:
    """Serves the handlers on *path* (mode 0600: only the emulator's user may steer it)."""

    path: Path
    handlers: Mapping[str, Handler]
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> ControlServer:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        os.chmod(self.path, 0o600)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def handle_line(self, line: bytes) -> dict[str, Any]:
        """The reply to one request line (public for tests and in-process use)."""
        try:
            request = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {"ok": False, "error": "request is not JSON"}
        if not isinstance(request, dict):
            return {"ok": False, "error": 'request must be an object {"cmd": …, "args": {…}}'}
        command = request.get("cmd")
        handler = self.handlers.get(command) if isinstance(command, str) else None
        if handler is None:
            known = ", ".join(sorted(self.handlers))
            return {"ok": False, "error": f"unknown command {command!r}; known: {known}"}
        args = request.get("args", {})
        if not isinstance(args, dict):
            return {"ok": False, "error": "args must be an object"}
        try:
            result = handler(args)
            if asyncio.iscoroutine(result):
                result = await result
        except (ArgumentError, ValueError) as exc:
            return {"ok": False, "error": str(exc)}
        _LOGGER.info("control: %s %s", command, json.dumps(args, sort_keys=True))
        return {"ok": True, "result": result}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readuntil(b"\n")
                except asyncio.IncompleteReadError as exc:
                    line = exc.partial
                    if not line.strip():
                        break
                except asyncio.LimitOverrunError:
                    writer.write(b'{"ok": false, "error": "request line too long"}\n')
                    break
                if len(line) > _MAX_LINE:
                    writer.write(b'{"ok": false, "error": "request line too long"}\n')
                    break
                if not line.strip():
                    continue
                reply = await self.handle_line(line)
                writer.write(json.dumps(reply, default=str).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


class ControlClient:
    """A small client for tests, the demo and scripts."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def call(self, cmd: str, **args: Any) -> Any:
        """Send one request; raise RuntimeError with the emulator's message on failure."""
        reader, writer = await asyncio.open_unix_connection(str(self.path))
        try:
            writer.write(json.dumps({"cmd": cmd, "args": args}).encode() + b"\n")
            await writer.drain()
            reply = json.loads(await asyncio.wait_for(reader.readline(), timeout=10))
        finally:
            writer.close()
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error", "control request failed"))
        return reply.get("result")
