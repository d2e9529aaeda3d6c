"""MQTT 5 by default, 3.1.1 only when the broker refuses 5, and a clean stop ends with offline.

Real brokers: Mosquitto (speaks 5) and the embedded amqtt broker (3.1.1 only, it refuses a
protocol-5 CONNECT), both on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiomqtt
import pytest

from ccc_gateway.config import MqttConfig
from ccc_gateway.mqtt import Delivery, Message, Publisher, Topics
from ccc_gateway.mqtt.publisher import MessageHandler
from ccc_gateway.ports import Backoff
from omnipower_demo.broker import EmbeddedBroker
from tests.e2e.conftest import Mosquitto, subscriber

FAST = Backoff(initial=0.05, maximum=0.3)
TOPICS = Topics("omnipower", "gw")


async def ignore(_: aiomqtt.Message) -> None:
    return None


@contextlib.asynccontextmanager
async def running(publisher: Publisher) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(publisher.run())
    try:
        for _ in range(200):
            if publisher.connected:
                break
            await asyncio.sleep(0.02)
        assert publisher.connected
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def publisher(port: int, *, publish_timeout: float = 10.0) -> Publisher:
    config = MqttConfig(host="127.0.0.1", port=port, publish_timeout=publish_timeout)
    p = Publisher(config, TOPICS, client_id="gw", backoff=FAST)
    p.add_handler(MessageHandler("omnipower/+/cmd/+", ignore))
    return p


async def test_protocol_5_is_the_default_and_used_where_the_broker_speaks_it(
    mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    assert MqttConfig().protocol == "5"
    p = publisher(mosquitto.port)
    async with running(p):
        assert p.protocol == "5"
    assert "falling back" not in caplog.text


async def test_a_broker_that_cannot_do_5_gets_3_1_1_and_one_warning_with_the_cost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """amqtt breaks off a protocol-5 CONNECT that carries a will: no CONNACK, then 3.1.1 works."""
    caplog.set_level(logging.WARNING, logger="ccc_gateway.mqtt.publisher")
    # amqtt explicitly: the demo's broker is Mosquitto when that is installed.
    async with EmbeddedBroker(mosquitto=None) as broker:
        p = publisher(broker.port, publish_timeout=1.0)
        async with running(p):
            assert p.protocol == "3.1.1"
    warnings = [r for r in caplog.records if r.name == "ccc_gateway.mqtt.publisher"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    text = warnings[0].getMessage()
    assert "falling back to 3.1.1" in text
    assert "retain flag" in text
    assert "runs like any other" in text


async def test_close_sends_the_queue_then_offline_last(mosquitto: Mosquitto) -> None:
    p = publisher(mosquitto.port)
    async with subscriber(mosquitto.port, "omnipower/#") as sub:
        task = asyncio.create_task(p.run())
        await sub.wait_for(lambda m: m.payload == b"online")
        for n in range(5):
            p.put(Message(f"omnipower/1/cmd/result/{n}", b"answer", Delivery.EVENT))
        await p.close()
        await asyncio.wait_for(task, 5)  # run() returns by itself
        await sub.wait_for(lambda m: m.payload == b"offline")
        await asyncio.sleep(0.2)
    payloads = [m.payload for m in sub.messages if m.payload in (b"answer", b"offline")]
    assert payloads == [b"answer"] * 5 + [b"offline"]
