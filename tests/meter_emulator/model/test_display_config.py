"""Remote display configuration and the display symbols of the data sheet (issue 13)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meter_emulator.model import Meter, PhaseSupply, Supply, parse_config
from meter_emulator.model.config import DEFAULT_AUTO
from meter_emulator.model.source import ConstantLoad
from meter_emulator.model.state import dump_state, restore_state

START = datetime(2024, 6, 3, 10, 0, tzinfo=UTC)
RADIO = "6861111BN242101040"  # X11 = 1, the default
NO_RADIO = "6861111BN242001040"


def meter(**tables: object) -> Meter:
    return Meter(parse_config(dict(tables)), start=START)


def test_a_list_is_replaced_within_its_limit() -> None:
    m = meter()
    m.configure_display("battery", ("1.8.0", "2.8.0", "1.8.1"))
    assert m.display.config.battery == ("1.8.0", "2.8.0", "1.8.1")
    m.configure_display("auto", ("1.7.0",) * 16)
    assert m.display_text().startswith("1.7.0")


@pytest.mark.parametrize(
    ("name", "codes", "message"),
    [
        ("auto", ("1.8.0",) * 17, "1 to 16"),
        ("manual", ("1.8.0",) * 31, "1 to 30"),
        ("battery", ("1.8.0",) * 9, "1 to 8"),
        ("battery", (), "1 to 8"),
        ("manual", ("2.8.0", "1.7.0"), "legal reading 1.8.0"),
        ("auto", ("1.8.0", "99.9.9"), "no reading 99.9.9"),
        ("service", ("1.8.0",), "no display list"),
    ],
)
def test_a_refused_list_changes_nothing(name: str, codes: tuple[str, ...], message: str) -> None:
    m = meter()
    before = m.display.config
    with pytest.raises(ValueError, match=message):
        m.configure_display(name, codes)
    assert m.display.config == before


def test_remote_lists_survive_a_restart_and_the_others_follow_the_config() -> None:
    m = meter()
    m.configure_display("manual", ("1.8.0", "32.7.0"))
    again = meter(display={"auto": ["1.7.0"]})
    restore_state(again, dump_state(m))
    assert again.display.config.manual == ("1.8.0", "32.7.0")
    assert again.display.config.auto == ("1.7.0",)
    assert meter().display.config.auto == DEFAULT_AUTO


def test_module_indication_and_radio_network_symbols() -> None:
    plain = meter(meter={"type_number": NO_RADIO}).display_text().splitlines()[1].split()
    assert "radio" not in plain
    assert not any(flag.startswith("module") for flag in plain)
    assert meter(meter={"type_number": RADIO}).identity.type_number.radio
    flags = meter(meter={"type_number": RADIO}, software={"primary_module": 1}).display_text()
    assert "radio" in flags.split()
    assert "module:primary" in flags.split()


def test_the_text_field_tells_a_cut_off_and_low_credit() -> None:
    m = meter(prepayment={"enabled": True, "credit_kwh": 1.0, "alarm_limit_kwh": 5.0})
    assert "text:CREDIT-LOW" in m.display_text()
    m.write_coupling(1)  # a disconnect by command is the breaker symbol's, not a cut-off
    assert "text:CUT-OFF" not in m.display_text()
    supply = Supply((PhaseSupply(230.0, 1000.0, 0.0),))
    config = parse_config({"prepayment": {"enabled": True, "credit_kwh": 0.01}})
    cut = Meter(config, start=START, source=ConstantLoad(supply))
    cut.advance_to(START + timedelta(minutes=5))
    assert cut.breaker.state.name == "CUTOFF_PREPAYMENT"
    assert "text:CUT-OFF" in cut.display_text()
