"""Identity: type numbers, GS1 numbers and system titles as on real meters ([GB])."""

from __future__ import annotations

import pytest

from meter_emulator.model import EnergyType, TypeNumber, gs1_check_digit, gs1_number, system_title
from meter_emulator.model.identity import TypeNumberError


@pytest.mark.parametrize(
    ("serial", "gs1"),
    [
        (28046399, "5706567280463991"),  # Bornholm frame
        (28639955, "5706567286399553"),  # gh111
        (27153320, "5706567271533207"),  # Kamstrup-1p.raw
    ],
)
def test_gs1_numbers_of_real_meters(serial: int, gs1: str) -> None:
    assert gs1_number(serial) == gs1
    assert gs1_check_digit(gs1[:-1]) == int(gs1[-1])


def test_system_title_is_kame_and_the_serial() -> None:
    assert system_title(28046399).hex().upper() == "4B414D4501ABF43F"


def test_type_number_of_a_real_single_phase_meter() -> None:
    t = TypeNumber.parse("6861111BN242101040")
    assert (t.phases, t.ct_connected, t.variant) == (1, False, 2)
    assert t.energy_type is EnergyType.FOUR_QUADRANT
    assert t.breaker == "dual"
    assert t.has_breaker
    assert t.current_range == "5-100 A"
    assert t.country_code == "040"


def test_three_phase_and_ct_prefixes() -> None:
    assert TypeNumber.parse("6841131BN243101040").phases == 3
    ct = TypeNumber.parse("6851131BN243101040")
    assert ct.phases == 3
    assert ct.ct_connected


@pytest.mark.parametrize(
    ("code", "position"),
    [
        ("686111", "18 characters"),
        ("7861111BN242101040", "starts with 68"),
        ("6891111BN242101040", "X1"),
        ("6861112BN242101040", "X5"),
        ("6861111XN242101040", "X6"),
        ("6861111BN232101040", "X9"),
        ("6861111BN241101040", "X10"),
        ("6861111BN24210104X", "country"),
    ],
)
def test_bad_type_numbers_name_the_position(code: str, position: str) -> None:
    with pytest.raises(TypeNumberError, match=position):
        TypeNumber.parse(code)


def test_energy_types() -> None:
    assert not EnergyType.A_PLUS.has_export
    assert EnergyType.A_PLUS_MINUS.has_export
    assert not EnergyType.A_PLUS_MINUS.has_reactive
    assert EnergyType.FOUR_QUADRANT.has_reactive
