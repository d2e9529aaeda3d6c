"""The software codes of ``model/software_codes.py``: validation that names the key, variant
rules, and what each code changes in the model and on the ports."""

from __future__ import annotations

from typing import Any

import pytest

from meter_emulator.model import parse_config
from meter_emulator.model.config import ConfigError

VARIANT_1 = "6861111BN142101040"
VARIANT_2 = "6861111BN242101040"
EK = "000102030405060708090A0B0C0D0E0F"
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"


def config(type_number: str = VARIANT_2, **tables: Any) -> Any:
    return parse_config({"meter": {"type_number": type_number}, **tables})


@pytest.mark.parametrize(
    ("tables", "key", "message"),
    [
        # Z28: 0 is variant 1's only value, 1 and 2 are variant 2's.
        (
            {"software": {"local_interface_encryption": 1}, "meter": {"type_number": VARIANT_1}},
            "software.local_interface_encryption",
            "needs variant 2",
        ),
        (
            {"software": {"local_interface_encryption": 0}},
            "software.local_interface_encryption",
            "needs variant 1",
        ),
        (
            {"software": {"local_interface_encryption": 3}},
            "software.local_interface_encryption",
            "Z28",
        ),
        (
            {"software": {"local_interface_encryption": 1}},
            "optical.encryption_key",
            "required with Z28 = 1",
        ),
        (
            {"software": {"local_interface_encryption": 1}, "optical": {"encryption_key": EK}},
            "optical.authentication_key",
            "required with Z28 = 1",
        ),
        (
            {"optical": {"encryption_key": EK, "authentication_key": AK}},
            "optical.encryption_key",
            "local_interface_encryption = 1",
        ),
        ({"optical": {"password": "x"}}, "optical.password", "unknown key"),
    ],
)
def test_bad_codes_name_the_key(tables: dict[str, Any], key: str, message: str) -> None:
    data: dict[str, Any] = {"meter": {"type_number": VARIANT_2}, **tables}
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert caught.value.key == key
    assert message in str(caught.value)


def test_z28_defaults_follow_the_variant() -> None:
    assert config(VARIANT_1).codes.local_interface_encryption == 0
    assert config(VARIANT_2).codes.local_interface_encryption == 2
    assert config().optical is None


def test_z28_enabled_keeps_the_optical_keys_redacted() -> None:
    meter = config(
        software={"local_interface_encryption": 1},
        optical={"encryption_key": EK, "authentication_key": AK},
    )
    assert meter.codes.optical_encrypted
    assert meter.optical is not None
    assert meter.optical.encryption_key == bytes.fromhex(EK)
    assert EK.lower() not in repr(meter.optical).lower()
