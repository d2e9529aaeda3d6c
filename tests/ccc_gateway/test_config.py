"""gateway.toml validation: every error names the key and the form it expects."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ccc_gateway.config import ConfigError, Secret, load_config, parse_config

EK = "5AD84121D9D20B364B7A11F3C1B5827F"
AK = "AFB3F93E3E7204EDB3C27F96DBD51AE0"
EXAMPLE = Path(__file__).parents[2] / "docs" / "gateway.example.toml"


def minimal(**meter: Any) -> dict[str, Any]:
    return {"meters": [{"ccc": {"port": "/dev/ttyUSB0"}, **meter}]}


def test_minimal_file_gets_documented_defaults() -> None:
    config = parse_config(minimal())
    assert config.gateway_id == "omnipower"
    assert config.mqtt.host == "localhost"
    assert config.mqtt.port == 1883
    assert config.mqtt.base_topic == "omnipower"
    assert not config.mqtt.discovery
    (meter,) = config.meters
    assert meter.ccc.kind == "serial"
    assert meter.ccc.baudrate == 2400
    assert meter.ccc.parity == "N"
    assert meter.keys() is None


def test_keys_accept_0x_and_spaces_and_never_print() -> None:
    config = parse_config(
        minimal(
            encryption_key="0x" + EK,
            authentication_key=" ".join(AK[i : i + 2] for i in range(0, 32, 2)),
        )
    )
    meter = config.meters[0]
    keys = meter.keys()
    assert keys is not None
    assert keys.encryption_key == bytes.fromhex(EK)
    assert keys.authentication_key == bytes.fromhex(AK)
    for text in (repr(config), str(meter), repr(keys)):
        assert EK.lower() not in text.lower()
        assert AK.lower() not in text.lower()


def test_broker_password_is_redacted() -> None:
    config = parse_config({**minimal(), "mqtt": {"username": "gw", "password": "hunter2"}})
    assert isinstance(config.mqtt.password, Secret)
    assert config.mqtt.password.reveal() == "hunter2"
    assert "hunter2" not in repr(config)


@pytest.mark.parametrize(
    ("data", "key", "expected"),
    [
        (minimal(encryption_key="12345"), "meters[0].encryption_key", "32 hex digits (KeyType 64"),
        (
            minimal(encryption_key=EK, authentication_key="zz" * 16),
            "meters[0].authentication_key",
            "KeyType 65",
        ),
        (
            minimal(encryption_key=EK, authentication_key=EK),
            "meters[0].authentication_key",
            "different key",
        ),
        (minimal(authentication_key=AK), "meters[0].encryption_key", "required"),
        ({"meters": [{"ccc": {}}]}, "meters[0].ccc", "exactly one of port, tcp or replay"),
        ({"meters": [{"ccc": {"tcp": "nohost"}}]}, "meters[0].ccc.tcp", '"host:port"'),
        (
            {"meters": [{"ccc": {"port": "/dev/x", "parity": "X"}}]},
            "meters[0].ccc.parity",
            '"N", "E" or "O"',
        ),
        (
            {"meters": [{"ccc": {"port": "/dev/x", "baudrate": 2401}}]},
            "meters[0].ccc.baudrate",
            "standard baud",
        ),
        (
            {"meters": [{"ccc": {"port": "/dev/x", "speed": 2400}}]},
            "meters[0].ccc.speed",
            "unknown key",
        ),
        (minimal(encyption_key=EK), "meters[0].encyption_key", "unknown key"),
        (minimal(timezone="Mars/Olympus"), "meters[0].timezone", "IANA time zone"),
        (minimal(serial="ABC"), "meters[0].serial", "serial number"),
        (
            minimal(resolution={"energy_scaler": 7}),
            "meters[0].resolution.energy_scaler",
            "decimal scaler",
        ),
        ({**minimal(), "mqtt": {"port": 70000}}, "mqtt.port", "port number"),
        ({**minimal(), "mqtt": {"port": True}}, "mqtt.port", "port number"),
        ({**minimal(), "mqtt": {"protocol": "4"}}, "mqtt.protocol", '"3.1.1" or "5"'),
        ({**minimal(), "mqtt": {"password": "x"}}, "mqtt.username", "required"),
        ({**minimal(), "mqtt": {"base_topic": "a/#"}}, "mqtt.base_topic", "no wildcards"),
        ({**minimal(), "gateway": {"id": "my gateway"}}, "gateway.id", "letters, digits"),
        (
            {**minimal(), "gateway": {"diagnostics_interval": 0}},
            "gateway.diagnostics_interval",
            "seconds",
        ),
        ({"meters": []}, "meters", "at least one"),
        ({"meter": [{}]}, "meters", "at least one"),
        (
            {"meters": [{"ccc": {"port": "/a"}}, {"ccc": {"port": "/b"}, "name": "meter1"}]},
            "meters",
            "distinct name",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_errors_name_the_key_and_the_expected_form(
    data: dict[str, Any], key: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert caught.value.key == key
    assert expected in str(caught.value)


def test_key_errors_do_not_echo_the_key() -> None:
    almost = EK[:-1]
    with pytest.raises(ConfigError) as caught:
        parse_config(minimal(encryption_key=almost))
    assert almost not in str(caught.value)


def test_port_kinds() -> None:
    tcp = parse_config({"meters": [{"ccc": {"tcp": "192.168.1.20:2001"}}]}).meters[0].ccc
    assert (tcp.kind, tcp.host, tcp.port, tcp.description) == (
        "tcp",
        "192.168.1.20",
        2001,
        "tcp://192.168.1.20:2001",
    )
    replay = parse_config({"meters": [{"ccc": {"replay": "c.hex", "realtime": False}}]}).meters[0]
    assert (replay.ccc.kind, replay.ccc.realtime) == ("replay", False)


def test_resolution_options_reach_the_decoder() -> None:
    meter = parse_config(minimal(resolution={"energy_scaler": 0, "current_scaler": -3})).meters[0]
    assert meter.resolution.energy_scaler == 0
    assert meter.resolution.current_scaler == -3
    assert meter.resolution.voltage_scaler == 0


def test_load_warns_when_others_can_read_the_keys(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        f'[[meters]]\nencryption_key = "{EK}"\nsecurity = "encryption_only"\n'
        '[meters.ccc]\nport = "/dev/ttyUSB0"\n'
    )
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        load_config(path)
    assert "chmod 600" in caplog.text
    assert EK not in caplog.text
    caplog.clear()
    path.chmod(0o600)
    with caplog.at_level(logging.WARNING):
        load_config(path)
    assert "chmod" not in caplog.text


def test_load_reports_bad_toml_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text("[[meters]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_example_file_is_valid() -> None:
    config = parse_config(tomllib.loads(EXAMPLE.read_text()))
    assert config.meters


def test_security_is_strict_by_default_and_encryption_only_is_an_explicit_opt_in() -> None:
    from ccc_gateway.protocol import SecurityPolicy

    keyed = parse_config(minimal(encryption_key=EK, authentication_key=AK)).meters[0]
    assert keyed.security is SecurityPolicy.AUTHENTICATED
    assert parse_config(minimal()).meters[0].security is SecurityPolicy.AUTHENTICATED
    opted = parse_config(minimal(encryption_key=EK, security="encryption_only")).meters[0]
    assert opted.security is SecurityPolicy.ENCRYPTION_ONLY
    # An encryption key alone verifies nothing: say what to do, naming the key.
    with pytest.raises(ConfigError) as caught:
        parse_config(minimal(encryption_key=EK))
    assert caught.value.key == "meters[0].authentication_key"
    assert 'security = "encryption_only"' in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        parse_config(minimal(security="encryption_only"))
    assert caught.value.key == "meters[0].encryption_key"
    with pytest.raises(ConfigError) as caught:
        parse_config(minimal(encryption_key=EK, authentication_key=AK, security="none"))
    assert caught.value.key == "meters[0].security"


def test_p1_meters_take_no_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(minimal(p1=True, encryption_key=EK, authentication_key=AK))
    assert caught.value.key == "meters[0].encryption_key"
    assert "never encrypted" in str(caught.value)


def test_hdlc_addresses_of_the_push() -> None:
    meter = parse_config(
        {"meters": [{"ccc": {"port": "/dev/ttyUSB0", "hdlc_addresses": [32, 1]}}]}
    ).meters[0]
    route = meter.hdlc_route()
    assert route is not None
    assert (route[0].logical, route[1].logical, route[2]) == (32, 1, 0x13)
    assert parse_config(minimal()).meters[0].hdlc_route() is None
    for wrong in ([32], [32, 200], [True, 1], "32:1"):
        with pytest.raises(ConfigError) as caught:
            parse_config({"meters": [{"ccc": {"port": "/dev/ttyUSB0", "hdlc_addresses": wrong}}]})
        assert caught.value.key == "meters[0].ccc.hdlc_addresses"
