"""Broker failover end to end: emulated meters on ptys → gateway → two real Mosquittos.

The gateway lists both brokers (issue 16). One is frozen with a publication in flight and then
killed; the gateway moves to the other at once, sends the unacknowledged message again there,
and every register update the emulator put on the line reaches a subscriber (once, or twice
where QoS 1 repeated it: the check de-duplicates on meter, register and meter time, as a
back-end does). Two plain Mosquittos are not a cluster: a subscriber listens on each. And the
persistent session: commands sent while the gateway was away are handed over when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from ccc_gateway.config import BrokerEndpoint, MqttConfig, parse_config
from ccc_gateway.mqtt import Publisher, Topics
from ccc_gateway.mqtt.publisher import MessageHandler
from ccc_gateway.ports import Backoff
from ccc_gateway.service import Gateway
from tests.cluster import fleet
from tests.e2e.conftest import MOSQUITTO, Mosquitto, Subscriber, subscriber

pytestmark = pytest.mark.slow
FAST = Backoff(initial=0.05, maximum=0.3)
#: 20 simulated seconds per second: a push every 0.5 s.
SPEED = 20.0


@pytest.fixture
def brokers() -> Iterator[tuple[Mosquitto, Mosquitto]]:
    """Two Mosquittos on their own ports (not started: each test decides when)."""
    if not os.path.exists(MOSQUITTO):
        pytest.skip("mosquitto is not installed (apt-get install -y mosquitto)")
    directories = [Path(tempfile.mkdtemp(prefix="omnipower-mosquitto-")) for _ in range(2)]
    for directory in directories:
        directory.chmod(0o755)
    pair = (Mosquitto(directories[0]), Mosquitto(directories[1]))
    try:
        yield pair
    finally:
        for broker in pair:
            if broker.process is not None and broker.process.poll() is None:
                broker.process.send_signal(signal.SIGCONT)
            broker.stop()
        for directory in directories:
            shutil.rmtree(directory, ignore_errors=True)


def config(
    endpoints: list[Mosquitto], meters: list[fleet.EmulatedMeter], state: Path
) -> dict[str, Any]:
    return {
        "gateway": {"id": "failover", "state_dir": str(state), "timezone": fleet.ZONE.key},
        "mqtt": {"endpoints": [f"127.0.0.1:{broker.port}" for broker in endpoints]},
        "meters": [fleet.gateway_meter(m.serial, m.link_path) for m in meters],
    }


@contextlib.asynccontextmanager
async def gateway_running(data: dict[str, Any]) -> AsyncIterator[Gateway]:
    gateway = Gateway(parse_config(data), port_backoff=FAST, mqtt_backoff=FAST)
    task = asyncio.create_task(gateway.run())
    try:
        yield gateway
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(5):
                await task


async def eventually(condition: Any, *, within: float = 10.0) -> None:
    """Poll *condition* (gateway and emulator state have no event to wait on)."""
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"condition not met within {within} s")


def energy_updates(subscribers: list[Subscriber]) -> list[fleet.Update]:
    """Every (meter, register, ts) received on ``energy``, duplicates included."""
    out: list[fleet.Update] = []
    for sub in subscribers:
        for message in sub.on("omnipower/+/energy"):
            meter = str(message.topic).split("/")[1]
            payload = json.loads(message.payload)
            out += [(meter, key, payload["ts"]) for key in payload if key not in ("ts", "schema")]
    return out


def sent_updates(meters: list[fleet.EmulatedMeter]) -> dict[fleet.Update, Any]:
    return {
        update: value
        for meter in meters
        for update, value in fleet.register_updates(meter.serial, [f for _, f in meter.frames])
    }


async def test_node_killed_with_a_message_in_flight_loses_no_register_update(
    brokers: tuple[Mosquitto, Mosquitto], tmp_path: Path
) -> None:
    first, second = brokers
    first.start()
    second.start()
    meters = fleet.meters(tmp_path, 41000001, 2, SPEED)
    start = datetime.now(UTC).replace(microsecond=0)
    async with (
        subscriber(first.port, "omnipower/#") as on_first,
        subscriber(second.port, "omnipower/#") as on_second,
        fleet.running(meters, start),
        gateway_running(config([first, second], meters, tmp_path)) as gateway,
    ):
        # Tried in order: the first broker is the one in use.
        await eventually(lambda: len(on_first.on("omnipower/+/energy")) >= 4)
        assert gateway.publisher.endpoint == BrokerEndpoint("127.0.0.1", first.port)
        # Frozen, the broker takes the next publication into its socket but never acknowledges
        # it; killed, it takes it down with it. Only the gateway still has it.
        assert first.process is not None
        first.process.send_signal(signal.SIGSTOP)
        frozen_at = sum(len(m.frames) for m in meters)
        # Three pushes a meter: the one in flight is not the latest, so the state sent again
        # after a reconnect cannot stand in for it; only the requeue brings it.
        await eventually(lambda: sum(len(m.frames) for m in meters) >= frozen_at + 6)
        await asyncio.sleep(0.3)  # the gateway has read and sent them
        in_flight = {u for u in sent_updates(meters) if u not in set(energy_updates([on_first]))}
        first.process.kill()
        first.process.wait(5)
        await eventually(
            lambda: gateway.publisher.endpoint == BrokerEndpoint("127.0.0.1", second.port)
        )
        mark = sum(len(m.frames) for m in meters)
        await eventually(lambda: sum(len(m.frames) for m in meters) >= mark + 4)
        await fleet.quiesce(meters)
        sent = sent_updates(meters)
        await eventually(lambda: set(energy_updates([on_first, on_second])) >= set(sent))
        online = await on_second.wait_for(
            lambda m: m.topic.matches("omnipower/bridge/failover/state")
        )
    received = energy_updates([on_first, on_second])
    assert in_flight, "the frozen broker held register updates the gateway had sent"
    assert in_flight <= set(energy_updates([on_second])), "resent to the second broker"
    assert set(received) == set(sent), "nothing lost, nothing invented"
    assert len(received) - len(set(received)) <= 2 * len(in_flight), "at most one resend each"
    assert gateway.publisher.reconnects == 1
    assert online.payload == b"online"


async def test_first_endpoint_down_at_start_then_round_robin_back_to_it(
    brokers: tuple[Mosquitto, Mosquitto], tmp_path: Path
) -> None:
    first, second = brokers
    second.start()  # the preferred broker is down when the gateway starts
    meters = fleet.meters(tmp_path, 42000001, 1, SPEED)
    start = datetime.now(UTC).replace(microsecond=0)
    async with (
        subscriber(second.port, "omnipower/#") as on_second,
        fleet.running(meters, start),
        gateway_running(config([first, second], meters, tmp_path)) as gateway,
    ):
        await eventually(lambda: len(on_second.on("omnipower/+/energy")) >= 2)
        assert gateway.publisher.endpoint == BrokerEndpoint("127.0.0.1", second.port)
        first.start()
        second.stop()  # lost: the next in the list is the first one again
        await eventually(
            lambda: gateway.publisher.endpoint == BrokerEndpoint("127.0.0.1", first.port)
        )
        async with subscriber(first.port, "omnipower/#") as on_first:
            await eventually(lambda: len(on_first.on("omnipower/+/energy")) >= 2)
            retained_info = await on_first.wait_for(
                lambda m: m.topic.matches("omnipower/+/info") and bool(m.retain)
            )
    assert json.loads(retained_info.payload)["serial"] == "42000001"
    assert gateway.publisher.reconnects == 1


async def commands_across_a_restart(port: int, protocol: str, *, clean_start: bool) -> list[bytes]:
    """Connect a publisher with a command subscription, stop it, send a QoS 1 command while
    it is away, start a new one with the same client id: what reached its handler."""
    config = MqttConfig(
        host="127.0.0.1",
        port=port,
        protocol="5" if protocol == "5" else "3.1.1",
        clean_start=clean_start,
    )
    got: list[bytes] = []

    async def handle(message: aiomqtt.Message) -> None:
        got.append(bytes(message.payload))  # type: ignore[arg-type]

    for round_ in range(2):
        publisher = Publisher(
            config, Topics("omnipower", "s"), client_id=f"s-{clean_start}", backoff=FAST
        )
        publisher.add_handler(MessageHandler("omnipower/+/cmd/+", handle))
        task = asyncio.create_task(publisher.run())
        await eventually(lambda p=publisher: p.connected)
        if round_ == 1:
            await asyncio.sleep(0.3)  # what the broker kept arrives now
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if round_ == 0:
            async with aiomqtt.Client("127.0.0.1", port, identifier="sender") as sender:
                await sender.publish("omnipower/1/cmd/refresh", b"while away", qos=1)
    return got


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_persistent_session_keeps_commands_sent_while_the_gateway_was_away(
    brokers: tuple[Mosquitto, Mosquitto], protocol: str
) -> None:
    """Clean start off (the default): the broker queues QoS 1 messages for the command
    subscription while the gateway is gone and hands them over when it is back."""
    broker = brokers[0]
    broker.start()
    kept = await commands_across_a_restart(broker.port, protocol, clean_start=False)
    lost = await commands_across_a_restart(broker.port, protocol, clean_start=True)
    assert kept == [b"while away"]
    assert lost == [], "a clean start forgets the session: the control of this test"
