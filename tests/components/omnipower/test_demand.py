"""Demand in Home Assistant: sensors and events from what the gateway publishes, and the
blueprint that sheds a load before an interval would raise the month's capacity charge.

The payloads are made by the gateway's own :class:`~ccc_gateway.demand.tracker.DemandTracker`
in the test, so no entity here is fed a payload the gateway cannot produce.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from ccc_gateway.demand.rules import NORWAY_CAPACITY
from ccc_gateway.demand.tracker import DemandTracker
from custom_components.omnipower.const import DOMAIN

from .conftest import publish

ZONE = ZoneInfo("Europe/Oslo")
BLUEPRINT = (
    Path(__file__).parents[3]
    / "blueprints"
    / "automation"
    / "omnipower"
    / "shed_load_before_demand_peak.yaml"
)
pytestmark = pytest.mark.parametrize("meter_fixture", ["dk_3ph_push1"])


class Household:
    """The gateway's demand adapter fed as the service feeds it, one push every 10 s."""

    def __init__(self, state_dir: Path) -> None:
        self.tracker = DemandTracker(NORWAY_CAPACITY, ZONE, state_dir=state_dir, meter="m")
        self.at = datetime(2026, 1, 5, tzinfo=ZONE)
        self.register = 1000.0
        self.demand: dict[str, Any] | None = None
        self.events: list[dict[str, Any]] = []

    def run(self, kw: float, seconds: int) -> None:
        for _ in range(seconds // 10):
            self.at += timedelta(seconds=10)
            self.register += kw * 10 / 3600
            payload, events = self.tracker.push(
                self.at,
                {"active_power_import_w": kw * 1000},
                {"active_energy_import_kwh": round(self.register, 3)},
            )
            self.demand = payload or self.demand
            self.events += events


def _entity(entity_registry: er.EntityRegistry, domain: str, serial: str, key: str) -> str:
    entity_id = entity_registry.async_get_entity_id(domain, DOMAIN, f"{serial}_{key}")
    assert entity_id is not None, key
    return entity_id


async def _until(hass: HomeAssistant, entity_id: str, state: str) -> bool:
    """Whether *entity_id* reaches *state* within a second of event-loop turns."""
    for _ in range(200):
        current = hass.states.get(entity_id)
        if current is not None and current.state == state:
            return True
        await asyncio.sleep(0.005)
    return False


@pytest.fixture
def household(tmp_path: Path) -> Household:
    """Three days whose peaks were 3 kW, then an hour going on at 1 kW: step 2-5 kW."""
    house = Household(tmp_path)
    for _ in range(3):
        house.run(1.0, 17 * 3600)
        house.run(3.0, 3600)
        house.run(1.0, 6 * 3600)
    house.run(1.0, 1800)
    return house


async def test_sensors_show_what_the_gateway_computed(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    init_integration: MockConfigEntry,
    serial: str,
    household: Household,
) -> None:
    demand = household.demand
    assert demand is not None
    publish(hass, serial, "demand", demand, retain=True)
    await hass.async_block_till_done()
    billing = hass.states.get(_entity(entity_registry, "sensor", serial, "demand_billing_kw"))
    assert billing is not None
    assert float(billing.state) == demand["billing_kw"] == 3.0
    assert billing.attributes["unit_of_measurement"] == "kW"
    assert [p["average_kw"] for p in billing.attributes["peaks"]] == [3.0, 3.0, 3.0]
    step = hass.states.get(_entity(entity_registry, "sensor", serial, "demand_step"))
    assert step is not None
    assert step.state == "2"  # the second step, 2-5 kW
    assert step.attributes["lower_kw"] == 2
    assert step.attributes["upper_kw"] == 5
    projection = hass.states.get(_entity(entity_registry, "sensor", serial, "demand_projection_kw"))
    assert projection is not None
    assert float(projection.state) == pytest.approx(1.0)
    headroom = hass.states.get(_entity(entity_registry, "sensor", serial, "demand_headroom_kw"))
    assert headroom is not None
    # Step 5-10 needs (3 + 3 + x) / 3 >= 5: 9 kW this hour; 1 kW projected leaves 8.
    assert float(headroom.state) == pytest.approx(8.0, abs=0.01)
    assert headroom.attributes["interval_limit_kw"] == pytest.approx(9.0, abs=0.001)


async def test_a_new_peak_fires_the_demand_event(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    init_integration: MockConfigEntry,
    serial: str,
    household: Household,
) -> None:
    assert household.demand is not None
    publish(hass, serial, "demand", household.demand, retain=True)
    await hass.async_block_till_done()
    household.events.clear()
    household.run(20.0, 1800)  # the rest of the hour at 20 kW: 10.5 kW, step 5-10 kW
    household.run(1.0, 60)
    peaks = [e for e in household.events if e["type"] == "demand_peak"]
    steps = [e for e in household.events if e["type"] == "demand_step_changed"]
    assert peaks
    assert steps
    for payload in household.events:
        publish(hass, serial, "events", payload)
    await hass.async_block_till_done()
    state = hass.states.get(_entity(entity_registry, "event", serial, "demand_event"))
    assert state is not None
    assert state.attributes["event_type"] == "demand_step_changed"
    assert state.attributes["to_step"] == 2
    assert state.attributes["meter_time"] == steps[-1]["ts"]


async def test_the_blueprint_sheds_a_load_before_the_peak_and_gives_it_back(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    init_integration: MockConfigEntry,
    serial: str,
    household: Household,
) -> None:
    target = Path(hass.config.path("blueprints", "automation", "omnipower"))

    def install() -> None:
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(BLUEPRINT, target / BLUEPRINT.name)

    await hass.async_add_executor_job(install)
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"heater": {}}})
    assert household.demand is not None
    publish(hass, serial, "demand", household.demand, retain=True)
    await hass.async_block_till_done()
    headroom = _entity(entity_registry, "sensor", serial, "demand_headroom_kw")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": "omnipower/shed_load_before_demand_peak.yaml",
                    "input": {
                        "headroom": headroom,
                        "load": "input_boolean.heater",
                        "margin": 0.5,
                        "recover": 1.0,
                    },
                }
            }
        },
    )
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.heater"}, blocking=True
    )
    await hass.async_block_till_done()
    # The EV charger starts at 20 kW: held to the end of the hour, 0.5 kWh so far plus 10 kWh
    # gives 10.5 kW on average, past the 9 kW that would lift the month to step 5-10 kW.
    household.run(20.0, 60)
    assert household.demand is not None
    assert household.demand["headroom_kw"] < 0
    # Live: a broker delivers a retained topic's update to existing subscribers unflagged.
    publish(hass, serial, "demand", household.demand)
    # Not async_block_till_done: the automation's run now waits (for the headroom) by design.
    assert await _until(hass, "input_boolean.heater", "off")
    # Shed inside the interval that would have set the peak, before it closed.
    assert household.demand["interval"]["start"] == "2026-01-08T00:00:00+01:00"
    # The EV charger stops; the headroom comes back and the heater with it.
    household.run(1.0, 60)
    assert household.demand["headroom_kw"] > 1.5
    publish(hass, serial, "demand", household.demand)
    assert await _until(hass, "input_boolean.heater", "on")
