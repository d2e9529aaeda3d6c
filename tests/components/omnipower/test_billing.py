"""Billing-period sensors (peak power with the time it was reached) and frequency from quality.

Fed the ``dlms_optical`` fixture, recorded from the gateway against the emulator (and kept in
agreement with it by tests/e2e/test_ha_fixtures_agree.py).
"""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .conftest import Payloads, publish

SERIAL = "27581522"


@pytest.mark.parametrize("meter_fixture", ["dlms_optical"])
async def test_peak_power_of_the_last_period_with_its_time(
    hass: HomeAssistant, init_integration: MockConfigEntry, payloads: Payloads
) -> None:
    """The last period's P+max is the meter's stored value, reached_at its capture time."""
    last = payloads["billing"]["last_period"]
    state = hass.states.get(f"sensor.omnipower_{SERIAL}_peak_power_last_period")
    assert state is not None
    assert float(state.state) == last["max_active_power_import_w"]
    assert state.attributes["reached_at"] == last["max_active_power_import_at"]
    assert state.attributes["unit_of_measurement"] == "W"
    # A new debiting stop moves the last period on.
    billing = payloads["billing"]
    newer = {**last, "max_active_power_import_w": 2100.0, "max_active_power_import_at": None}
    publish(hass, SERIAL, "billing", {**billing, "last_period": newer})
    await hass.async_block_till_done()
    state = hass.states.get(f"sensor.omnipower_{SERIAL}_peak_power_last_period")
    assert state is not None
    assert (float(state.state), state.attributes["reached_at"]) == (2100.0, None)


@pytest.mark.parametrize("meter_fixture", ["prepayment_breaker"])
async def test_frequency_from_quality_when_the_push_has_none(
    hass: HomeAssistant, init_integration: MockConfigEntry, payloads: Payloads
) -> None:
    """A push without frequency still gets a frequency sensor, from the quality topic."""
    assert "frequency_hz" not in payloads["power"]
    state = hass.states.get("sensor.omnipower_31415926_frequency")
    assert state is not None
    assert float(state.state) == payloads["quality"]["frequency_hz"]


@pytest.mark.parametrize("meter_fixture", ["dlms_optical"])
async def test_logged_events_fire_with_the_meters_time(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Events built by the gateway from the meter's logs reach the event entities, meter time
    and fields intact (the builder is the gateway's own, not a hand-written payload)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from ccc_gateway.optical.logs import entry_ids, log_events
    from ccc_gateway.optical.session import LogEntry, MeterClock
    from ccc_gateway.protocol.omnipower_logs import EventCode, PowerQualityCode

    zone = ZoneInfo("Europe/Copenhagen")
    standard = [
        LogEntry(MeterClock(datetime(2026, 12, 2, 18, 0), False), {"event_code": code})
        for code in (EventCode.CLOCK_ADJUSTED_OLD, EventCode.CLOCK_ADJUSTED_NEW)
    ]
    sag = LogEntry(
        MeterClock(datetime(2026, 12, 2, 18, 5), False),
        {
            "pq_event_code": PowerQualityCode.VOLTAGE_SAG,
            "pq_event_phase": 2,
            "event_duration": 2.5,
            "pq_event_extreme_voltage": 180.0,
        },
    )
    events = []
    for log, entries in (("standard_event_log", standard), ("power_quality_log", [sag])):
        ids = entry_ids(SERIAL, log, entries, zone)
        events += log_events(log, list(zip(entries, ids, strict=True)), zone)
    for event in events:
        publish(hass, SERIAL, "events", event)
    await hass.async_block_till_done()
    clock = hass.states.get(f"event.omnipower_{SERIAL}_clock_adjusted")
    assert clock is not None
    assert clock.attributes["event_type"] == "clock_adjusted"
    assert clock.attributes["meter_time"] == events[0]["ts"]
    voltage = hass.states.get(f"event.omnipower_{SERIAL}_voltage_event")
    assert voltage is not None
    assert voltage.attributes["event_type"] == "voltage_sag"
    assert (voltage.attributes["phase"], voltage.attributes["voltage_v"]) == (2, 180.0)
    assert voltage.attributes["meter_time"] == "2026-12-02T18:05:00+01:00"
