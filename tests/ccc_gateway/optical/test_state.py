"""Optical reads become exactly the contract's payloads, and changes become typed events."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ccc_gateway.optical.state import (
    EventTracker,
    breaker_name,
    clock_payload,
    state_payloads,
)

jsonschema = pytest.importorskip("jsonschema")

SCHEMAS = Path(__file__).parents[3] / "docs" / "schemas"
ZONE = ZoneInfo("Europe/Copenhagen")
T0 = datetime(2026, 11, 26, 12, 15, tzinfo=ZONE)

FULL: dict[str, Any] = {
    "coupling_state": 4,
    "coupling_mode": 0,
    "cutoff_basis": 0x02,
    "coupling_feedback": 0x19,  # L1 voltage, valid, communication OK
    "actual_tariff": 2,
    "relay_1": 0,
    "relay_2": 1,
    "prepayment_credit": 42.5,
    "prepayment_alarm_limit": 10,
    "prepayment_exception_credit": 0,
    "prepayment_last_top_up": 100,
    "prepayment_exception_start": None,
    "prepayment_exception_end": None,
    "meter_status": 0,
    "event_status_a": 0,
    "voltage_thd_l1": 2.1,
    "current_thd_l1": 14.5,
    "voltage_sag_count_l1": 3,
    "voltage_swell_count_l1": 0,
    "frequency": 50.01,
    "power_factor": 0.97,
}


def validate(topic: str, payload: dict[str, Any]) -> None:
    schema = json.loads((SCHEMAS / f"{topic}.schema.json").read_text())
    jsonschema.validate(payload, schema)


def test_a_full_poll_builds_every_state_topic_within_the_contract() -> None:
    payloads = state_payloads(FULL, T0)
    assert sorted(payloads) == [
        "breaker", "prepayment", "quality", "relays", "status", "tariff"
    ]  # fmt: skip
    for topic, payload in payloads.items():
        validate(topic, payload)
    breaker = payloads["breaker"]
    assert (breaker["state"], breaker["coupling_mode"]) == ("connected", "manual")
    assert breaker["cutoff_basis"] == ["prepayment"]
    assert breaker["feedback"]["voltage_l1"] is True
    assert breaker["feedback"]["switch_error"] is False
    assert payloads["prepayment"]["enabled"] is True
    assert payloads["prepayment"]["low_credit"] is False
    assert (payloads["relays"]["relay_1_on"], payloads["relays"]["relay_2_on"]) == (False, True)
    assert payloads["quality"]["voltage_thd_l1_pct"] == 2.1
    assert payloads["status"]["power_failure"] is False


def test_missing_objects_mean_missing_topics_never_defaults() -> None:
    payloads = state_payloads({"coupling_state": 1}, T0)
    assert list(payloads) == ["breaker"]
    assert payloads["breaker"] == {
        "ts": T0.isoformat(),
        "schema": 1,
        "state": "disconnected",
        "coupling_state": 1,
    }
    assert state_payloads({"actual_tariff": 0}, T0) == {}  # not a tariff: not published


@pytest.mark.parametrize(
    ("raw", "name"),
    [(1, "disconnected"), (4, "connected"), (7, "cutoff_prepayment"), (8, "ready_for_reconnection"),
     (14, "overvoltage"), (2, "unknown"), (200, "unknown")],
)  # fmt: skip
def test_breaker_names(raw: int, name: str) -> None:
    assert breaker_name(raw) == name
    payload = state_payloads({"coupling_state": raw}, T0)["breaker"]
    validate("breaker", payload)


def test_clock_drift_is_positive_when_the_meter_is_ahead() -> None:
    reference = T0 - timedelta(seconds=47.4)
    payload = clock_payload(T0, reference, dst=False)
    validate("clock", payload)
    assert payload["drift_s"] == 47.4


def test_first_poll_is_a_baseline_then_changes_are_events() -> None:
    tracker = EventTracker("27581522", start=1764155760)
    assert tracker.update(state_payloads(FULL, T0)) == []
    later = T0 + timedelta(minutes=1)
    changed = FULL | {
        "actual_tariff": 3,
        "coupling_state": 1,
        "meter_status": 0x40,
        "prepayment_credit": 9.5,
        "coupling_feedback": 0x18,  # valid, but no voltage on L1
    }
    events = tracker.update(state_payloads(changed, later), command_id="c-7")
    for event in events:
        validate("events", event)
    by_type = {event["type"]: event for event in events}
    assert (by_type["tariff_changed"]["from"], by_type["tariff_changed"]["to"]) == (2, 3)
    assert by_type["breaker_changed"]["from"] == "connected"
    assert by_type["breaker_changed"]["to"] == "disconnected"
    assert by_type["breaker_changed"]["command_id"] == "c-7"
    assert (by_type["tamper"]["kind"], by_type["tamper"]["active"]) == ("cover", True)
    assert by_type["low_credit"]["credit_kwh"] == 9.5
    assert by_type["power_failure"]["ended"] is None
    assert len({event["id"] for event in events}) == len(events) == 5

    back = later + timedelta(seconds=90)
    events = tracker.update(state_payloads(changed | {"coupling_feedback": 0x19}, back))
    assert [e["type"] for e in events] == ["power_failure"]
    validate("events", events[0])
    assert events[0]["duration_s"] == 90.0
    assert events[0]["started"] == later.isoformat()


def test_an_unchanged_poll_is_silent() -> None:
    tracker = EventTracker("1", start=0)
    tracker.update(state_payloads(FULL, T0))
    assert tracker.update(state_payloads(FULL, T0 + timedelta(minutes=5))) == []


def test_prepayment_enabled_is_the_meters_state_not_the_cutoff_basis() -> None:
    credit = {"prepayment_credit": 4.0, "prepayment_alarm_limit": 5.0}
    without_basis = state_payloads({**credit, "coupling_state": 4, "cutoff_basis": 0}, T0)
    assert without_basis["prepayment"]["enabled"] is True
    assert without_basis["prepayment"]["low_credit"] is True
    # A meter whose prepayment is off does not answer A14_Prepayment: nothing to say "enabled"
    # about, whatever its cut-off basis holds.
    disabled = state_payloads({"coupling_state": 4, "cutoff_basis": 0x02}, T0)
    assert "prepayment" not in disabled


@pytest.mark.parametrize(
    ("raw", "source"), [(0, "calendar"), (1, "calendar"), (2, "input"), (3, "forced")]
)
def test_tariff_source_is_the_meters_not_the_gateways_memory(raw: int, source: str) -> None:
    payloads = state_payloads(
        {"actual_tariff": 2, "tariff_source": raw, "tariff_inputs": 2}, T0, tariff_source="forced"
    )
    assert payloads["tariff"]["source"] == source
    assert payloads["tariff"]["inputs"] == {"input_1": False, "input_2": True}
    # Without the meter's TariffSource the gateway's knowledge is all there is.
    assert state_payloads({"actual_tariff": 2}, T0, tariff_source="forced")["tariff"] == {
        "ts": T0.isoformat(),
        "schema": 1,
        "active_tariff": 2,
        "source": "forced",
    }


def test_voltage_unbalance_on_three_phases_only() -> None:
    voltages = {"voltage_l1": 230.0, "voltage_l2": 220.0, "voltage_l3": 240.0, "frequency": 50.0}
    quality = state_payloads({**voltages, "phases": 3}, T0)["quality"]
    assert quality["voltage_unbalance_pct"] == pytest.approx(10 / 230 * 100, abs=0.001)
    single = state_payloads({"voltage_l1": 230.0, "frequency": 50.0, "phases": 1}, T0)
    assert "voltage_unbalance_pct" not in single["quality"]
