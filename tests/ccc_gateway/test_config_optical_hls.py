"""HLS-GMAC keys in ``[meters.optical]`` (meters with local interface encryption, Z28 = 1)."""

from __future__ import annotations

from typing import Any

import pytest

from ccc_gateway.config import ConfigError, parse_config

EK = "000102030405060708090A0B0C0D0E0F"
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
HLS = {"port": "/dev/ttyUSB1", "encryption_key": EK, "authentication_key": AK}


def meter(optical: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"meters": [{"ccc": {"port": "/dev/ttyUSB0"}, "optical": optical, **fields}]}


def test_keys_select_hls_on_the_optical_association_and_allow_commands() -> None:
    config = parse_config(meter(HLS, commands=["breaker"]))
    optical = config.meters[0].optical
    assert optical is not None
    assert optical.hls
    assert optical.client_address == 19
    keys = optical.hls_keys()
    assert keys is not None
    assert (keys.encryption_key, keys.authentication_key) == (bytes.fromhex(EK), bytes.fromhex(AK))
    assert optical.system_title == b"OMG\x00\x00\x00\x00\x01"
    assert config.meters[0].commands == frozenset({"breaker"})
    assert EK.lower() not in repr(config).lower()
    assert AK.lower() not in repr(config).lower()


def test_system_title_is_configurable() -> None:
    optical = parse_config(meter({**HLS, "system_title": "4D4D4D0000000001"})).meters[0].optical
    assert optical is not None
    assert optical.system_title == bytes.fromhex("4D4D4D0000000001")


@pytest.mark.parametrize(
    ("optical", "key", "expected"),
    [
        ({**HLS, "authentication_key": None}, "authentication_key", "needs both keys"),
        ({**HLS, "encryption_key": None}, "encryption_key", "needs both keys"),
        ({**HLS, "password": "12345"}, "password", "not both"),
        ({**HLS, "authentication_key": EK}, "authentication_key", "a different key"),
        ({**HLS, "protocol": "iec62056-21"}, "encryption_key", 'protocol "dlms"'),
        ({**HLS, "system_title": "4D4D"}, "system_title", "16 hex digits"),
        ({"port": "/dev/ttyUSB1", "system_title": "4D4D4D0000000001"}, "system_title", "only"),
        ({**HLS, "encryption_key": "12"}, "encryption_key", "32 hex digits"),
    ],
)
def test_errors_name_the_key(optical: dict[str, Any], key: str, expected: str) -> None:
    table = {k: v for k, v in optical.items() if v is not None}
    with pytest.raises(ConfigError) as caught:
        parse_config(meter(table))
    assert caught.value.key == f"meters[0].optical.{key}"
    assert expected in str(caught.value)
    assert EK.lower() not in str(caught.value).lower()
