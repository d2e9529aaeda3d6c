"""A push writes exactly the entities whose shown value changed (issue 12).

1,000 pushes the gateway really produces (``pushes.py``: the emulated household, decoded by
the gateway) go through Home Assistant's MQTT dispatch. Every state write is counted, those
that change a state (``state_changed``) and those that rewrite the same state
(``state_reported``); the expected count is computed from the payloads alone.
"""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.omnipower.const import (
    CONF_BASE_TOPIC,
    CONF_INFO,
    CONF_SERIAL,
    CONF_STALE_AFTER,
    DOMAIN,
)

from .conftest import BRIDGE, load_payloads
from .pushes import SERIAL, gateway_pushes

PUSHES = 1000


@callback
def _every(_data: Any) -> bool:
    return True


async def test_writes_equal_changes(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, entity_registry: er.EntityRegistry
) -> None:
    """State writes = changed values over 1,000 pushes, and one per entity when the gateway
    goes offline; never a write that leaves the state as it was."""
    info = load_payloads("dk_3ph_push1")["info"] | {"serial": SERIAL}
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=SERIAL,
        data={CONF_BASE_TOPIC: "omnipower", CONF_SERIAL: SERIAL, CONF_INFO: info},
        options={CONF_STALE_AFTER: 300},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    pushes = list(gateway_pushes(PUSHES + 1))

    def send(topic: str, payload: dict[str, Any]) -> None:
        async_fire_mqtt_message(hass, f"omnipower/{SERIAL}/{topic}", json.dumps(payload))

    async_fire_mqtt_message(hass, BRIDGE, "online", retain=True)
    send("power", pushes[0].power)
    send("energy", pushes[0].energy)
    await hass.async_block_till_done()

    # Which payload key each enabled entity of the meter shows.
    shown: dict[str, tuple[str, str]] = {}
    for registry_entry in er.async_entries_for_config_entry(entity_registry, entry.entry_id):
        key = registry_entry.unique_id.removeprefix(f"{SERIAL}_")
        for topic in ("power", "energy"):
            if key in getattr(pushes[0], topic):
                shown[registry_entry.entity_id] = (topic, key)
    assert len(shown) > 25  # three phases of power, current, voltage and energy

    changed: list[str] = []
    reported: list[str] = []
    unsubscribe = [
        hass.bus.async_listen(
            EVENT_STATE_CHANGED, callback(lambda e: changed.append(e.data["entity_id"]))
        ),
        hass.bus.async_listen(
            EVENT_STATE_REPORTED,
            callback(lambda e: reported.append(e.data["entity_id"])),
            event_filter=_every,
        ),
    ]
    expected = 0
    highest = {entity_id: pushes[0].energy.get(key) for entity_id, (_t, key) in shown.items()}
    for before, push in pairwise(pushes):
        for entity_id, (topic, key) in shown.items():
            old, new = getattr(before, topic)[key], getattr(push, topic)[key]
            if topic == "energy":  # a register is shown only when it moves up
                if new > highest[entity_id]:
                    highest[entity_id] = new
                    expected += 1
            elif new != old:
                expected += 1
        send("power", push.power)
        send("energy", push.energy)
        await hass.async_block_till_done()
    assert expected > 5 * PUSHES  # the household really changes things
    assert len(changed) == expected
    assert reported == []

    # Availability: one write per entity of the meter, and still no idle rewrite.
    changed.clear()
    async_fire_mqtt_message(hass, BRIDGE, "offline")  # the last will, live
    await hass.async_block_till_done()
    meter_entities = [
        state.entity_id for state in hass.states.async_all() if SERIAL in state.entity_id
    ]
    assert sorted(changed) == sorted(meter_entities)
    assert all(hass.states.get(entity_id).state == STATE_UNAVAILABLE for entity_id in shown)
    assert reported == []
    for remove in unsubscribe:
        remove()
    await hass.config_entries.async_unload(entry.entry_id)
