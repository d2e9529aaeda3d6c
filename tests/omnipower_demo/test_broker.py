"""The demo's embedded broker carries messages between real MQTT clients (aiomqtt)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import aiomqtt
import pytest

from omnipower_demo.broker import EmbeddedBroker, find_mosquitto, pick_port

needs_mosquitto = pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto not installed")


async def test_publish_and_subscribe_through_the_embedded_broker() -> None:
    async with (
        EmbeddedBroker() as broker,
        aiomqtt.Client(broker.host, broker.port) as subscriber,
        aiomqtt.Client(broker.host, broker.port) as publisher,
    ):
        await subscriber.subscribe("omnipower/#")
        await publisher.publish("omnipower/12345678/power", b'{"schema": 1}', qos=1)
        message = await asyncio.wait_for(anext(aiter(subscriber.messages)), timeout=5)
    assert message.topic.value == "omnipower/12345678/power"
    assert message.payload == b'{"schema": 1}'


# -- what the demo's broker must get right (issue 14): Mosquitto when installed ----------------


async def _retained_then_subscribe(
    broker: EmbeddedBroker, topic_filter: str, **client: Any
) -> list[tuple[str, bool]]:
    async with aiomqtt.Client(broker.host, broker.port) as publisher:
        for meter in ("11111111", "22222222"):
            await publisher.publish(f"omnipower/{meter}/breaker", b"{}", qos=1, retain=True)
            await publisher.publish(f"omnipower/{meter}/energy", b"{}", qos=1, retain=True)
    received: list[tuple[str, bool]] = []
    async with aiomqtt.Client(broker.host, broker.port, **client) as subscriber:
        await subscriber.subscribe(topic_filter, qos=1)
        # Everything retained arrives at once; a second later, whatever came is all there is.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                async for message in subscriber.messages:
                    received.append((message.topic.value, bool(message.retain)))
    return received


@needs_mosquitto
async def test_mosquitto_is_the_demo_broker_when_installed() -> None:
    async with EmbeddedBroker(port=pick_port(ports=range(18830, 18900))) as broker:
        assert broker.kind == "mosquitto"
        received = await _retained_then_subscribe(broker, "omnipower/+/breaker")
    # Each retained message once, and only the topics the wildcard matches.
    assert sorted(received) == [
        ("omnipower/11111111/breaker", True),
        ("omnipower/22222222/breaker", True),
    ]


@needs_mosquitto
async def test_an_mqtt5_subscriber_is_answered() -> None:
    async with EmbeddedBroker(port=pick_port(ports=range(18830, 18900))) as broker:
        received = await _retained_then_subscribe(
            broker, "omnipower/#", protocol=aiomqtt.ProtocolVersion.V5
        )
    assert len(received) == 4


async def test_amqtt_is_the_fallback_without_mosquitto() -> None:
    async with EmbeddedBroker(mosquitto=None) as broker:
        assert broker.kind == "amqtt"
        async with (
            aiomqtt.Client(broker.host, broker.port) as subscriber,
            aiomqtt.Client(broker.host, broker.port) as publisher,
        ):
            await subscriber.subscribe("omnipower/#")
            await publisher.publish("omnipower/1/power", b"{}", qos=1)
            message = await asyncio.wait_for(anext(aiter(subscriber.messages)), timeout=5)
    assert message.topic.value == "omnipower/1/power"


def test_the_port_is_1883_when_free_else_the_next_free_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        busy = taken.getsockname()[1]
        taken.listen()
        assert pick_port(ports=range(busy, busy + 1)) != busy  # all taken: any free port
        assert pick_port(ports=range(busy, busy + 50)) in range(busy + 1, busy + 50)
    assert pick_port(ports=range(busy, busy + 1)) == busy  # freed: the fixed one again
