"""Whatever happens to the meter, its invariants hold (hypothesis drives commands and time)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from meter_emulator.model import Meter
from meter_emulator.model.prepayment import NJ_PER_KWH
from meter_emulator.scenarios import Household

from .helpers import START, config

COMMANDS = st.sampled_from(
    [
        ("advance", 0),
        ("breaker", 1),
        ("breaker", 2),
        ("breaker", 3),
        ("button", 0),
        ("top_up", 2),
        ("tariff", 3),
        ("tariff", 0),
        ("shift", -900),
        ("shift", 1800),
        ("magnet", 1),
        ("magnet", 0),
    ]
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(COMMANDS, st.integers(1, 7200)), min_size=1, max_size=25))
def test_invariants_under_any_sequence(steps: list[tuple[tuple[str, int], int]]) -> None:
    cfg = config(
        prepayment={"enabled": True, "credit_kwh": 3.0, "alarm_limit_kwh": 1.0},
        breaker={"cutoff_bases": ["prepayment", "current_power"], "power_threshold_w": 4000},
    )
    m = Meter(cfg, start=START, source=Household(seed=9, load_scale=2.0))
    moment = START
    topped_up_kwh = 3.0
    previous = dict(m.energy.nj)
    for (command, value), seconds in steps:
        try:
            match command:
                case "breaker":
                    m.write_coupling(value)
                case "button":
                    m.press_button()
                case "top_up":
                    m.top_up(value)
                    topped_up_kwh += value
                case "tariff":
                    m.force_tariff(value)
                case "shift":
                    m.shift_time(value)
                case "magnet":
                    m.set_magnet(bool(value))
        except ValueError:
            pass  # refused: must have changed nothing that matters below
        moment += timedelta(seconds=seconds)
        m.advance_to(moment)
        # registers never go down
        assert all(m.energy.nj[k] >= v for k, v in previous.items())
        previous = dict(m.energy.nj)
        # no current through an open breaker
        if not m.breaker.closed:
            assert m.measured.active_mw == 0
            assert all(p.current_a == 0 for p in m.measured.phases)
        # prepayment bookkeeping, exact: credit + energy used - unsettled debt = all ever paid
        p = m.prepayment
        assert p.credit_nj >= 0
        paid = round(topped_up_kwh * NJ_PER_KWH)
        assert p.credit_nj + m.energy.nj["a_plus"] - p.used_after_zero_nj == paid
        # the tariff registers add up
        assert sum(m.energy.nj[f"a_plus_t{t}"] for t in range(1, 5)) == m.energy.nj["a_plus"]
        # a credit of zero outside an exception window means the breaker is open
        if p.credit_nj == 0:
            assert not m.breaker.closed or m.breaker.state.value == 13
