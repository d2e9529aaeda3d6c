"""What one 10 s push costs Home Assistant (issue 12): a benchmark, reported, never asserted.

One run, one Home Assistant, asyncio debug mode off (the test harness turns it on; a real
installation runs without it), every message delivered through Home Assistant's real MQTT
client dispatch, until the state machine is idle again. Four set-ups take turns, round after
round, on the same stream of pushes the gateway really publishes (``pushes.py``):

* the harness alone: the same messages on topics nobody subscribes to (subtracted from the
  others, so the figures are net of the harness);
* an amsreader-style MQTT-discovery set-up: 32 plain MQTT sensors, each rendering a
  ``value_json`` template of the JSON the bridge publishes every push (``power``, ``energy``
  and its ``state`` with the uptime);
* omnipower with the HAN port only (``power`` and ``energy``);
* omnipower with the optical port too (its retained state topics, energy per tariff).

``make bench`` runs this through ``benchmarks/bench_ha_push.py`` and prints the figures and
the ratios from the ``PUSH_COST`` line.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.omnipower.const import (
    COMMANDS,
    CONF_BASE_TOPIC,
    CONF_COMMANDS,
    CONF_INFO,
    CONF_SERIAL,
    CONF_STALE_AFTER,
    DOMAIN,
)

from .conftest import BRIDGE, load_payloads
from .pushes import GatewayPush, gateway_pushes

ROUNDS = 20
PUSHES_PER_ROUND = 30
HAN_SERIAL = "57000001"
OPTICAL_SERIAL = "57000002"
AMS = "ams"
#: amsreader publishes its own state (uptime) beside the readings.
AMS_STATE_KEYS = ("uptime",)
_AMS_CLASSES = {
    "_kwh": ("kWh", "energy", "total_increasing"),
    "_kvarh": ("kvarh", "reactive_energy", "total_increasing"),
    "_w": ("W", "power", "measurement"),
    "_var": ("var", "reactive_power", "measurement"),
    "_v": ("V", "voltage", "measurement"),
    "_a": ("A", "current", "measurement"),
}


def _entry(hass: HomeAssistant, serial: str, info: dict[str, Any]) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"OMNIPOWER {serial}",
        unique_id=serial,
        data={CONF_BASE_TOPIC: "omnipower", CONF_SERIAL: serial, CONF_INFO: info},
        options={CONF_STALE_AFTER: 300, CONF_COMMANDS: list(COMMANDS)},
    )
    entry.add_to_hass(hass)
    return entry


def _send(hass: HomeAssistant, topic: str, payload: dict[str, Any], retain: bool = False) -> None:
    async_fire_mqtt_message(hass, topic, json.dumps(payload), retain=retain)


def _ams_discovery(hass: HomeAssistant, power_keys: list[str], energy_keys: list[str]) -> int:
    """One discovery config per value, as amsreader's Home Assistant mode announces them."""
    sensors = [(key, f"{AMS}/power") for key in power_keys]
    sensors += [(key, f"{AMS}/energy") for key in energy_keys]
    sensors += [(key, f"{AMS}/state") for key in AMS_STATE_KEYS]
    for key, topic in sensors:
        config = {
            "name": key,
            "unique_id": f"ams_{key}",
            "state_topic": topic,
            "value_template": f"{{{{ value_json.{key} }}}}",
            "device": {"identifiers": ["ams_bench"], "name": "AMS reader"},
        }
        # amsreader announces unit, device class and state class with each of its sensors.
        for suffix, (unit, device_class, state_class) in _AMS_CLASSES.items():
            if key.endswith(suffix):
                config |= {
                    "unit_of_measurement": unit,
                    "device_class": device_class,
                    "state_class": state_class,
                }
                break
        _send(hass, f"homeassistant/sensor/ams_{key}/config", config)
    return len(sensors)


Sender = Callable[[HomeAssistant, GatewayPush, int], None]


@callback
def _every(_data: Any) -> bool:
    return True


def _harness(hass: HomeAssistant, push: GatewayPush, index: int) -> None:
    _send(hass, "nobody/a/power", push.power)
    _send(hass, "nobody/a/energy", push.energy)


def _ams(hass: HomeAssistant, push: GatewayPush, index: int) -> None:
    _send(hass, f"{AMS}/power", push.power)
    _send(hass, f"{AMS}/energy", push.energy)
    _send(hass, f"{AMS}/state", {"uptime": 10 * index})


def _han(hass: HomeAssistant, push: GatewayPush, index: int) -> None:
    _send(hass, f"omnipower/{HAN_SERIAL}/power", push.power)
    _send(hass, f"omnipower/{HAN_SERIAL}/energy", push.energy)


def _optical(tariffs: dict[str, Any]) -> Sender:
    def send(hass: HomeAssistant, push: GatewayPush, index: int) -> None:
        _send(hass, f"omnipower/{OPTICAL_SERIAL}/power", push.power)
        # The gateway merges the push's registers with those read over the optical port.
        _send(hass, f"omnipower/{OPTICAL_SERIAL}/energy", {**tariffs, **push.energy})

    return send


def _quiet_logs() -> Iterator[None]:
    names = ("homeassistant", "custom_components")
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.INFO)
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def quiet_logs() -> Iterator[None]:
    """A real installation does not log every MQTT message at DEBUG."""
    yield from _quiet_logs()


