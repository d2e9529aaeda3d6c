"""Push scalers learnt from the optical port, and registers that never go down on MQTT.

The push is the real Radius DLMS push 1 vector (energies in Wh at scaler 0 by the list's
default); the optical side is the in-memory fake port of the poller tests, which gives a
scaler_unit as the meter's attribute 3 would.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ccc_gateway.config import parse_config
from ccc_gateway.mqtt import Message
from ccc_gateway.protocol.decode import decode_frame
from ccc_gateway.protocol.obis import QuantityKind
from ccc_gateway.protocol.push import Resolution
from ccc_gateway.registers import PushScalers, RegisterFloor, ScalerStore
from ccc_gateway.service import Gateway
from tests.ccc_gateway.optical.fake_port import FakeMeter
from tests.vectors import RADIUS, frame, key

ZONE = ZoneInfo("Europe/Copenhagen")
T0 = datetime(2020, 1, 7, 14, 47, 20, tzinfo=ZONE)
A_PLUS = "1.1.1.8.0.255"


def radius_push() -> Any:
    return decode_frame(
        frame(RADIUS),
        encryption_key=key(RADIUS, "encryption_key"),
        authentication_key=key(RADIUS, "authentication_key"),
    )


def test_learnt_energy_scaler_rescales_the_push() -> None:
    scalers = PushScalers(Resolution())
    assert scalers.learn({"active_energy_import": (1, 30)})
    push = scalers.apply(radius_push())
    assert push.readings[A_PLUS].raw == 866636
    assert push.readings[A_PLUS].value == 8666360  # Wh at 10 Wh per unit
    assert push.readings["1.1.3.8.0.255"].value == 177080  # R+ is an energy too
    assert push.readings["1.1.31.7.0.255"].scaler == -2  # current: nothing learnt, untouched


def test_a_unit_that_is_not_the_push_unit_teaches_nothing() -> None:
    scalers = PushScalers(Resolution())
    assert not scalers.learn({"active_energy_import": (1, 255), "current_l1": (-3, 35)})
    assert scalers.learnt == {}
    assert scalers.settled


def test_a_disagreement_is_reported_once_and_says_where_the_push_scaler_came_from() -> None:
    assumed = PushScalers(Resolution(), settled=False)
    assumed.learn({"active_energy_import": (1, 30), "voltage_l1": (0, 35)})
    [mismatch] = assumed.mismatches(radius_push(), None)
    assert mismatch.code == "scaler_mismatch"
    assert mismatch.payload() == {
        "quantity": "energy",
        "push_scaler": 0,
        "meter_scaler": 1,
        "configured": False,
    }
    assert "energy_scaler = 1" in mismatch.hint
    assert assumed.mismatches(radius_push(), None) == []
    configured = PushScalers(Resolution(energy_scaler=2))
    configured.learn({"active_energy_import": (1, 30)})
    assert configured.mismatches(radius_push(), None)[0].configured


def test_agreeing_scalers_report_nothing() -> None:
    scalers = PushScalers(Resolution())
    scalers.learn({"active_energy_import": (0, 30), "current_l1": (-2, 33)})
    assert scalers.mismatches(radius_push(), None) == []
    assert scalers.apply(radius_push()) == radius_push()


def test_store_keeps_scalers_per_meter_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "scalers.json"
    store = ScalerStore(path)
    store.put("11111111", {"energy": 1})
    store.put("22222222", {"energy": 0, "current": -3})
    again = ScalerStore(path)
    assert again.get("11111111") == {"energy": 1}
    assert again.get("22222222") == {"energy": 0, "current": -3}
    loaded = PushScalers(Resolution(), settled=False)
    loaded.load(again.get("11111111"))
    assert loaded.settled
    assert loaded.learnt == {QuantityKind.ENERGY: 1}
    path.write_text("{not json")
    assert ScalerStore(path).get("11111111") == {}


def test_floor_holds_a_decrease_and_drops_an_older_reading() -> None:
    floor = RegisterFloor()
    assert floor.admit({"a_kwh": 10.0, "b_kwh": 5.0}, T0) == ({"a_kwh": 10.0, "b_kwh": 5.0}, [])
    later = T0 + timedelta(seconds=10)
    values, held = floor.admit({"a_kwh": 1.0, "b_kwh": 5.5}, later)
    assert values == {"a_kwh": 10.0, "b_kwh": 5.5}
    assert [(h.key, h.published, h.read, h.code) for h in held] == [
        ("a_kwh", 10.0, 1.0, "register_held")
    ]
    values, held = floor.admit({"b_kwh": 5.2}, T0 + timedelta(seconds=5))
    assert values == {}  # older than what was published: late, not lower
    assert held == []
    assert floor.admit({"a_kwh": 10.5}, later)[0] == {"a_kwh": 10.5}


# -- in the service ----------------------------------------------------------------------------


def make_gateway(tmp_path: Path, optical: FakeMeter | None, **meter: Any) -> Gateway:
    table: dict[str, Any] = {"name": "house", "ccc": {"port": "/dev/null"}, **meter}
    if optical is not None:
        table["optical"] = {"port": "/dev/zero", "password": "12345"}
    config = parse_config(
        {
            "gateway": {"state_dir": str(tmp_path), "timezone": "Europe/Copenhagen"},
            "meters": [table],
        }
    )
    return Gateway(config, optical_port_factory=lambda _config: optical)  # type: ignore[arg-type,return-value]


def drain(gateway: Gateway) -> list[Message]:
    out = []
    while (message := gateway.publisher.outbox.pop()) is not None:
        out.append(message)
    return out


def topic(messages: list[Message], name: str) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in messages if m.topic.endswith(f"/{name}")]


def radius_keys() -> dict[str, str]:
    return {
        "encryption_key": vectors_key("encryption_key"),
        "authentication_key": vectors_key("authentication_key"),
    }


def vectors_key(which: str) -> str:
    value = key(RADIUS, which)
    assert value is not None
    return value.hex()


def test_push_waits_for_the_meters_scalers(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, FakeMeter(T0.replace(tzinfo=None)), **radius_keys())
    gateway.channels[0].port_data(frame(RADIUS))
    messages = drain(gateway)
    assert topic(messages, "info")  # the meter is named ...
    assert topic(messages, "energy") == []  # ... but not read
    assert topic(messages, "power") == []


def test_push_is_read_with_the_meters_scalers_and_the_disagreement_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = make_gateway(tmp_path, FakeMeter(T0.replace(tzinfo=None)), **radius_keys())
    channel = gateway.channels[0]
    with caplog.at_level(logging.WARNING):
        channel.learn_scalers({"active_energy_import": (1, 30)})  # before the meter has a name
        channel.port_data(frame(RADIUS))
    messages = drain(gateway)
    [energy] = topic(messages, "energy")
    assert energy["active_energy_import_kwh"] == 8666.36
    diagnostics = topic(messages, "diagnostics")[-1]
    assert diagnostics["errors"]["scaler_mismatch"] == 1
    assert diagnostics["scaler_mismatch"] == [
        {"quantity": "energy", "push_scaler": 0, "meter_scaler": 1, "configured": False}
    ]
    [line] = [r for r in caplog.records if "scaler" in r.getMessage()]
    assert "energy_scaler = 1" in line.getMessage()
    assert ScalerStore(tmp_path / "scalers.json").get("27581522") == {"energy": 1}


def test_a_restart_reads_the_push_with_the_stored_scalers_at_once(tmp_path: Path) -> None:
    ScalerStore(tmp_path / "scalers.json").put("27581522", {"energy": 1})
    gateway = make_gateway(tmp_path, FakeMeter(T0.replace(tzinfo=None)), **radius_keys())
    gateway.channels[0].port_data(frame(RADIUS))
    [energy] = topic(drain(gateway), "energy")
    assert energy["active_energy_import_kwh"] == 8666.36


def test_optical_failure_releases_the_push_at_the_configured_scaler(tmp_path: Path) -> None:
    from ccc_gateway.optical.session import OpticalUnavailable

    gateway = make_gateway(tmp_path, FakeMeter(T0.replace(tzinfo=None)), **radius_keys())
    channel = gateway.channels[0]
    channel.record_optical_error(OpticalUnavailable("no answer to SNRM"))
    channel.port_data(frame(RADIUS))
    [energy] = topic(drain(gateway), "energy")
    assert energy["active_energy_import_kwh"] == 866.636


def test_energy_topic_never_goes_down_and_counts_what_it_held(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = make_gateway(tmp_path, None, serial="27581522")
    channel = gateway.channels[0]
    channel.publish_optical_energy({"active_energy_import_kwh": 8666.36}, T0)
    published = topic(drain(gateway), "energy")
    with caplog.at_level(logging.WARNING):
        for second in (10, 20):
            channel.publish_optical_energy(
                {"active_energy_import_kwh": 866.64}, T0 + timedelta(seconds=second)
            )
            published += topic(drain(gateway), "energy")
    channel.publish_diagnostics()
    assert [e["active_energy_import_kwh"] for e in published] == [8666.36] * 3
    assert topic(drain(gateway), "diagnostics")[-1]["errors"]["register_held"] == 2
    assert len([r for r in caplog.records if "held" in r.getMessage()]) == 1  # once per key
