"""The runtime: simulated time drives the model, pushes go out at hh:mm:x0 of the meter clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ccc_gateway.protocol import decode_frame
from ccc_gateway.protocol.push import ListKind
from meter_emulator.cli import push_config
from meter_emulator.model import ConstantLoad, Meter, PhaseSupply, Supply, parse_config
from meter_emulator.ports.ccc_push import CccPush, CccPushConfig
from meter_emulator.runtime import EmulatorRuntime, SimClock

START = datetime(2024, 7, 1, 9, 59, 55, tzinfo=UTC)
UTC_PLUS_2 = timezone(timedelta(hours=2))  # meter clock 11:59:55 (CEST)


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _runtime(speed: float = 10.0) -> tuple[EmulatorRuntime, FakeTime, list[bytes]]:
    """A runtime, its fake monotonic clock, and the frames it pushed."""
    meter = Meter(
        parse_config({}),
        start=START,
        source=ConstantLoad(Supply((PhaseSupply(231.0, 1500.0, 300.0),))),
    )
    fake = FakeTime()
    frames: list[bytes] = []
    runtime = EmulatorRuntime(
        meter,
        SimClock(START, speed=speed, monotonic=fake),
        CccPush(
            CccPushConfig(hourly_offset_s=25), next_invocation_counter=meter.next_invocation_counter
        ),
        [],
        on_push=frames.append,
    )
    return runtime, fake, frames


def _meter(runtime: EmulatorRuntime) -> Meter:
    assert isinstance(runtime.meter, Meter)
    return runtime.meter


def _run(runtime: EmulatorRuntime, fake: FakeTime, real_seconds: float, tick: float = 0.1) -> None:
    meter = runtime.meter
    meter.advance_to(runtime.clock.now())
    previous = meter.meter_clock()
    for _ in range(round(real_seconds / tick)):
        fake.now += tick
        previous = runtime.step(previous)


def test_pushes_every_ten_seconds_of_meter_time_with_the_models_values() -> None:
    runtime, fake, frames = _runtime()
    _run(runtime, fake, 3.1)  # 31 simulated seconds
    pushes = [decode_frame(f) for f in frames]
    times = [
        p.apdu_datetime.to_naive()
        for p in pushes
        if p.apdu_datetime and p.list_kind is ListKind.HAN_NVE_LIST_1
    ]
    assert times == [datetime(2024, 7, 1, 12, 0, s) for s in (0, 10, 20)]
    assert all(p.apdu_datetime and p.apdu_datetime.dst for p in pushes)
    assert {p.readings["1.1.1.7.0.255"].value for p in pushes} == {1500}
    assert {p.readings["1.1.32.7.0.255"].value for p in pushes} == {231}
    assert _meter(runtime).now_us > 0


def test_the_hourly_list_goes_out_at_its_offset() -> None:
    runtime, fake, frames = _runtime()
    _run(runtime, fake, 3.1)
    assert len(frames) == 4  # three list 1, one list 2 at 12:00:25
    hourly = [decode_frame(f) for f in frames if len(f) > 200]
    assert len(hourly) == 1
    assert hourly[0].apdu_datetime is not None
    assert hourly[0].apdu_datetime.to_naive() == datetime(2024, 7, 1, 12, 0, 25)
    assert hourly[0].readings["1.1.1.8.0.255"].raw == _meter(runtime).energy.wh("a_plus") // 10


def test_each_push_carries_the_registers_at_its_trigger_time() -> None:
    meter = Meter(
        parse_config({"software": {"display_decimals": 4}, "push": {"list": "dlms_push_1"}}),
        start=START,
        source=ConstantLoad(Supply((PhaseSupply(231.0, 3600.0, 0.0),))),
    )
    fake = FakeTime()
    frames: list[bytes] = []
    runtime = EmulatorRuntime(
        meter,
        SimClock(START, speed=1000, monotonic=fake),  # 100 simulated seconds per tick
        CccPush(push_config(meter.config), next_invocation_counter=meter.next_invocation_counter),
        [],
        on_push=frames.append,
    )
    _run(runtime, fake, 0.3)
    pushes = [decode_frame(f) for f in frames]
    assert len(pushes) == 3  # one per tick: a meter does not replay missed pushes
    for push in pushes:
        assert push.apdu_datetime is not None
        trigger = push.apdu_datetime.to_datetime(UTC_PLUS_2)
        seconds = (trigger - START).total_seconds()
        assert push.readings["1.1.1.8.0.255"].raw == int(seconds)  # 3600 W: 1 Wh per second


def test_no_push_at_a_time_the_spring_change_skips() -> None:
    meter = Meter(parse_config({}), start=datetime(2024, 3, 31, 0, 59, 45, tzinfo=UTC))
    fake = FakeTime()
    frames: list[bytes] = []
    runtime = EmulatorRuntime(
        meter,
        SimClock(datetime(2024, 3, 31, 0, 59, 45, tzinfo=UTC), speed=100, monotonic=fake),
        CccPush(
            CccPushConfig(hourly_offset_s=25), next_invocation_counter=meter.next_invocation_counter
        ),
        [],
        on_push=frames.append,
    )
    _run(runtime, fake, 0.5)  # 50 simulated seconds across 02:00 → 03:00 local
    times = [decode_frame(f).apdu_datetime for f in frames]
    naive = [t.to_naive() for t in times if t is not None]
    assert datetime(2024, 3, 31, 2, 0, 25) not in naive
    assert naive[0] == datetime(2024, 3, 31, 1, 59, 50)
    assert naive[-1] == datetime(2024, 3, 31, 3, 0, 30)
    assert [t.dst for t in times if t is not None] == [False] + [True] * (len(naive) - 1)


def test_the_repeated_autumn_hour_pushes_twice_with_the_dst_bit_telling_them_apart() -> None:
    start = datetime(2024, 10, 27, 0, 59, 45, tzinfo=UTC)  # 02:59:45 CEST
    meter = Meter(
        parse_config({"software": {"display_decimals": 4}, "push": {"list": "dlms_push_1"}}),
        start=start,
        source=ConstantLoad(Supply((PhaseSupply(231.0, 3600.0, 0.0),))),
    )
    fake = FakeTime()
    frames: list[bytes] = []
    runtime = EmulatorRuntime(
        meter,
        SimClock(start, speed=10, monotonic=fake),
        CccPush(push_config(meter.config), next_invocation_counter=meter.next_invocation_counter),
        [],
        on_push=frames.append,
    )
    _run(runtime, fake, 3.0)  # 30 simulated seconds: 02:59:45 CEST → 02:00:15 CET
    stamps = [decode_frame(f).apdu_datetime for f in frames]
    seen = [(t.to_naive().time().isoformat(), t.dst) for t in stamps if t is not None]
    assert seen == [("02:59:50", True), ("02:00:00", False), ("02:00:10", False)]
    energies = [decode_frame(f).readings["1.1.1.8.0.255"].raw for f in frames]
    assert energies == [5, 15, 25]  # 1 Wh per second since 02:59:45 CEST, in true time
    assert meter.meter_clock() == datetime(2024, 10, 27, 2, 0, 15)


def test_no_supply_no_push() -> None:
    runtime, fake, frames = _runtime()
    _meter(runtime).set_override(Supply((PhaseSupply(0.0),)), seconds=60)
    _run(runtime, fake, 3.0)
    assert frames == []
    _run(runtime, fake, 4.0)  # the supply is back after 60 simulated seconds
    assert frames


def test_a_clock_set_back_does_not_replay_pushes() -> None:
    runtime, fake, frames = _runtime()
    _run(runtime, fake, 2.0)
    sent = len(frames)
    _meter(runtime).shift_time(-3600)
    _run(runtime, fake, 0.2)
    assert len(frames) == sent
    _run(runtime, fake, 1.0)
    times = [decode_frame(f).apdu_datetime for f in frames[sent:]]
    assert all(t is not None and t.hour == 11 for t in times)


def test_push_disabled_sends_nothing() -> None:
    runtime, fake, frames = _runtime()
    runtime.push_enabled = False
    _run(runtime, fake, 3.0)
    assert frames == []


def test_sim_clock_rejects_naive_times_and_bad_speeds() -> None:
    with pytest.raises(ValueError, match="aware"):
        SimClock(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="positive"):
        SimClock(START, speed=0)
    fake = FakeTime()
    clock = SimClock(START, speed=60, monotonic=fake)
    fake.now += 1.5
    assert clock.now() == START + timedelta(seconds=90)
