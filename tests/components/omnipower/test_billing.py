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
