"""``omnipower gateway`` as a real process: config check, SIGTERM and the broker's last will."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Mosquitto, PtyMeter, subscriber
from tests.e2e.frames import RADIUS_KEYS, RADIUS_SERIAL, radius_push

pytestmark = pytest.mark.slow
BRIDGE = "omnipower/bridge/cli/state"


def write_config(path: Path, broker: Mosquitto, port: Path, state: Path) -> None:
    path.write_text(
        f"""
[gateway]
id = "cli"
state_dir = "{state}"
timezone = "Europe/Copenhagen"

[mqtt]
host = "127.0.0.1"
port = {broker.port}

[[meters]]
name = "radius"
encryption_key = "{RADIUS_KEYS.encryption_key.hex()}"
authentication_key = "{(RADIUS_KEYS.authentication_key or b"").hex()}"

[meters.ccc]
port = "{port}"
"""
    )
    path.chmod(0o600)


def omnipower(*args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ccc_gateway.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def test_check_reports_the_bad_key_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[[meters]]\nencryption_key = "abc"\n[meters.ccc]\nport = "/dev/x"\n')
    config.chmod(0o600)
    process = omnipower("gateway", "--config", str(config), "--check")
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert b"meters[0].encryption_key: 32 hex digits" in err


@contextlib.asynccontextmanager
async def gateway_process(config: Path) -> Any:
    process = omnipower("gateway", "--config", str(config))
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        assert process.stderr is not None
        process.stderr.close()
        assert process.stdout is not None
        process.stdout.close()


async def test_sigterm_says_offline_and_sigkill_leaves_it_to_the_will(
    mosquitto: Mosquitto, pty_meter: PtyMeter, tmp_path: Path
) -> None:
    config = tmp_path / "gateway.toml"
    write_config(config, mosquitto, pty_meter.link, tmp_path / "state")
    async with subscriber(mosquitto.port, "omnipower/#") as sub:
        async with gateway_process(config) as process:
            await sub.wait_for(lambda m: m.topic.matches(BRIDGE) and m.payload == b"online")
            await asyncio.sleep(0.3)  # the port opens right after the broker connection
            await pty_meter.send(radius_push(0).frame)
            await sub.wait_for(lambda m: m.topic.matches(f"omnipower/{RADIUS_SERIAL}/power"))
            mark = len(sub.messages)
            process.send_signal(signal.SIGTERM)
            await sub.wait_for(
                lambda m: m.topic.matches(BRIDGE) and m.payload == b"offline", after=mark
            )
            assert await asyncio.to_thread(process.wait, 10) == 0
        async with gateway_process(config) as process:
            mark = len(sub.messages)
            await sub.wait_for(
                lambda m: m.topic.matches(BRIDGE) and m.payload == b"online", after=mark
            )
            os.kill(process.pid, signal.SIGKILL)  # no goodbye: the broker's last will speaks
            mark = len(sub.messages)
            will = await sub.wait_for(
                lambda m: m.topic.matches(BRIDGE) and m.payload == b"offline",
                after=mark,
                within=10,
            )
    assert will.payload == b"offline"
