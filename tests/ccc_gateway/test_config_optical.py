"""The optical port, allowed commands and the command secret in gateway.toml."""

from __future__ import annotations

from typing import Any

import pytest

from ccc_gateway.config import ConfigError, parse_config

OPTICAL = {"port": "/dev/ttyUSB1", "password": "12345"}


def meter(**fields: Any) -> dict[str, Any]:
    return {"meters": [{"ccc": {"port": "/dev/ttyUSB0"}, **fields}]}


def test_optical_only_meter_with_commands() -> None:
    config = parse_config(
        {
            "meters": [{"optical": OPTICAL, "commands": ["breaker", "refresh"]}],
            "commands": {"secret": "correct horse battery staple"},
        }
    )
    (only,) = config.meters
    assert only.ccc is None
    assert only.optical is not None
    assert (only.optical.kind, only.optical.protocol, only.optical.client_address) == (
        "serial",
        "dlms",
        19,
    )
    assert only.optical.poll_interval == 60.0
    assert only.commands == frozenset({"breaker", "refresh"})
    assert config.command_secret is not None
    assert "correct horse" not in repr(config)
    assert "12345" not in repr(config)


def test_commands_are_off_unless_listed() -> None:
    config = parse_config(meter(optical=OPTICAL))
    assert config.meters[0].commands == frozenset()
    assert config.command_secret is None


def test_association_picks_the_client_address() -> None:
    optical = {**OPTICAL, "association": "primary_module"}
    parsed = parse_config(meter(optical=optical)).meters[0].optical
    assert parsed is not None
    assert parsed.client_address == 18
    with pytest.raises(ConfigError) as caught:
        parse_config(meter(optical={**OPTICAL, "association": "root"}))
    assert caught.value.key == "meters[0].optical.association"


def test_public_association_without_password() -> None:
    optical = parse_config(meter(optical={"tcp": "127.0.0.1:2002"})).meters[0].optical
    assert optical is not None
    assert (optical.client_address, optical.description) == (16, "tcp://127.0.0.1:2002 (dlms)")


@pytest.mark.parametrize(
    ("data", "key", "expected"),
    [
        ({"meters": [{"name": "x"}]}, "meters[0]", "a [meters.ccc] port, a [meters.optical]"),
        (meter(optical={}), "meters[0].optical", "exactly one of port or tcp"),
        (meter(optical={"port": "/a", "protocol": "kmp"}), "meters[0].optical.protocol", "dlms"),
        (
            meter(optical={"port": "/a", "poll_interval": 1}),
            "meters[0].optical.poll_interval",
            "10",
        ),
        (meter(optical={"port": "/a", "password": "x" * 17}), "meters[0].optical.password", "LLS"),
        (meter(commands=["breaker"]), "meters[0].commands", "[meters.optical] port"),
        (
            meter(optical={"port": "/a"}, commands=["breaker"]),
            "meters[0].commands",
            "LLS password",
        ),
        (
            meter(optical={"port": "/a", "protocol": "iec62056-21"}, commands=["refresh"]),
            "meters[0].commands",
            "protocol dlms",
        ),
        (meter(optical=OPTICAL, commands=["self_destruct"]), "meters[0].commands", "breaker"),
        (meter(optical=OPTICAL, commands="breaker"), "meters[0].commands", "a list"),
        ({**meter(), "commands": {"secret": "short"}}, "commands.secret", "16 characters"),
        ({**meter(), "commands": {"key": "x"}}, "commands.key", "unknown key"),
        (
            meter(optical={"port": "/dev/ttyUSB0"}),
            "meters",
            "own ports",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_errors_name_the_key(data: dict[str, Any], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert caught.value.key == key
    assert expected in str(caught.value)