@pytest.mark.slow
@pytest.mark.usefixtures("quiet_logs")
async def test_push_cost(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, record_property: Any
) -> None:
    """Report µs per push of each set-up, net of the harness, and the ratios."""
    total = (ROUNDS + 1) * PUSHES_PER_ROUND + 1
    pushes = list(gateway_pushes(total))
    first = pushes[0]

    han_info = load_payloads("dk_3ph_push1")["info"] | {"serial": HAN_SERIAL}
    optical = load_payloads("prepayment_breaker")
    optical_info = optical["info"] | {"serial": OPTICAL_SERIAL, "phases": 3}
    tariffs = {k: v for k, v in optical["energy"].items() if "_t" in k}
    for serial, info in ((HAN_SERIAL, han_info), (OPTICAL_SERIAL, optical_info)):
        assert await hass.config_entries.async_setup(_entry(hass, serial, info).entry_id)
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, BRIDGE, "online", retain=True)
    for topic, payload in optical.items():
        if topic not in ("power", "energy", "info"):
            _send(hass, f"omnipower/{OPTICAL_SERIAL}/{topic}", payload, retain=True)
    ams_entities = _ams_discovery(
        hass,
        [k for k in first.power if k not in ("ts", "schema")],
        [k for k in first.energy if k not in ("ts", "schema")],
    )
    await hass.async_block_till_done()

    senders: dict[str, Sender] = {
        "harness": _harness,
        "amsreader": _ams,
        "han": _han,
        "optical": _optical(tariffs),
    }
    writes = dict.fromkeys(senders, 0)
    current = ["harness"]

    @callback
    def count(_event: Event[Any]) -> None:
        writes[current[0]] += 1

    # Warm-up: every set-up's entities exist and are available before timing starts.
    for send in senders.values():
        send(hass, first, 0)
    await hass.async_block_till_done()
    best = dict.fromkeys(senders, float("inf"))
    gc.collect()
    gc.freeze()  # Home Assistant's own heap out of the collector's way, as in a long-running one
    hass.loop.set_debug(False)
    try:
        for round_index in range(ROUNDS + 1):
            start = 1 + round_index * PUSHES_PER_ROUND
            batch = pushes[start : start + PUSHES_PER_ROUND]
            counting = round_index == ROUNDS  # untimed: listeners cost time themselves
            if counting:
                unsubscribe = [
                    hass.bus.async_listen(EVENT_STATE_CHANGED, count),
                    hass.bus.async_listen(EVENT_STATE_REPORTED, count, event_filter=_every),
                ]
            # Each round in another order, so no set-up always follows the same one.
            names = list(senders)
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                send = senders[name]
                current[0] = name
                gc.disable()  # as timeit does: a collection lands in one set-up's time
                began = time.thread_time()
                for offset, push in enumerate(batch):
                    send(hass, push, start + offset)
                    await hass.async_block_till_done()
                gc.enable()
                if not counting:
                    elapsed = (time.thread_time() - began) / len(batch) * 1e6
                    best[name] = min(best[name], elapsed)
    finally:
        gc.enable()
        gc.unfreeze()
        hass.loop.set_debug(True)
    for remove in unsubscribe:
        remove()

    def entities(prefix: str) -> int:
        return len([s for s in hass.states.async_all() if prefix in s.entity_id])

    net = {name: best[name] - best["harness"] for name in ("amsreader", "han", "optical")}
    # amsreader's three messages a push against the harness's two: add the third's share.
    net["amsreader"] -= best["harness"] / 2
    report = {
        "harness_us": round(best["harness"], 1),
        "amsreader_us": round(net["amsreader"], 1),
        "han_us": round(net["han"], 1),
        "optical_us": round(net["optical"], 1),
        "han_ratio": round(net["amsreader"] / net["han"], 2),
        "optical_ratio": round(net["amsreader"] / net["optical"], 2),
        "entities": {
            "amsreader": ams_entities,
            "han": entities(HAN_SERIAL),
            "optical": entities(OPTICAL_SERIAL),
        },
        "writes_per_push": {
            name: round(writes[name] / PUSHES_PER_ROUND, 1)
            for name in ("amsreader", "han", "optical")
        },
        "pushes": ROUNDS * PUSHES_PER_ROUND,
    }
    record_property("push_cost", report)
    print(f"\nPUSH_COST {json.dumps(report)}")
    print(
        "Home Assistant CPU per push, net of the harness: "
        f"omnipower HAN {net['han']:.0f} µs, with optical port {net['optical']:.0f} µs, "
        f"amsreader-style {net['amsreader']:.0f} µs "
        f"({report['han_ratio']}x and {report['optical_ratio']}x cheaper)"
    )
    # Behaviour, not speed: every set-up really showed the last push.
    last = pushes[-1]
    assert hass.states.get(f"sensor.omnipower_{HAN_SERIAL}_power_export").state == str(
        last.power["active_power_export_w"]
    )
    assert hass.states.get("sensor.ams_reader_active_power_export_w").state == str(
        last.power["active_power_export_w"]
    )
    assert writes["harness"] == 0
    assert report["entities"]["optical"] > report["entities"]["han"] > 30
