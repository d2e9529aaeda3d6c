"""The control interface: requests over a real UNIX socket; bad input changes nothing."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from meter_emulator.control import ControlClient, ControlServer, get_bool, get_number, get_str


class Meter:
    def __init__(self) -> None:
        self.load_w = 0.0
        self.cover_open = False

    def set_load(self, args: Mapping[str, Any]) -> dict[str, float]:
        self.load_w = get_number(args, "active_power_w", minimum=0, maximum=23_000)
        return {"active_power_w": self.load_w}

    def cover(self, args: Mapping[str, Any]) -> bool:
        self.cover_open = get_bool(args, "open")
        return self.cover_open

    async def mode(self, args: Mapping[str, Any]) -> str:
        return get_str(args, "mode", choices=frozenset({"auto", "manual"}))


@pytest.fixture
async def served(tmp_path: Path) -> Any:
    meter = Meter()
    handlers = {"set_load": meter.set_load, "cover": meter.cover, "mode": meter.mode}
    async with ControlServer(tmp_path / "control.sock", handlers) as server:
        yield meter, ControlClient(server.path), server.path


async def test_commands_change_the_meter(served: Any) -> None:
    meter, client, _ = served
    assert await client.call("set_load", active_power_w=2500) == {"active_power_w": 2500.0}
    assert meter.load_w == 2500
    assert await client.call("cover", open=True) is True
    assert await client.call("mode", mode="auto") == "auto"


@pytest.mark.parametrize(
    ("cmd", "args", "message"),
    [
        ("set_load", {"active_power_w": -5}, "at least"),
        ("set_load", {"active_power_w": "lots"}, "must be a number"),
        ("set_load", {}, "missing argument"),
        ("cover", {"open": "yes"}, "true or false"),
        ("mode", {"mode": "turbo"}, "one of"),
        ("explode", {}, "unknown command"),
    ],
)
async def test_bad_requests_are_refused_and_change_nothing(
    served: Any, cmd: str, args: dict[str, Any], message: str
) -> None:
    meter, client, _ = served
    with pytest.raises(RuntimeError, match=message):
        await client.call(cmd, **args)
    assert meter.load_w == 0
    assert meter.cover_open is False


async def test_garbage_lines_get_an_error_reply(served: Any) -> None:
    _, _, path = served
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(b"not json\n[1, 2]\n")
    first = await asyncio.wait_for(reader.readline(), 5)
    second = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    assert b"not JSON" in first
    assert b"must be an object" in second


async def test_socket_is_private(served: Any) -> None:
    _, _, path = served
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
