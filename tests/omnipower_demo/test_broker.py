"""The demo's embedded broker carries messages between real MQTT clients (aiomqtt)."""

from __future__ import annotations

import asyncio

import aiomqtt

from omnipower_demo.broker import EmbeddedBroker


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
