"""Event entities fire once per gateway event, with its fields as attributes."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.const import STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from .conftest import publish

SERIAL = "31415926"
pytestmark = pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])


@pytest.fixture
def platforms() -> list[Platform]:
    """Only events."""
    return [Platform.EVENT]


def event(event_id: str, event_type: str, **fields: Any) -> dict[str, Any]:
    """An event payload as the gateway publishes it."""
    return {
        "ts": "2026-11-26T12:15:03+01:00",
        "schema": 1,
        "id": event_id,
        "type": event_type,
        **fields,
    }


async def test_events(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """A meter with an optical port and every capability has all five event entities."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


@pytest.mark.parametrize(
    ("payload", "entity", "event_type", "attribute"),
    [
        (
            event("e1", "tariff_changed", **{"from": 1, "to": 2, "source": "calendar"}),
            "tariff_change",
            "tariff_changed",
            ("to", 2),
        ),
        (
            event("e2", "breaker_changed", **{"from": "connected", "to": "disconnected"}),
            "breaker_change",
            "breaker_changed",
            ("to", "disconnected"),
        ),
        (
            event("e3", "tamper", kind="cover", active=True),
            "tamper",
            "cover_opened",
            ("kind", "cover"),
        ),
        (
            event("e4", "tamper", kind="magnet", active=False),
            "tamper",
            "magnet_removed",
            ("active", False),
        ),
        (
            event("e5", "voltage_sag", phase=1, duration_s=0.4, voltage_v=182.0),
            "voltage_event",
            "voltage_sag",
            ("voltage_v", 182.0),
        ),
        (
            event("e6", "power_failure", started="2026-11-26T11:00:00+01:00", ended=None),
            "power_failure_event",  # issue 12: no longer named like the binary sensor
            "power_failure_started",
            ("ended", None),
        ),
        (
            event(
                "e7",
                "power_failure",
                started="2026-11-26T11:00:00+01:00",
                ended="2026-11-26T11:05:00+01:00",
                duration_s=300,
            ),
            "power_failure_event",
            "power_failure_ended",
            ("duration_s", 300),
        ),
    ],
    ids=["tariff", "breaker", "cover", "magnet", "sag", "failure_start", "failure_end"],
)
async def test_event_fires(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    payload: dict[str, Any],
    entity: str,
    event_type: str,
    attribute: tuple[str, Any],
) -> None:
    """The event type and the payload's fields reach the entity; a resend is dropped."""
    entity_id = f"event.omnipower_{SERIAL}_{entity}"
    assert hass.states.get(entity_id).state == STATE_UNKNOWN
    publish(hass, SERIAL, "events", payload)
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state.attributes["event_type"] == event_type
    assert state.attributes[attribute[0]] == attribute[1]
    assert state.attributes["meter_time"] == "2026-11-26T12:15:03+01:00"
    fired_at = state.state
    publish(hass, SERIAL, "events", payload)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == fired_at


async def test_unknown_or_foreign_events_fire_nothing(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An event type no entity handles, or with bad fields, changes nothing."""
    publish(hass, SERIAL, "events", event("x1", "low_credit", credit_kwh=2.0))
    publish(hass, SERIAL, "events", event("x2", "tamper", kind="laser", active=True))
    publish(hass, SERIAL, "events", {"schema": 1, "id": "x3"})
    await hass.async_block_till_done()
    assert hass.states.get(f"event.omnipower_{SERIAL}_tamper").state == STATE_UNKNOWN
    assert init_integration.runtime_data.data.last_events["low_credit"]["credit_kwh"] == 2.0
