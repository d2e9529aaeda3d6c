"""Helpers for controls that send commands: what went out, and the gateway's answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.typing import MqttMockHAClient
from syrupy.assertion import SnapshotAssertion

from .conftest import publish

#: The prepayment meter, the only fixture whose gateway allows commands.
SERIAL = "31415926"


def sent(mqtt_mock: MqttMockHAClient) -> list[tuple[str, dict[str, Any], int, bool]]:
    """Every command published: topic, body, QoS, retain."""
    return [
        (call.args[0], json.loads(call.args[1]), call.args[2], call.args[3])
        for call in mqtt_mock.async_publish.call_args_list
        if "/cmd/" in call.args[0]
    ]


async def commands_sent(mqtt_mock: MqttMockHAClient, count: int) -> None:
    """Let the loop run until *count* commands are out.

    Not ``async_block_till_done``: it would wait for the service call, which waits for us.
    """
    for _ in range(100):
        if len(sent(mqtt_mock)) >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{count} commands expected, {len(sent(mqtt_mock))} sent")


async def started(
    mqtt_mock: MqttMockHAClient, call: Awaitable[Any], count: int = 1
) -> asyncio.Future[Any]:
    """Start a blocking service call and let it publish its command."""
    task = asyncio.ensure_future(call)
    await commands_sent(mqtt_mock, count)
    assert not task.done()
    return task


def answer(
    hass: HomeAssistant, body: dict[str, Any], status: str, command: str = "breaker", **extra: Any
) -> None:
    """The gateway's result for a command."""
    publish(
        hass,
        SERIAL,
        "cmd/result",
        {
            "ts": "2026-11-26T12:00:00+01:00",
            "schema": 1,
            "id": body["id"],
            "command": command,
            "status": status,
            "reason": None,
            "text": None,
            "state": None,
            **extra,
        },
    )


def snapshot_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    config_entry_id: str,
) -> None:
    """Like ``snapshot_platform``, but a meter without these controls snapshots an empty list.

    The HAN-only fixtures allow no commands, so having no entity at all is their result.
    """
    entries = er.async_entries_for_config_entry(entity_registry, config_entry_id)
    assert sorted(entry.entity_id for entry in entries) == snapshot(name="entity_ids")
    for entry in entries:
        assert entry == snapshot(name=f"{entry.entity_id}-entry")
        state = hass.states.get(entry.entity_id)
        assert state == snapshot(name=f"{entry.entity_id}-state")
