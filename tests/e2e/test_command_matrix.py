"""The command matrix of issue 10 against the emulator, over a real Mosquitto.

Real parts: the emulated meter (model, DLMS server and optical port on a pty, from
tests/e2e/test_optical_dlms.py), the real :class:`~ccc_gateway.service.Gateway` with its default
MQTT protocol (5), commands signed with a shared secret, a real Mosquitto; the SIGTERM case runs
``omnipower gateway`` as a real process. Each case asserts what the meter did (the model's own
state) and that the command got exactly one final answer on ``cmd/result``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from ccc_gateway.commands.envelope import sign
from ccc_gateway.config import parse_config
from ccc_gateway.ports import Backoff
from ccc_gateway.service import Gateway
from meter_emulator.model import CouplingState
from tests.e2e.conftest import Mosquitto, Subscriber, subscriber
from tests.e2e.test_optical_dlms import SERIAL, ZONE, emulator

pytestmark = pytest.mark.slow
FAST = Backoff(initial=0.05, maximum=0.3)
SECRET = "correct horse battery staple"
COMMANDS = ["breaker", "relay", "tariff", "refresh", "read_load_profile"]
RESULT = f"omnipower/{SERIAL}/cmd/result"
FINAL = ("done", "rejected", "failed", "expired")


def gateway_data(broker: Mosquitto, state: Path, tmp_path: Path) -> dict[str, Any]:
    return {
        "gateway": {"id": "matrix", "state_dir": str(state), "timezone": str(ZONE)},
        "mqtt": {"host": "127.0.0.1", "port": broker.port},  # protocol: the default, 5
        "commands": {"secret": SECRET},
        "meters": [
            {
                "name": "house",
                "serial": SERIAL,
                "optical": {
                    "port": str(tmp_path / "ttyOPT"),
                    "password": "12345",
                    "poll_interval": 60,
                },
                "commands": COMMANDS,
            }
        ],
    }


@contextlib.asynccontextmanager
async def gateway(data: dict[str, Any]) -> AsyncIterator[Gateway]:
    service = Gateway(parse_config(data), port_backoff=FAST, mqtt_backoff=FAST)
    task = asyncio.create_task(service.run())
    try:
        for _ in range(200):
            if service.publisher.connected:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # subscribed to cmd/+
        yield service
    finally:
        await asyncio.wait_for(service.aclose(), 20)
        await task


def body(command_id: str, **args: Any) -> dict[str, Any]:
    expires = datetime.now(UTC) + timedelta(seconds=30)
    return {"id": command_id, "expires_at": expires.isoformat(), "args": args}


def signed(name: str, data: dict[str, Any]) -> bytes:
    topic = f"omnipower/{SERIAL}/cmd/{name}"
    return json.dumps(data | {"sig": sign(topic, data, SECRET.encode())}).encode()


async def send(port: int, name: str, payload: bytes, *, retain: bool = False) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.publish(f"omnipower/{SERIAL}/cmd/{name}", payload, qos=1, retain=retain)


def finals(sub: Subscriber, command_id: str) -> list[dict[str, Any]]:
    out = []
    for message in sub.on(RESULT):
        result = json.loads(message.payload)
        if result["id"] == command_id and result["status"] in FINAL:
            out.append(result)
    return out


async def answer(sub: Subscriber, command_id: str) -> dict[str, Any]:
    """The final answer for *command_id*, after checking for a second one a moment later."""
    await sub.wait_for(
        lambda m: (
            m.topic.value == RESULT
            and json.loads(m.payload)["id"] == command_id
            and json.loads(m.payload)["status"] in FINAL
        ),
        within=30,
    )
    await asyncio.sleep(0.3)
    (result,) = finals(sub, command_id)  # exactly one
    return result


async def test_the_command_matrix_against_the_emulator(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    data = gateway_data(mosquitto, state, tmp_path)
    port = mosquitto.port
    async with emulator(tmp_path) as emulated, subscriber(port, RESULT) as sub:
        meter = emulated.meter
        async with gateway(data) as service:
            await send(port, "breaker", signed("breaker", body("off-1", action="disconnect")))
            first = await answer(sub, "off-1")
            assert first["status"] == "done", first
            assert meter.breaker.state is CouplingState.DISCONNECTED

            # A non-ASCII sig: rejected, answered once (it used to raise TypeError).
            tampered = body("sig-1", action="release") | {"sig": "é" * 64}
            await send(port, "breaker", json.dumps(tampered).encode())
            assert (await answer(sub, "sig-1"))["reason"] == "bad_signature"

            # A 400-digit integer (used to raise OverflowError) and relay 1.0 (used to pass
            # validation and fail as internal_error): both invalid_arguments, once.
            huge = body("huge-1", relay=10**400, on=True)
            await send(port, "relay", signed("relay", huge))
            assert (await answer(sub, "huge-1"))["reason"] == "invalid_arguments"
            await send(port, "relay", signed("relay", body("float-1", relay=1.0, on=True)))
            result = await answer(sub, "float-1")
            assert (result["status"], result["reason"]) == ("rejected", "invalid_arguments")
            assert not meter.relays.relay1

            # A live command with the retain flag under the default protocol (5): refused.
            retained = signed("breaker", body("ret-1", action="release"))
            await send(port, "breaker", retained, retain=True)
            result = await answer(sub, "ret-1")
            assert (result["status"], result["reason"]) == ("rejected", "retained")
            assert meter.breaker.state is CouplingState.DISCONNECTED
            # Each kind counted for the meter's diagnostics topic.
            assert service.command_counters(SERIAL) == {
                "done": 1,
                "rejected": 4,
                "rejected:bad_signature": 1,
                "rejected:invalid_arguments": 2,
                "rejected:retained": 1,
            }

        # The meter is switched back by hand while the gateway is down; then the same
        # command is replayed to a restarted gateway: it must not run again.
        meter.write_coupling(2)
        meter.write_coupling(3)
        assert meter.breaker.state is CouplingState.CONNECTED
        assert json.loads((state / "command_ids.json").read_text())["ids"]
        seen = len(sub.messages)
        async with gateway(data):
            await send(port, "breaker", signed("breaker", body("off-1", action="disconnect")))
            await sub.wait_for(
                lambda m: json.loads(m.payload)["id"] == "off-1", after=seen, within=30
            )
            await asyncio.sleep(0.3)
            replay = [json.loads(m.payload) for m in sub.messages[seen:]]
            assert [(r["status"], r["reason"]) for r in replay if r["id"] == "off-1"] == [
                ("rejected", "duplicate")
            ]
        assert meter.breaker.state is CouplingState.CONNECTED


def write_toml(path: Path, data: dict[str, Any]) -> None:
    optical = data["meters"][0]["optical"]
    path.write_text(
        f"""
