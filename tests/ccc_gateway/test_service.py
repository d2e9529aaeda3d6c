"""The service's decisions without I/O: a channel fed bytes directly, the outbox inspected.

The ports and the broker are exercised for real in tests/e2e; here the rules are checked on
every vector: what is published, what is retained, what is counted and logged.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from ccc_gateway.config import parse_config
from ccc_gateway.meter import PortState
from ccc_gateway.meter_channel import CHECKSUM_STREAK
from ccc_gateway.mqtt import Message
from ccc_gateway.service import Gateway
from tests.vectors import PLAIN_HDLC_PUSHES, RADIUS, frame, key

# Wrong keys, not placeholders (one digit repeated), which the config refuses up front.
WRONG_EK = "0123456789abcdef" * 2
WRONG_AK = "fedcba9876543210" * 2


def make_gateway(tmp_path: Path, **meter: Any) -> Gateway:
    config = parse_config(
        {
            "gateway": {"state_dir": str(tmp_path), "timezone": "Europe/Oslo"},
            "meters": [{"ccc": {"port": "/dev/null"}, **meter}],
        }
    )
    return Gateway(config)


def published(gateway: Gateway) -> dict[str, Message]:
    out: dict[str, Message] = {}
    while (message := gateway.publisher.outbox.pop()) is not None:
        out[message.topic.split("/", 2)[2]] = message
    return out


def body(message: Message) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(message.payload)
    return result


@pytest.mark.parametrize("name", PLAIN_HDLC_PUSHES)
def test_plain_vectors_publish_info_power_and_retained_state(tmp_path: Path, name: str) -> None:
    gateway = make_gateway(tmp_path, serial="12345678")
    channel = gateway.channels[0]
    channel.port_data(frame(name))
    messages = published(gateway)
    assert {"info", "power"} <= set(messages)
    assert messages["info"].retain
    assert not messages["power"].retain
    assert body(messages["power"])["ts"].startswith(
        channel.view.last_push.apdu_datetime.isoformat()
    )  # type: ignore[union-attr]
    if "energy" in messages:
        assert messages["energy"].retain


def test_encrypted_vector_takes_its_id_from_the_push(tmp_path: Path) -> None:
    ek, ak = key(RADIUS, "encryption_key"), key(RADIUS, "authentication_key")
    assert ek is not None
    assert ak is not None
    gateway = make_gateway(tmp_path, encryption_key=ek.hex(), authentication_key=ak.hex())
    gateway.channels[0].port_data(frame(RADIUS))
    topics = {m.topic for m in [*published(gateway).values()]}
    assert "omnipower/27581522/power" in {t.rsplit("/", 1)[0] + "/power" for t in topics}
    assert gateway.channels[0].view.meter_id == "27581522"


def test_a_rejected_frame_never_names_the_meter(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 10: a GCM-failed frame's system title is as forgeable as the rest of it.

    Until then the title named the meter (topics under 27581522 from a frame that failed its
    tag); now the id comes only from checked pushes or the configured serial.
    """
    gateway = make_gateway(tmp_path, encryption_key=WRONG_EK, authentication_key=WRONG_AK)
    channel = gateway.channels[0]
    with caplog.at_level(logging.WARNING):
        channel.port_data(frame(RADIUS))
    assert published(gateway) == {}
    assert channel.view.meter_id is None
    assert channel.view.system_title is None
    assert channel.view.errors == {"authentication_failed": 1}
    assert "set serial" in caplog.text
    (tmp_path / "named").mkdir()
    named = make_gateway(
        tmp_path / "named",
        serial="27581522",
        encryption_key=WRONG_EK,
        authentication_key=WRONG_AK,
    )
    named.channels[0].port_data(frame(RADIUS))
    messages = published(named)
    assert messages["diagnostics"].topic == "omnipower/27581522/diagnostics"
    assert body(messages["diagnostics"])["errors"] == {"authentication_failed": 1}


def test_checksum_streak_suggests_baud_or_parity_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = make_gateway(tmp_path, serial="1")
    channel = gateway.channels[0]
    good = frame(PLAIN_HDLC_PUSHES[0])
    bad = good[:-3] + bytes([good[-3] ^ 0xFF]) + good[-2:]  # corrupt the FCS
    with caplog.at_level(logging.WARNING):
        for _ in range(CHECKSUM_STREAK * 2):
            channel.port_data(bad)
    assert caplog.text.count("wrong baud or parity?") == 1
    assert caplog.text.count("frame rejected") == 1  # one line per kind of failure
    assert channel.view.errors["fcs_error"] == CHECKSUM_STREAK * 2
    caplog.clear()
    with caplog.at_level(logging.INFO):
        channel.port_data(good)
    assert "decode again" in caplog.text
    assert channel.view.frames_ok == 1


def test_partial_frame_at_silence_is_counted_as_truncated(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, serial="1")
    channel = gateway.channels[0]
    channel.port_data(frame(PLAIN_HDLC_PUSHES[0])[:50])
    channel.port_silence()
    assert channel.view.errors == {"frame_truncated": 1}
    assert "diagnostics" in published(gateway)


