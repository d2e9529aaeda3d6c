"""The gateway end to end: pty → gateway → real Mosquitto → an aiomqtt subscriber.

Frames are the published Radius push re-encrypted with rising invocation counters (its keys are
public), written into a pseudo-terminal; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from ccc_gateway.config import parse_config
from ccc_gateway.ports import Backoff
from ccc_gateway.service import Gateway
from tests.e2e.conftest import Mosquitto, PtyMeter, subscriber
from tests.e2e.frames import RADIUS_KEYS, RADIUS_SERIAL, radius_push
from tests.vectors import RADIUS, vectors

pytestmark = pytest.mark.slow
FAST = Backoff(initial=0.05, maximum=0.3)


def gateway_config(
    broker: Mosquitto, port: Path, state_dir: Path, *, keys: tuple[bytes, bytes] | None = None
) -> dict[str, Any]:
    ek, ak = keys or (RADIUS_KEYS.encryption_key, RADIUS_KEYS.authentication_key or b"")
    return {
        "gateway": {"id": "test", "state_dir": str(state_dir), "timezone": "Europe/Copenhagen"},
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "base_topic": "omnipower"},
        "meters": [
            {
                "name": "radius",
                "encryption_key": ek.hex(),
                "authentication_key": ak.hex(),
                "ccc": {"port": str(port)},
            }
        ],
    }


@contextlib.asynccontextmanager
async def running(config: dict[str, Any]) -> AsyncIterator[Gateway]:
    gateway = Gateway(parse_config(config), port_backoff=FAST, mqtt_backoff=FAST)
    task = asyncio.create_task(gateway.run())
    try:
        yield gateway
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(5):
                await task


def payload(message: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(message.payload)
    return result


def topic(name: str) -> str:
    return f"omnipower/{RADIUS_SERIAL}/{name}"


async def eventually(condition: Callable[[], bool], *, within: float = 5.0) -> None:
    """Poll *condition* (gateway state has no event to wait on) until true or time is up."""
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"condition not met within {within} s")


async def port_open(gateway: Gateway) -> None:
    await eventually(lambda: gateway.channels[0].view.ports["ccc"].state.value == "open")


async def test_readings_arrive_within_one_push_and_equal_the_frame(
    mosquitto: Mosquitto, pty_meter: PtyMeter, tmp_path: Path
) -> None:
    expected = vectors()[RADIUS]["expected"]
    async with (
        subscriber(mosquitto.port, "omnipower/#") as sub,
        running(gateway_config(mosquitto, pty_meter.link, tmp_path)) as gateway,
    ):
        await port_open(gateway)
        push = radius_push(0)
        await pty_meter.send(push.frame)
        power = payload(await sub.wait_for(lambda m: m.topic.matches(topic("power")), within=5))
        energy_msg = await sub.wait_for(lambda m: m.topic.matches(topic("energy")), within=5)
        energy = payload(energy_msg)
        # A consumer that subscribes later gets the retained state at once.
        async with subscriber(mosquitto.port, "omnipower/#") as late:
            online = await late.wait_for(lambda m: m.topic.matches("omnipower/bridge/test/state"))
            retained = await late.wait_for(lambda m: m.topic.matches(topic("energy")))
            await late.wait_for(lambda m: m.topic.matches(topic("info")))
        assert not late.on(topic("power")), "power is never retained"
    assert online.payload == b"online"
    assert online.retain
    assert retained.retain
    assert retained.payload == energy_msg.payload
    assert power["active_power_import_w"] == push.active_power_w
    assert power["voltage_l1_v"] == expected["1.1.32.7.0.255"]["value"]
    assert power["voltage_l2_v"] == expected["1.1.52.7.0.255"]["value"]
    assert power["ts"] == "2020-01-07T14:47:20+01:00"
    assert power["schema"] == 1
    assert energy["active_energy_import_kwh"] == expected["1.1.1.8.0.255"]["value"] / 1000
