"""Sags, swells and interruptions per EN 50160; tamper events and status words; relays; display."""

from __future__ import annotations

from datetime import timedelta

from meter_emulator.model import Meter
from meter_emulator.model.quality import VoltageState
from meter_emulator.model.status import EventStatus, MeterStatus

from .helpers import START, Steps, config, load, meter

SECOND = timedelta(seconds=1)


def test_sag_and_swell_counters_and_records() -> None:
    changes = [
        (START + 10 * SECOND, load(100.0, voltage_v=180.0), ()),
        (START + 11 * SECOND, load(100.0, voltage_v=170.0), ()),
        (START + 13 * SECOND, load(100.0), ()),
        (START + 20 * SECOND, load(100.0, voltage_v=260.0), ()),
        (START + 25 * SECOND, load(100.0), ()),
        (START + 30 * SECOND, load(100.0, voltage_v=200.0), ()),
        (START + 31 * SECOND, load(100.0), ()),
    ]
    m = Meter(config(), start=START, source=Steps(changes, initial=load(100.0)))
    m.advance_to(START + 60 * SECOND)
    assert m.quality.count(1, VoltageState.SAG) == 2
    assert m.quality.count(1, VoltageState.SWELL) == 1
    first = m.quality.records[0]
    assert (first.kind, first.duration_s, first.extreme_v) == (VoltageState.SAG, 3.0, 170.0)
    assert m.event_status & EventStatus.VOLTAGE_SAG
    assert m.event_status & EventStatus.VOLTAGE_SWELL
    assert [e.kind for e in m.events.entries].count("voltage_sag") == 2
    assert m.readings()["32.32.0"] == (2, "")


def status(m: Meter) -> MeterStatus:
    return m.meter_status


def test_tamper_temporary_and_latched() -> None:
    m = meter(load(100.0))
    m.set_magnet(True)
    assert status(m) == MeterStatus.MAGNET
    m.set_magnet(True)  # still the same event
    m.set_cover(True)
    assert status(m) == MeterStatus.MAGNET | MeterStatus.COVER_OPEN
    m.set_magnet(False)
    m.set_cover(False)
    assert status(m) == MeterStatus.NONE
    assert m.event_status & EventStatus.MAGNET  # latched until cleared
    assert m.event_status & EventStatus.COVER_OPENED
    assert "tamper:latched" in m.display_text()
    assert [e.detail for e in m.events.entries if e.kind == "tamper"] == [
        "magnet",
        "terminal cover opened",
    ]
    assert (m.tamper.magnet_count, m.tamper.cover_count) == (1, 1)
    m.clear_event_status()
    assert m.event_status == EventStatus.NONE


def test_relays_by_command_and_by_tariff() -> None:
    m = meter(load(100.0), software={"load_control": 1})
    assert m.relays.relay1  # tariff 1 at night... once a switch happens
    m.set_relay(2, True)
    assert m.readings()["96.52.3"] == (1, "")
    m.advance_to(START + timedelta(hours=6))  # Monday 07:00 local: tariff 2
    assert m.tariff == 2
    assert not m.relays.relay1


def test_display_lists_and_the_return_to_auto() -> None:
    m = meter(load(1500.0), display={"auto": ["1.8.0", "1.7.0"], "manual": ["2.8.0"]})
    assert m.display_text().startswith("1.8.0")
    m.advance_to(START + 10 * SECOND)
    assert m.display_text().splitlines()[0].split() == ["1.7.0", "1.5", "kW"]
    m.display_press()
    assert m.display_text().startswith("1.8.0")  # the legal reading leads the manual list
    m.display_press()
    assert m.display_text().startswith("2.8.0")
    assert "manual" in m.display_text()
    m.advance_to(START + 131 * SECOND)
    assert "auto" in m.display_text()


def test_ten_minute_voltage_variations() -> None:
    changes = [
        (START + timedelta(minutes=10), load(100.0, voltage_v=200.0), ()),  # a long undervoltage
        (START + timedelta(minutes=30), load(100.0), ()),
    ]
    m = Meter(config(), start=START, source=Steps(changes, initial=load(100.0)))
    m.advance_to(START + timedelta(hours=1))
    assert m.quality.counters["variation_l1"] == 2
    assert m.readings()["32.37.0"] == (2, "")
    assert m.quality.count(1, VoltageState.SAG) == 1  # and one (long) sag


def test_three_phase_unbalance() -> None:
    from meter_emulator.model import PhaseSupply, Supply

    from .helpers import THREE

    supply = Supply((PhaseSupply(230, 100, 0), PhaseSupply(240, 100, 0), PhaseSupply(220, 100, 0)))
    m = meter(supply, meter={"type_number": THREE})
    assert round(m.quality.unbalance_pct, 2) == round(10 / 230 * 100, 2)


def test_breaker_events_are_recorded_once() -> None:
    m = meter(load(100.0), prepayment={"enabled": True, "credit_kwh": 5})
    m.write_coupling(1)
    m.write_coupling(2)
    m.press_button()
    kinds = [e.detail for e in m.events.entries if e.kind == "breaker_changed"]
    assert kinds == ["4->1 command", "1->8 release command", "8->4 push button"]