[gateway]
id = "{data["gateway"]["id"]}"
state_dir = "{data["gateway"]["state_dir"]}"
timezone = "{data["gateway"]["timezone"]}"

[mqtt]
host = "127.0.0.1"
port = {data["mqtt"]["port"]}

[commands]
secret = "{SECRET}"

[[meters]]
name = "house"
serial = "{SERIAL}"
commands = {json.dumps(COMMANDS)}

[meters.optical]
port = "{optical["port"]}"
password = "{optical["password"]}"
poll_interval = {optical["poll_interval"]}
"""
    )
    path.chmod(0o600)


def start_gateway(config: Path, log: Any) -> subprocess.Popen[bytes]:
    """``omnipower gateway`` as its own process, running this tree's code (PYTHONPATH)."""
    return subprocess.Popen(
        [sys.executable, "-m", "ccc_gateway.cli", "gateway", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env=os.environ.copy(),
    )


async def test_sigterm_answers_five_queued_commands_then_says_offline(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = tmp_path / "gateway.toml"
    write_toml(config, gateway_data(mosquitto, tmp_path / "state", tmp_path))
    log = (tmp_path / "gateway.log").open("wb")
    bridge = "omnipower/bridge/matrix/state"
    ids = [f"q-{n}" for n in range(5)]
    async with emulator(tmp_path), subscriber(mosquitto.port, "omnipower/#") as sub:
        process = start_gateway(config, log)
        try:
            await sub.wait_for(
                lambda m: m.topic.value == bridge and m.payload == b"online", within=20
            )
            await asyncio.sleep(0.5)  # subscribed to cmd/+
            start = (datetime.now(UTC) - timedelta(days=1)).isoformat()
            async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
                for command_id in ids:  # each reads a day of load profile: seconds of work
                    data = body(command_id, **{"from": start})
                    await client.publish(
                        f"omnipower/{SERIAL}/cmd/read_load_profile",
                        signed("read_load_profile", data),
                        qos=1,
                    )
            for command_id in ids:
                await sub.wait_for(
                    lambda m, c=command_id: (
                        m.topic.value == RESULT
                        and json.loads(m.payload)["id"] == c
                        and json.loads(m.payload)["status"] == "accepted"
                    ),
                    within=20,
                )
            process.send_signal(signal.SIGTERM)
            await sub.wait_for(
                lambda m: m.topic.value == bridge and m.payload == b"offline", within=30
            )
            assert await asyncio.to_thread(process.wait, 30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
            log.close()
    topics = [m.topic.value for m in sub.messages]
    offline_at = max(i for i, m in enumerate(sub.messages) if m.payload == b"offline")
    answers: dict[str, list[str]] = {c: [] for c in ids}
    for index, message in enumerate(sub.messages):
        if message.topic.value == RESULT:
            result = json.loads(message.payload)
            if result["status"] in FINAL:
                assert index < offline_at, "an answer after offline"
                answers[result["id"]].append(f"{result['status']}:{result['reason']}")
    assert all(len(a) == 1 for a in answers.values()), answers
    outcomes = [a[0] for a in answers.values()]
    assert set(outcomes) <= {"done:None", "failed:shutdown"}, outcomes
    assert "failed:shutdown" in outcomes, outcomes  # some were still queued at SIGTERM
    assert topics[offline_at] == bridge
    assert all(m.topic.value != bridge for m in sub.messages[offline_at + 1 :])
