"""Prepayment: credit runs out → state 7 → top-up → release → reconnect, exactly on energy."""

from __future__ import annotations

from datetime import timedelta

from meter_emulator.model import CouplingState, Meter
from meter_emulator.model.clock import to_us
from meter_emulator.model.prepayment import NJ_PER_KWH

from .helpers import START, Steps, config, load, low, meter, state

S = CouplingState
HOUR = timedelta(hours=1)


def prepaid(credit_kwh: float = 2.0, **extra: object) -> dict[str, object]:
    return {"enabled": True, "credit_kwh": credit_kwh, "alarm_limit_kwh": 1.0, **extra}


def test_running_out_top_up_release_reconnect() -> None:
    m = meter(load(1000.0), prepayment=prepaid())
    m.advance_to(START + HOUR)
    assert not low(m)  # exactly at the alarm limit
    m.advance_to(START + HOUR + timedelta(seconds=1))
    assert low(m)
    assert any(e.kind == "low_credit" for e in m.events.entries)
    m.advance_to(START + 3 * HOUR)
    assert state(m) is S.CUTOFF_PREPAYMENT
    assert m.prepayment.credit_nj == 0
    # it cut exactly when 2 kWh had been used, not at the end of a step
    assert m.energy.nj["a_plus"] == 2 * NJ_PER_KWH
    cut = m.breaker.log[-1].at_us
    assert cut == to_us(START + 2 * HOUR)
    assert m.push_snapshot()["1.1.1.7.0.255"] == 0
    m.top_up(5.0)
    assert state(m) is S.AWAITING_RECONNECT
    assert m.prepayment.credit_kwh == 5.0
    m.write_coupling(3)
    m.advance_to(START + 4 * HOUR)
    assert state(m) is S.CONNECTED
    assert m.energy.wh("a_plus") == 3000
    assert m.prepayment.credit_kwh == 4.0
    assert m.readings()["130.0.4"] == (5.0, "kWh")


def test_automatic_reconnect_after_top_up() -> None:
    m = meter(load(1000.0), prepayment=prepaid(), breaker={"automatic_reconnect": True})
    m.advance_to(START + 3 * HOUR)
    m.top_up(1.0)
    assert state(m) is S.CONNECTED


def test_exception_window_keeps_power_on_and_counts_credit_used() -> None:
    # local 01:00-07:00 is UTC 00:00-06:00 in winter
    m = meter(load(1000.0), prepayment=prepaid(1.0, exception_start="01:00", exception_end="07:00"))
    m.advance_to(START + 2 * HOUR)
    assert state(m) is S.CONNECTED
    assert m.prepayment.used_after_zero_nj == 1 * NJ_PER_KWH
    assert m.readings()["130.0.6"] == (240, "min")
    m.advance_to(START + 6 * HOUR)
    assert state(m) is S.CUTOFF_PREPAYMENT
    assert m.breaker.log[-1].at_us == to_us(START + 6 * HOUR)  # at the window's end
    assert m.prepayment.used_after_zero_nj == 5 * NJ_PER_KWH
    m.top_up(3.0)  # settles the 5 kWh used after zero first
    assert m.prepayment.credit_nj == 0
    assert m.prepayment.used_after_zero_nj == 2 * NJ_PER_KWH
    assert state(m) is S.CUTOFF_PREPAYMENT


def test_lowmax_days_expire() -> None:
    changes = [(START, load(1000.0), ()), (START + HOUR + timedelta(minutes=30), load(0.0), ())]
    m = Meter(
        config(prepayment=prepaid(low_max_days=2)),
        start=START,
        source=Steps(changes),
    )
    m.advance_to(START + timedelta(days=2))
    assert state(m) is S.CONNECTED
    m.advance_to(START + timedelta(days=2, hours=2))
    assert state(m) is S.PREPAYMENT_LOWMAX_EXPIRED
    m.top_up(10.0)
    assert state(m) is S.AWAITING_RECONNECT


def test_prepayment_is_kept_when_disabled() -> None:
    m = meter(load(1000.0))
    m.advance_to(START + HOUR)
    assert not m.prepayment.enabled
    assert "130.0.0" not in m.readings()


def test_prepayment_without_restriction_ignores_the_exception_window() -> None:
    m = meter(
        load(1000.0),
        prepayment=prepaid(1.0, exception_start="01:00", exception_end="07:00"),
        breaker={"cutoff_bases": ["prepayment_no_restriction"]},
    )
    m.advance_to(START + 2 * HOUR)
    assert state(m) is S.CUTOFF_PREPAYMENT
    assert m.breaker.log[-1].at_us == to_us(START + HOUR)
