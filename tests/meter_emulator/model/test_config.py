"""The TOML configuration: defaults, every code validated, errors that name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from meter_emulator.model import ConfigError, load_config, parse_config


def test_an_empty_file_is_a_default_single_phase_meter() -> None:
    config = parse_config({})
    assert config.phases == 1
    assert config.identity.gs1 == "5706567280463991"
    assert config.display_format == (7, 2)
    assert config.energy_scaler == 1  # 7.2 → 10 Wh
    assert config.integration_period_min == 15


def test_a_full_file(tmp_path: Path) -> None:
    path = tmp_path / "meter.toml"
    path.write_text(
        """
[meter]
serial = 27153320
type_number = "6841131BN243101040"

[software]
display_decimals = 4
integration_period = 4
load_profile = 5
gmt = 2

[prepayment]
enabled = true
credit_kwh = 12.5
exception_start = "22:00"
exception_end = "06:00"

[push]
list = "dlms_push_1"
encryption_key = "5AD84121D9D20B364B7A11F3C1B5827F"
authentication_key = "AFB3F93E3E7204EDB3C27F96DBD51AE0"

[[calendar]]
days = "all"
at = "00:00"
tariff = 1

[[calendar]]
days = "mon-fri"
at = "07:30"
tariff = 2
""",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.phases == 3
    assert config.energy_scaler == 0
    assert config.integration_period_min == 60
    assert len(config.load_profile_channels) == 8
    assert config.gmt_offset_h == 2
    assert config.prepayment.credit_kwh == 12.5
    assert config.push.encryption_key is not None
    assert "keys" not in repr(config.push) or "5AD8" not in repr(config.push)
    assert [s.tariff for s in config.calendar] == [1, 2]


@pytest.mark.parametrize(
    ("tables", "key"),
    [
        ({"meter": {"serial": 0}}, "meter.serial"),
        ({"meter": {"serial": "1"}}, "meter.serial"),
        ({"meter": {"type_number": "686"}}, "meter.type_number"),
        ({"meter": {"colour": "red"}}, "meter.colour"),
        ({"software": {"display_decimals": 5}}, "software.display_decimals"),
        ({"software": {"integration_period": 1}}, "software.integration_period"),
        ({"software": {"debiting_stop_date": 29}}, "software.debiting_stop_date"),
        ({"software": {"tariff_control": 1}}, "software.tariff_control"),
        (
            {"meter": {"type_number": "6861111BN142101040"}, "software": {"load_profile_data": 2}},
            "software.load_profile_data",
        ),
        ({"breaker": {"cutoff_bases": ["lightning"]}}, "breaker.cutoff_bases"),
        (
            {"prepayment": {"exception_start": "25:00", "exception_end": "01:00"}},
            "prepayment.exception_start",
        ),
        ({"prepayment": {"exception_start": "22:00"}}, "prepayment.exception_end"),
        ({"push": {"list": "list_9"}}, "push.list"),
        ({"push": {"hourly_offset_s": 30}}, "push.hourly_offset_s"),
        ({"push": {"encryption_key": "00"}}, "push.encryption_key"),
        (
            {"push": {"encryption_key": "5AD84121D9D20B364B7A11F3C1B5827F"}},
            "push.authentication_key",
        ),
        (
            {"push": {"list": "han_p1", "encryption_key": "5AD84121D9D20B364B7A11F3C1B5827F"}},
            "push.encryption_key",
        ),
        ({"display": {"auto": ["1.8.0"] * 17}}, "display.auto"),
        ({"calendar": [{"days": "mon-fri", "at": "07:00", "tariff": 5}]}, "calendar[0].tariff"),
        ({"calendar": [{"days": "weekdays", "at": "07:00", "tariff": 2}]}, "calendar[0].days"),
        ({"software": {"rtc_drift_ppm": True}}, "software.rtc_drift_ppm"),
    ],
)
def test_errors_name_the_key(tables: dict[str, Any], key: str | None) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(tables)
    if key is not None:
        assert caught.value.key == key
        assert str(caught.value).startswith(key)


def test_prepayment_needs_a_breaker() -> None:
    with pytest.raises(ConfigError, match="breaker"):
        parse_config(
            {"meter": {"type_number": "6861111BN240101040"}, "prepayment": {"enabled": True}}
        )


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[meter\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_the_shipped_example_is_the_default_meter() -> None:
    example = Path(__file__).parents[3] / "meter_emulator" / "data" / "meter.example.toml"
    assert load_config(example) == parse_config({})
