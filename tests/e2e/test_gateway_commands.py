"""Commands over a real Mosquitto: every rule of docs/mqtt.md, Commands, answered on cmd/result.

The meter side is the in-memory optical port of tests/ccc_gateway/optical/fake_port.py, standing
in for the DLMS adapter so these tests pin the MQTT and safety rules; the DLMS path itself runs
against the emulator in its own end-to-end test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
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
from tests.ccc_gateway.optical.fake_port import FakeMeter
from tests.e2e.conftest import Mosquitto, Subscriber, subscriber

pytestmark = pytest.mark.slow
FAST = Backoff(initial=0.05, maximum=0.3)
SERIAL = "27581522"
SECRET = "correct horse battery staple"


def config(
    broker: Mosquitto, state_dir: Path, *, secret: bool = False, protocol: str = "3.1.1"
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "gateway": {"id": "cmdtest", "state_dir": str(state_dir), "timezone": "Europe/Copenhagen"},
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "protocol": protocol},
        "meters": [
            {
                "name": "house",
                "serial": SERIAL,
                "optical": {"tcp": "127.0.0.1:1", "password": "12345", "poll_interval": 10},
                "commands": ["breaker", "tariff", "refresh"],
            }
        ],
    }
    if secret:
        data["commands"] = {"secret": SECRET}
    return data


@contextlib.asynccontextmanager
async def running(data: dict[str, Any], meter: FakeMeter) -> AsyncIterator[Gateway]:
    gateway = Gateway(
        parse_config(data),
        port_backoff=FAST,
        mqtt_backoff=FAST,
        optical_port_factory=lambda _: meter,
    )
    task = asyncio.create_task(gateway.run())
    try:
        yield gateway
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(5):
                await task


def body(command_id: str, seconds: float = 30, **args: Any) -> dict[str, Any]:
    expires = datetime.now(UTC) + timedelta(seconds=seconds)
    return {"id": command_id, "expires_at": expires.isoformat(), "args": args}


async def send(
    port: int, name: str, data: dict[str, Any], *, retain: bool = False, raw: bytes | None = None
) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        topic = f"omnipower/{SERIAL}/cmd/{name}"
        await client.publish(
            topic, raw if raw is not None else json.dumps(data), qos=1, retain=retain
        )


async def final_result(sub: Subscriber, command_id: str | None, after: int = 0) -> dict[str, Any]:
    message = await sub.wait_for(
        lambda m: (
            m.topic.value.endswith("cmd/result")
            and json.loads(m.payload)["id"] == command_id
            and json.loads(m.payload)["status"] != "accepted"
        ),
        after=after,
    )
    result: dict[str, Any] = json.loads(message.payload)
    return result


async def test_breaker_command_runs_once_and_is_confirmed(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    meter = FakeMeter(datetime.now().replace(microsecond=0))
    async with (
        subscriber(mosquitto.port, f"omnipower/{SERIAL}/#") as sub,
        running(config(mosquitto, tmp_path), meter),
    ):
        info = await sub.wait_for(lambda m: m.topic.value.endswith("/info"))
        capabilities = json.loads(info.payload)["capabilities"]
        assert capabilities["breaker"] is True
        assert capabilities["commands"] == ["breaker", "refresh", "tariff"]
        await sub.wait_for(lambda m: m.topic.value == f"omnipower/{SERIAL}/breaker")

        await send(mosquitto.port, "breaker", body("off-1", action="disconnect"))
        result = await final_result(sub, "off-1")
        assert (result["status"], result["state"]["state"]) == ("done", "disconnected")
        statuses = [
            json.loads(m.payload)["status"] for m in sub.on(f"omnipower/{SERIAL}/cmd/result")
        ]
        assert statuses == ["accepted", "done"]
        event = json.loads(
            (await sub.wait_for(lambda m: m.topic.value.endswith("/events"))).payload
        )
        assert (event["type"], event["to"], event["command_id"]) == (
            "breaker_changed",
            "disconnected",
            "off-1",
        )
        breaker = await sub.wait_for(
            lambda m: (
                m.topic.value == f"omnipower/{SERIAL}/breaker"
                and json.loads(m.payload)["state"] == "disconnected"
            )
        )
        assert breaker.retain is False  # live delivery; the broker keeps it retained

        # The same id again: rejected, the meter untouched.
        seen = len(sub.messages)
        await send(mosquitto.port, "breaker", body("off-1", action="disconnect"))
        result = await final_result(sub, "off-1", after=seen)
        assert (result["status"], result["reason"]) == ("rejected", "duplicate")
        assert meter.writes == [("coupling_state", 1)]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("retained", "retained"),
        ("expired", "expired"),
        ("malformed", "malformed"),
        ("not_allowed", "not_allowed"),
        ("invalid", "invalid_arguments"),
        ("unsigned", "unsigned"),
        ("bad_signature", "bad_signature"),
    ],
)
async def test_unsafe_commands_are_rejected_and_never_reach_the_meter(
    mosquitto: Mosquitto, tmp_path: Path, case: str, reason: str
) -> None:
    meter = FakeMeter(datetime.now().replace(microsecond=0))
    secret = case in ("unsigned", "bad_signature")
    async with (
        subscriber(mosquitto.port, f"omnipower/{SERIAL}/cmd/result") as sub,
        # Only MQTT 5 (retain-as-published) shows a live subscriber the sender's retain flag.
        running(
            config(
                mosquitto, tmp_path, secret=secret, protocol="5" if case == "retained" else "3.1.1"
            ),
            meter,
        ),
    ):
        await asyncio.sleep(0.3)  # subscribed
        name, data, retain, raw = "breaker", body(case, action="disconnect"), False, None
        if case == "retained":
            retain = True
        elif case == "expired":
            data = body(case, seconds=-1, action="disconnect")
        elif case == "malformed":
            raw = b"{not json"
        elif case == "not_allowed":
            name, data = "relay", body(case, relay=1, on=True)
        elif case == "invalid":
            data = body(case, action="explode")
        elif case == "bad_signature":
            data["sig"] = sign(f"omnipower/{SERIAL}/cmd/breaker", data, b"another secret")
        await send(mosquitto.port, name, data, retain=retain, raw=raw)
        result = await final_result(sub, None if case == "malformed" else case)
        assert result["reason"] == reason
        assert result["status"] in ("rejected", "expired")
        await asyncio.sleep(0.2)
        assert meter.writes == []


async def test_a_signed_command_runs(mosquitto: Mosquitto, tmp_path: Path) -> None:
    meter = FakeMeter(datetime.now().replace(microsecond=0))
    async with (
        subscriber(mosquitto.port, f"omnipower/{SERIAL}/cmd/result") as sub,
        running(config(mosquitto, tmp_path, secret=True), meter),
    ):
        await asyncio.sleep(0.3)
        data = body("t-1", mode="force", tariff=3)
        data["sig"] = sign(f"omnipower/{SERIAL}/cmd/tariff", data, SECRET.encode())
        await send(mosquitto.port, "tariff", data)
        result = await final_result(sub, "t-1")
        assert (result["status"], result["state"]["active_tariff"]) == ("done", 3)
        assert meter.writes == [("actual_tariff", 3)]


async def test_a_retained_command_waiting_on_the_broker_never_runs_at_start(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    meter = FakeMeter(datetime.now().replace(microsecond=0))
    await send(mosquitto.port, "breaker", body("stale", action="disconnect"), retain=True)
    async with (
        subscriber(mosquitto.port, f"omnipower/{SERIAL}/cmd/result") as sub,
        running(config(mosquitto, tmp_path), meter),
    ):
        result = await final_result(sub, "stale")
        assert (result["status"], result["reason"]) == ("rejected", "retained")
        assert meter.writes == []
    # The gateway deleted the stale command on the broker: a new subscriber gets nothing.
    async with subscriber(mosquitto.port, f"omnipower/{SERIAL}/cmd/breaker") as late:
        await asyncio.sleep(0.5)
        assert late.messages == []


async def test_broker_restart_neither_repeats_nor_revives_a_command(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    meter = FakeMeter(datetime.now().replace(microsecond=0))
    async with running(config(mosquitto, tmp_path), meter) as gateway:
        async with subscriber(mosquitto.port, f"omnipower/{SERIAL}/cmd/result") as sub:
            await asyncio.sleep(0.3)
            await send(mosquitto.port, "breaker", body("once", action="disconnect"))
            assert (await final_result(sub, "once"))["status"] == "done"
        mosquitto.stop()
        await asyncio.sleep(0.5)
        mosquitto.start()
        for _ in range(100):  # the gateway reconnects with its backoff
            if gateway.publisher.connected:
                break
            await asyncio.sleep(0.05)
        assert gateway.publisher.connected
        async with subscriber(mosquitto.port, f"omnipower/{SERIAL}/cmd/result") as sub:
            await asyncio.sleep(0.3)
            await send(mosquitto.port, "breaker", body("once", action="disconnect"))
            result = await final_result(sub, "once")
            assert (result["status"], result["reason"]) == ("rejected", "duplicate")
    assert meter.writes == [("coupling_state", 1)]
