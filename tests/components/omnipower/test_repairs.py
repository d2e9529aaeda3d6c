"""Repair issues: wrong or swapped keys, a gateway offline for long, a drifting clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)

from custom_components.omnipower.const import DOMAIN

from .conftest import BRIDGE, Payloads, publish

SERIAL = "57061234"


def failing(payloads: Payloads, code: str, last_push: str | None) -> dict[str, Any]:
    """Diagnostics after a key failure at 12:01, with the last good push at *last_push*."""
    return {
        **payloads["diagnostics"],
        "errors": {code: 3},
        "last_error": {
            "code": code,
            "text": "GCM tag does not verify",
            "hint": "Check the keys",
            "at": "2026-11-26T12:01:00+01:00",
        },
        "last_push": last_push,
    }


@pytest.mark.parametrize(
    ("code", "translation_key"),
    [
        ("authentication_failed", "keys_wrong"),
        ("keys_swapped", "keys_swapped"),
        ("missing_key", "keys_wrong"),
    ],
)
async def test_key_issue_raised_and_cleared(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    init_integration: MockConfigEntry,
    payloads: Payloads,
    code: str,
    translation_key: str,
) -> None:
    """A key failure newer than the last good push is an issue until a push decodes."""
    publish(hass, SERIAL, "diagnostics", failing(payloads, code, "2026-11-26T12:00:50+01:00"))
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, f"keys_{SERIAL}")
    assert issue is not None
    assert issue.translation_key == translation_key
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {"serial": SERIAL, "code": code}
    publish(hass, SERIAL, "diagnostics", failing(payloads, code, "2026-11-26T12:01:10+01:00"))
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, f"keys_{SERIAL}") is None


async def test_key_issue_without_any_push(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    init_integration: MockConfigEntry,
    payloads: Payloads,
) -> None:
    """Wrong keys from the start (no push ever decoded) are an issue too."""
    publish(hass, SERIAL, "diagnostics", failing(payloads, "keys_swapped", None))
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, f"keys_{SERIAL}") is not None


async def test_other_errors_raise_no_issue(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    init_integration: MockConfigEntry,
    payloads: Payloads,
) -> None:
    """Line noise is a counter, not something the user must repair."""
    publish(hass, SERIAL, "diagnostics", failing(payloads, "fcs_error", None))
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, f"keys_{SERIAL}") is None


async def test_gateway_offline_issue(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
    init_integration: MockConfigEntry,
) -> None:
    """An hour offline raises the issue; the gateway's return clears it."""
    async_fire_mqtt_message(hass, BRIDGE, "offline")
    await hass.async_block_till_done()
    freezer.tick(timedelta(minutes=59))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, f"gateway_offline_{SERIAL}") is None
    freezer.tick(timedelta(minutes=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, f"gateway_offline_{SERIAL}")
    assert issue is not None
    assert issue.translation_placeholders == {"serial": SERIAL, "gateway": "omnipower"}
    async_fire_mqtt_message(hass, BRIDGE, "online")
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, f"gateway_offline_{SERIAL}") is None


async def test_short_outage_raises_no_issue(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
    init_integration: MockConfigEntry,
) -> None:
    """A gateway back within the hour leaves no issue behind, even an hour later."""
    async_fire_mqtt_message(hass, BRIDGE, "offline")
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, BRIDGE, "online")
    await hass.async_block_till_done()
    freezer.tick(timedelta(hours=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, f"gateway_offline_{SERIAL}") is None


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_clock_drift_issue(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    init_integration: MockConfigEntry,
    payloads: Payloads,
) -> None:
    """More than 60 s of drift is an issue; back within 60 s clears it."""
    issue_id = "clock_drift_31415926"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    publish(hass, "31415926", "clock", {**payloads["clock"], "drift_s": -75.4})
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {"serial": "31415926", "drift": "-75"}
    publish(hass, "31415926", "clock", {**payloads["clock"], "drift_s": 60})
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_issues_removed_with_the_meter(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    init_integration: MockConfigEntry,
    payloads: Payloads,
) -> None:
    """Removing the entry removes its issues."""
    publish(hass, SERIAL, "diagnostics", failing(payloads, "keys_swapped", None))
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, f"keys_{SERIAL}") is not None
    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, f"keys_{SERIAL}") is None


async def test_scaler_mismatch_issue(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    init_integration: MockConfigEntry,
    payloads: Payloads,
) -> None:
    """The gateway's scaler_mismatch on diagnostics is a repair; an empty list clears it."""
    issue_id = f"scaler_mismatch_{SERIAL}"
    mismatch = {"quantity": "energy", "push_scaler": 0, "meter_scaler": 1, "configured": False}
    publish(hass, SERIAL, "diagnostics", {**payloads["diagnostics"], "scaler_mismatch": [mismatch]})
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "scaler_mismatch"
    assert issue.translation_placeholders == {
        "serial": SERIAL,
        "quantity": "energy",
        "push_scaler": "0",
        "meter_scaler": "1",
    }
    publish(hass, SERIAL, "diagnostics", {**payloads["diagnostics"], "scaler_mismatch": []})
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