def test_lost_port_is_counted_once_per_outage(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, serial="1")
    channel = gateway.channels[0]
    for _ in range(3):
        channel.port_state(PortState.CONNECTING, None)
        channel.port_state(PortState.UNAVAILABLE, "gone")
    assert channel.view.errors == {"port_unavailable": 1}
    channel.port_state(PortState.OPEN, None)
    channel.port_state(PortState.UNAVAILABLE, "gone again")
    assert channel.view.errors == {"port_unavailable": 2}
    diagnostics = body(published(gateway)["diagnostics"])
    assert diagnostics["ports"]["ccc"] == {
        "port": "/dev/null",
        "state": "unavailable",
        "reason": "gone again",
    }


def test_no_secret_in_any_payload(tmp_path: Path) -> None:
    ek, ak = key(RADIUS, "encryption_key"), key(RADIUS, "authentication_key")
    assert ek is not None
    assert ak is not None
    gateway = make_gateway(tmp_path, encryption_key=ak.hex(), authentication_key=ek.hex())
    gateway.channels[0].port_data(frame(RADIUS))
    gateway.channels[0].port_state(PortState.UNAVAILABLE, "x")
    for message in published(gateway).values():
        text = message.payload.decode().lower()
        assert ek.hex() not in text
        assert ak.hex() not in text


def test_discovery_is_off_by_default(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, serial="1")
    gateway.channels[0].port_data(frame(PLAIN_HDLC_PUSHES[0]))
    assert not [t for t in published(gateway) if "config" in t]


def test_discovery_announces_each_pushed_value_once(tmp_path: Path) -> None:
    """One retained device-based payload per meter (issue 12), sent again only when a key
    appears; the per-entity topics of earlier releases are cleared once."""
    config = parse_config(
        {
            "gateway": {"state_dir": str(tmp_path)},
            "mqtt": {"discovery": True},
            "meters": [{"ccc": {"port": "/dev/null"}, "serial": "12345678"}],
        }
    )
    gateway = Gateway(config)
    channel = gateway.channels[0]
    channel.port_data(frame("no_1ph_list2_plain"))
    first: list[Message] = []
    while (message := gateway.publisher.outbox.pop()) is not None:
        if message.topic.startswith("homeassistant/"):
            first.append(message)
    configs = {m.topic: m for m in first}
    device = body(configs["homeassistant/device/omnipower_12345678/config"])
    energy = device["components"]["active_energy_import_kwh"]
    assert energy["platform"] == "sensor"
    assert energy["unique_id"] == "omnipower_12345678_active_energy_import_kwh"
    assert energy["device_class"] == "energy"
    assert energy["state_class"] == "total_increasing"
    assert energy["unit_of_measurement"] == "kWh"
    assert energy["state_topic"] == "omnipower/12345678/energy"
    assert device["availability_topic"] == "omnipower/bridge/omnipower/state"
    assert device["origin"]["name"] == "omnipower"
    assert all(m.retain for m in first)
    assert not any(k in ("ts", "schema") for k in device["components"])
    legacy = "homeassistant/sensor/omnipower_12345678/active_energy_import_kwh/config"
    assert configs[legacy].payload == b""
    # No command is enabled: no control is announced.
    platforms = {c["platform"] for c in device["components"].values()}
    assert platforms <= {"sensor", "binary_sensor"}
    channel.port_data(frame("no_1ph_list2_plain"))
    again = []
    while (message := gateway.publisher.outbox.pop()) is not None:
        again.append(message.topic)
    assert not [t for t in again if t.startswith("homeassistant/")]


def test_han_p1_telegram_is_published_in_the_contract_units(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, serial="7350000000", p1=True, timezone="Europe/Stockholm")
    gateway.channels[0].port_data(frame("se_3ph_han_p1_telegram"))
    messages = published(gateway)
    power, energy = body(messages["power"]), body(messages["energy"])
    assert power["active_power_import_w"] == 1453
    assert power["reactive_power_export_l2_var"] == 217
    assert power["voltage_l1_v"] == 237.4
    assert energy["active_energy_import_kwh"] == 9621.983
    assert energy["reactive_energy_export_kvarh"] == 2496.779
    assert power["ts"] == "2024-04-07T12:28:54+02:00"


def test_a_push_without_serial_warns_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gateway = make_gateway(tmp_path, p1=True)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            gateway.channels[0].port_data(frame("se_3ph_han_p1_telegram"))
    assert caplog.text.count("set serial") == 1
    assert not published(gateway)


@pytest.mark.parametrize(("addresses", "published_power"), [([32, 1], True), ([33, 1], False)])
def test_configured_hdlc_addresses_hold_ciphered_pushes_to_the_meter(
    tmp_path: Path, addresses: list[int], published_power: bool
) -> None:
    ek, ak = key(RADIUS, "encryption_key"), key(RADIUS, "authentication_key")
    assert ek is not None
    assert ak is not None
    gateway = make_gateway(
        tmp_path,
        serial="27581522",
        encryption_key=ek.hex(),
        authentication_key=ak.hex(),
        ccc={"port": "/dev/null", "hdlc_addresses": addresses},
    )
    gateway.channels[0].port_data(frame(RADIUS))  # destination 32 (0x41), source 1 (0x03)
    messages = published(gateway)
    assert ("power" in messages) is published_power
    if not published_power:
        assert body(messages["diagnostics"])["errors"] == {"address_mismatch": 1}
