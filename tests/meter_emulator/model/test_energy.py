"""Energy integrates exactly, is conserved, and does not depend on how time is stepped."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from meter_emulator.model import Meter, PhaseSupply, Supply
from meter_emulator.model.clock import SECOND, to_us
from meter_emulator.model.energy import NJ_PER_WH

from .helpers import SINGLE, START, THREE, Steps, config, load, meter

HOUR = timedelta(hours=1)


def test_one_kilowatt_for_one_hour_is_one_kilowatt_hour() -> None:
    m = meter(load(1000.0, 250.0))
    m.advance_to(START + HOUR)
    assert m.energy.nj["a_plus"] == 1000 * NJ_PER_WH
    assert m.energy.wh("a_plus") == 1000
    assert m.energy.wh("r_plus") == 250
    assert m.energy.wh("r1") == 250
    assert m.readings()["1.8.0"] == (1.0, "kWh")
    assert m.readings()["0.5.0"] == (1000, "imp")  # S0 at 1000 imp/kWh


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 3600), st.integers(-8000, 8000), st.integers(-3000, 3000)),
        min_size=1,
        max_size=12,
    ),
    st.lists(st.integers(1, 20_000), min_size=1, max_size=30),
)
def test_conservation_and_step_independence(
    segments: list[tuple[int, int, int]], cuts: list[int]
) -> None:
    changes = []
    at = START
    expected_net = 0
    for seconds, p, q in segments:
        changes.append((at, load(float(p), float(q)), ()))
        expected_net += p * 1000 * seconds * SECOND
        at += timedelta(seconds=seconds)
    changes.append((at, load(0.0), ()))
    end = at
    whole = Meter(config(), start=START, source=Steps(changes))
    whole.advance_to(end)
    sliced = Meter(config(), start=START, source=Steps(changes))
    moment = START
    for cut in cuts:
        moment += timedelta(milliseconds=cut)
        sliced.advance_to(min(moment, end))
    sliced.advance_to(end)
    assert whole.energy.nj == sliced.energy.nj
    nj = whole.energy.nj
    assert nj["a_plus"] - nj["a_minus"] == expected_net
    assert nj["r_plus"] == nj["r1"] + nj["r2"]
    assert nj["r_minus"] == nj["r3"] + nj["r4"]
    assert nj["a_plus_l1"] == nj["a_plus"]


def test_quadrants() -> None:
    changes = [
        (START, load(1000.0, 100.0), ()),  # Q1
        (START + HOUR, load(-1000.0, 200.0), ()),  # Q2
        (START + 2 * HOUR, load(-1000.0, -300.0), ()),  # Q3
        (START + 3 * HOUR, load(1000.0, -400.0), ()),  # Q4
        (START + 4 * HOUR, load(0.0), ()),
    ]
    m = Meter(config(), start=START, source=Steps(changes))
    m.advance_to(START + 5 * HOUR)
    wh = m.energy.snapshot_wh()
    assert (wh["r1"], wh["r2"], wh["r3"], wh["r4"]) == (100, 200, 300, 400)
    assert (wh["a_plus"], wh["a_minus"]) == (2000, 2000)
    assert wh["e_plus"] == math.floor(math.hypot(1000, 100) + math.hypot(1000, 400))
    assert wh["e_minus"] == math.floor(math.hypot(1000, 200) + math.hypot(1000, 300))


def test_three_phase_registers_per_phase_sum_to_the_total_when_all_import() -> None:
    supply = Supply(
        (PhaseSupply(230, 1000, 0), PhaseSupply(231, 2000, 0), PhaseSupply(229, 500, 0))
    )
    m = meter(supply, meter={"type_number": THREE})
    m.advance_to(START + HOUR)
    wh = m.energy.snapshot_wh()
    assert (wh["a_plus_l1"], wh["a_plus_l2"], wh["a_plus_l3"]) == (1000, 2000, 500)
    assert wh["a_plus"] == 3500


def test_net_total_with_one_phase_exporting() -> None:
    supply = Supply(
        (PhaseSupply(230, 1000, 0), PhaseSupply(230, -1500, 0), PhaseSupply(230, 200, 0))
    )
    m = meter(supply, meter={"type_number": THREE})
    m.advance_to(START + HOUR)
    wh = m.energy.snapshot_wh()
    assert wh["a_plus"] == 0  # the totals integrate the vector sum (-300 W)
    assert wh["a_minus"] == 300
    assert wh["a_minus_l2"] == 1500


def test_a_plus_only_meter_keeps_no_export_or_reactive_registers() -> None:
    m = meter(load(-500.0, 100.0), meter={"type_number": "6861111BN212101040"})
    m.advance_to(START + HOUR)
    assert not m.energy.has("a_minus")
    assert not m.energy.has("r_plus")
    assert m.energy.wh("a_plus") == 0
    snapshot = m.push_snapshot()
    assert "1.1.2.8.0.255" not in snapshot
    assert "1.1.3.7.0.255" not in snapshot


def test_display_formats_truncate_and_roll_over() -> None:
    from meter_emulator.model.display import format_value

    assert format_value(1234.5678, "kWh", (7, 2)) == "0001234.56"
    assert format_value(1234.0, "kWh", (7, 0)) == "0001234"
    assert format_value(12.345, "kWh", (6, 3)) == "000012.345"
    assert format_value(12_345_678.9, "kWh", (6, 1)) == "345678.9"
    m = meter(load(1234.0), software={"display_decimals": 2})
    m.advance_to(START + HOUR)
    assert m.readings()["1.8.0"] == (1.2, "kWh")  # 6.1: 100 Wh steps, truncated


def test_no_supply_no_energy_and_a_power_failure_event() -> None:
    changes = [
        (START, load(1000.0), ()),
        (START + HOUR, load(1000.0, voltage_v=0.0), ()),
        (START + 2 * HOUR, load(1000.0), ()),
    ]
    m = Meter(config(), start=START, source=Steps(changes))
    m.advance_to(START + 3 * HOUR)
    assert m.energy.wh("a_plus") == 2000
    kinds = [e.kind for e in m.events.entries]
    assert "power_failure" in kinds
    assert "power_restored" in kinds
    assert m.debiting.hour_counter == 2
    assert to_us(START) < m.now_us


def test_single_phase_type_constant() -> None:
    assert config(meter={"type_number": SINGLE}).phases == 1
    assert datetime(2024, 1, 1, tzinfo=UTC) == START
