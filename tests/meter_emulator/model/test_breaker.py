"""The CouplingState machine ([DLMS] §3): commands, button, automatic cut-offs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meter_emulator.model import BreakerRefused, CouplingState, Meter
from meter_emulator.model.breaker import Breaker
from meter_emulator.model.config import BreakerConfig

from .helpers import START, Steps, config, load, meter, state

S = CouplingState
MINUTE = timedelta(minutes=1)


def test_disconnect_release_reconnect() -> None:
    m = meter(load(1000.0))
    assert m.write_coupling(1) is S.DISCONNECTED
    m.advance_to(START + timedelta(hours=1))
    assert m.energy.wh("a_plus") == 0  # no energy counted while disconnected
    assert m.push_snapshot()["1.1.1.7.0.255"] == 0
    assert m.push_snapshot()["1.1.31.7.0.255"] == 0
    assert m.push_snapshot()["1.1.32.7.0.255"] == 230  # the grid side still has voltage
    with pytest.raises(BreakerRefused, match="only from state 8"):
        m.write_coupling(3)
    assert m.write_coupling(2) is S.AWAITING_RECONNECT
    assert m.write_coupling(3) is S.CONNECTED
    m.advance_to(START + timedelta(hours=2))
    assert m.energy.wh("a_plus") == 1000
    assert [(r.before, r.after) for r in m.breaker.log] == [
        (S.CONNECTED, S.DISCONNECTED),
        (S.DISCONNECTED, S.AWAITING_RECONNECT),
        (S.AWAITING_RECONNECT, S.CONNECTED),
    ]


def test_release_only_from_disconnected() -> None:
    m = meter(load(1000.0))
    with pytest.raises(BreakerRefused, match="only from state 1"):
        m.write_coupling(2)
    with pytest.raises(BreakerRefused):
        m.write_coupling(7)
    assert state(m) is S.CONNECTED
    assert not m.breaker.log


def test_push_button() -> None:
    m = meter(load(1000.0))
    assert m.press_button() is S.PUSH_BUTTON
    assert m.press_button() is S.CONNECTED
    m.write_coupling(1)
    with pytest.raises(BreakerRefused, match="push button"):
        m.press_button()  # needs a release first
    m.write_coupling(2)
    assert m.press_button() is S.CONNECTED


def test_button_without_release_requirement() -> None:
    m = meter(load(1000.0), breaker={"button_needs_release": False})
    m.write_coupling(1)
    assert m.press_button() is S.CONNECTED


def test_meter_without_breaker_refuses_and_always_conducts() -> None:
    m = meter(load(1000.0), meter={"type_number": "6861111BN240101040"})
    assert m.breaker.closed
    with pytest.raises(BreakerRefused, match="no breaker"):
        m.write_coupling(1)


def test_initially_disconnected_by_z19() -> None:
    m = meter(load(1000.0), software={"breaker_position": 2})
    assert state(m) is S.DISCONNECTED


@pytest.mark.parametrize("automatic", [True, False])
def test_power_threshold_warning_cutoff_and_reconnect(automatic: bool) -> None:
    changes = [(START, load(1000.0), ()), (START + MINUTE, load(6000.0), ())]
    m = Meter(
        config(
            breaker={
                "cutoff_bases": ["current_power"],
                "power_threshold_w": 5000,
                "warning_s": 30,
                "reconnect_delay_s": 60,
                "automatic_reconnect": automatic,
            }
        ),
        start=START,
        source=Steps(changes),
    )
    m.advance_to(START + MINUTE + timedelta(seconds=29))
    assert state(m) is S.PRE_CUTOFF_WARNING
    m.advance_to(START + MINUTE + timedelta(seconds=30))
    assert state(m) is S.CUTOFF
    m.advance_to(START + MINUTE + timedelta(seconds=90))
    # automatic: reconnected, and the load still over the threshold is warned again
    assert state(m) is (S.PRE_CUTOFF_WARNING if automatic else S.AWAITING_RECONNECT)
    assert m.energy.wh("a_plus") == (1000 * 60 + 6000 * 30) // 3600  # nothing while cut off


def test_log_only_keeps_the_breaker_closed() -> None:
    changes = [
        (START, load(1000.0), ()),
        (START + MINUTE, load(6000.0), ()),
        (START + 2 * MINUTE, load(100.0), ()),
    ]
    m = Meter(
        config(breaker={"cutoff_bases": ["log_only"], "power_threshold_w": 5000}),
        start=START,
        source=Steps(changes),
    )
    m.advance_to(START + MINUTE)
    assert state(m) is S.LOG_ONLY
    assert m.breaker.closed
    m.advance_to(START + 3 * MINUTE)
    assert state(m) is S.CONNECTED
    assert len(m.breaker.log) == 2


def test_overvoltage_and_neutral_fault() -> None:
    from meter_emulator.model import PhaseSupply, Supply

    changes = [
        (START + MINUTE, load(500.0, voltage_v=270.0), ()),
        (START + 2 * MINUTE, load(500.0, voltage_v=230.0), ()),
        (START + 3 * MINUTE, Supply((PhaseSupply(230, 500, 0),), neutral_fault=True), ()),
        (START + 4 * MINUTE, load(500.0), ()),
    ]
    m = Meter(
        config(
            breaker={"cutoff_bases": ["overvoltage", "neutral_fault"], "automatic_reconnect": True}
        ),
        start=START,
        source=Steps(changes, initial=load(500.0)),
    )
    m.advance_to(START + MINUTE)
    assert state(m) is S.OVERVOLTAGE
    m.advance_to(START + 2 * MINUTE)
    assert state(m) is S.CONNECTED
    m.advance_to(START + 3 * MINUTE)
    assert state(m) is S.NEUTRAL_FAULT
    m.advance_to(START + 4 * MINUTE)
    assert state(m) is S.CONNECTED


COMMANDS = st.lists(st.sampled_from(["w1", "w2", "w3", "button", "w9"]), max_size=30)


@given(COMMANDS)
def test_every_command_sequence_ends_in_a_valid_state_or_is_refused(commands: list[str]) -> None:
    breaker = Breaker(BreakerConfig())
    for command in commands:
        before = breaker.state
        try:
            if command == "button":
                breaker.press_button(0)
            else:
                breaker.write(0, int(command[1]))
        except BreakerRefused:
            assert breaker.state is before  # a refused command changes nothing
        assert breaker.state in S
        assert breaker.closed == (breaker.state is S.CONNECTED)


def test_a_reconnected_overload_is_cut_again() -> None:
    m = Meter(
        config(
            breaker={
                "cutoff_bases": ["current_power"],
                "power_threshold_w": 5000,
                "warning_s": 10,
                "reconnect_delay_s": 20,
                "automatic_reconnect": True,
            }
        ),
        start=START,
        source=Steps([], initial=load(6000.0)),
    )
    m.advance_to(START + timedelta(seconds=10))
    assert state(m) is S.CUTOFF
    m.advance_to(START + timedelta(seconds=30))
    assert state(m) is S.PRE_CUTOFF_WARNING  # reconnected, still too much: warned again
    m.advance_to(START + timedelta(seconds=40))
    assert state(m) is S.CUTOFF


@pytest.mark.parametrize("automatic", [True, False])
def test_load_control_input(automatic: bool) -> None:
    m = meter(
        load(1000.0),
        breaker={"cutoff_bases": ["load_controlled"], "automatic_reconnect": automatic},
    )
    assert m.set_load_control_input(True) is S.CUTOFF
    m.advance_to(START + timedelta(hours=1))
    assert m.energy.wh("a_plus") == 0
    expected = S.CONNECTED if automatic else S.AWAITING_RECONNECT
    assert m.set_load_control_input(False) is expected


def test_load_control_input_without_the_basis_does_nothing() -> None:
    m = meter(load(1000.0))
    assert m.set_load_control_input(True) is S.CONNECTED
