"""What one 10 s push costs Home Assistant (issue 7 benchmark); reported, never asserted.

Run ``pytest tests/components/omnipower/test_push_cost.py -s`` to see the figure: power and
energy of a three-phase push delivered through Home Assistant's MQTT dispatch, every entity
of the meter updated, until the state machine is idle again.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .conftest import Payloads, publish

PUSHES = 200


@pytest.mark.parametrize("meter_fixture", ["dk_3ph_push1"])
async def test_push_cost(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    payloads: Payloads,
    record_property: Any,
) -> None:
    """Deliver PUSHES pushes with changing values; every one must reach the entities."""
    # The harness logs every MQTT message at DEBUG; a real installation does not.
    logging.getLogger("homeassistant.components.mqtt").setLevel(logging.INFO)
    power = dict(payloads["power"])
    energy = dict(payloads["energy"])
    started = time.perf_counter()
    for index in range(PUSHES):
        power["active_power_import_w"] = 1000.0 + index
        energy["active_energy_import_kwh"] = round(12327.87 + index / 1000, 3)
        publish(hass, "27581522", "power", power)
        publish(hass, "27581522", "energy", energy)
        await hass.async_block_till_done()
    per_push_us = (time.perf_counter() - started) / PUSHES * 1e6
    record_property("push_cost_us", round(per_push_us))
    print(f"\nHome Assistant cost of one push (power + energy, 3 phases): {per_push_us:.0f} µs")
    assert hass.states.get("sensor.omnipower_27581522_power_import").state == str(
        1000.0 + PUSHES - 1
    )
    assert hass.states.get("sensor.omnipower_27581522_energy_import").state == str(
        round(12327.87 + (PUSHES - 1) / 1000, 3)
    )
