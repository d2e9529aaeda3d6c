"""The emulator's control commands: each changes the meter, bad input changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from meter_emulator.control import ControlServer
from meter_emulator.model import ConstantLoad, Meter, PhaseSupply, Supply, parse_config
from meter_emulator.model.state import dump_state
from meter_emulator.ports.ccc_push import CccPush, CccPushConfig
from meter_emulator.ports.links import TcpLink
from meter_emulator.runtime import EmulatorRuntime, SimClock
from meter_emulator.session import control_handlers

START = datetime(2024, 1, 8, 10, tzinfo=UTC)


@pytest.fixture
def served() -> tuple[Meter, ControlServer]:
    meter = Meter(
        parse_config({"prepayment": {"enabled": True, "credit_kwh": 10}}),
        start=START,
        source=ConstantLoad(Supply((PhaseSupply(230.0, 800.0, 100.0),))),
    )
    ccc = CccPush(CccPushConfig(), next_invocation_counter=meter.next_invocation_counter)
    runtime = EmulatorRuntime(meter, SimClock(START), ccc, [])
    link = TcpLink(port=0, baudrate=2400)
    # handle_line is called directly: the socket is never opened
    return meter, ControlServer(Path("unused.sock"), control_handlers(meter, runtime, ccc, link))


async def call(server: ControlServer, cmd: str, **args: Any) -> dict[str, Any]:
    return await server.handle_line(json.dumps({"cmd": cmd, "args": args}).encode())


async def test_commands_change_the_meter(served: tuple[Meter, ControlServer]) -> None:
    meter, server = served
    assert (await call(server, "set_load", active_power_w=2500, voltage_v=231))["ok"]
    assert meter.push_snapshot()["1.1.1.7.0.255"] == 2500
    assert (await call(server, "cover", open=True))["result"] is True
    assert (await call(server, "magnet", active=True))["result"] is True
    assert (await call(server, "sag", voltage_v=150, seconds=2))["ok"]
    assert meter.quality.counters["sag_l1"] == 1
    assert (await call(server, "tariff", tariff=4))["result"] == 4
    assert (await call(server, "relay", relay=2, on=True))["result"] == {
        "relay1": False,
        "relay2": True,
    }
    assert (await call(server, "breaker", value=1))["result"] == 1
    assert (await call(server, "top_up", kwh=5))["result"] == 15.0
    assert (await call(server, "set_time", local="2024-01-08T11:30:00"))["ok"]
    assert meter.local() == datetime(2024, 1, 8, 11, 30)
    assert (await call(server, "fault", name="bad_fcs", count=2))["result"] == [
        "bad_fcs",
        "bad_fcs",
    ]
    assert (await call(server, "display_button"))["result"].startswith("1.8.0")
    assert (await call(server, "fail_supply", seconds=30))["ok"]
    assert not meter.is_powered()
    state = (await call(server, "state"))["result"]
    json.dumps(state)  # JSON-ready
    assert state["tamper"] == {"magnet": True, "cover_open": True}
    assert state["breaker"]["coupling_state"] == 1


@pytest.mark.parametrize(
    ("cmd", "args", "message"),
    [
        ("set_load", {"active_power_w": "lots"}, "number"),
        ("set_load", {"active_power_w": 100, "voltage_v": 1000}, "at most"),
        ("breaker", {"value": 3}, "only from state 8"),
        ("breaker", {"value": 9}, "at most"),
        ("top_up", {"kwh": -1}, "at least"),
        ("tariff", {"tariff": 5}, "at most"),
        ("relay", {"relay": 3, "on": True}, "at most"),
        ("set_time", {"local": "2024-03-31T02:30:00"}, "does not exist"),
        ("set_time", {"local": "2024-01-01T00:00:00+01:00"}, "without an offset"),
        ("fault", {"name": "gremlins"}, "one of"),
        ("fault", {"name": "wrong_key"}, "encrypted"),
        ("unplug", {"seconds": 1}, "pty"),
        ("nope", {}, "unknown command"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    served: tuple[Meter, ControlServer], cmd: str, args: dict[str, Any], message: str
) -> None:
    meter, server = served
    before = dump_state(meter)
    reply = await call(server, cmd, **args)
    assert not reply["ok"]
    assert message in reply["error"]
    assert dump_state(meter) == before


async def test_injected_events_reach_the_meter_logs_at_their_simulated_time(
    served: tuple[Meter, ControlServer],
) -> None:
    """Issue 11: what the control socket injects is logged by the model when it happens."""
    from datetime import timedelta

    from ccc_gateway.protocol.omnipower_logs import EventCode, PowerQualityCode, TariffSource

    meter, server = served
    assert (await call(server, "cover", open=True))["ok"]
    meter.advance_to(START + timedelta(seconds=30))
    assert (await call(server, "cover", open=False))["ok"]
    assert (await call(server, "swell", voltage_v=260, seconds=3))["ok"]
    meter.advance_to(START + timedelta(minutes=1))
    assert (await call(server, "tariff", tariff=2))["ok"]
    assert (await call(server, "fail_supply", seconds=120))["ok"]
    meter.advance_to(START + timedelta(minutes=5))
    assert (await call(server, "shift_time", seconds=-30))["ok"]
    events = [
        (e.code, e.local.strftime("%H:%M:%S"), e.duration_ms) for e in meter.event_log.entries
    ]
    assert events == [
        (EventCode.TERMINAL_COVER_OPENED, "11:00:00", 0),  # 10:00 UTC is 11:00 CET
        (EventCode.TERMINAL_COVER_CLOSED, "11:00:30", 30_000),
        (EventCode.TARIFF_CHANGED, "11:01:00", 0),
        (EventCode.POWER_DOWN, "11:01:00", 0),
        (EventCode.POWER_UP, "11:03:00", 120_000),
        (EventCode.CLOCK_ADJUSTED_OLD, "11:05:00", 0),
        (EventCode.CLOCK_ADJUSTED_NEW, "11:04:30", 0),
    ]
    assert meter.event_log.entries[2].source is TariffSource.FORCED
    state = (await call(server, "state"))["result"]
    assert [e["event"] for e in state["event_log"]][:2] == [
        "terminal_cover_opened",
        "terminal_cover_closed",
    ]
    assert state["event_log"][4]["duration_ms"] == 120_000
    assert [e["event"] for e in state["pq_log"]] == ["voltage_swell", "interruption"]
    assert state["billing"]["last_period"] is None  # no debiting stop yet
    assert (await call(server, "debiting_stop"))["ok"]
    billing = (await call(server, "state"))["result"]["billing"]
    assert billing["last_period"]["debiting_stop_counter"] == 1
    assert billing["accumulated_w"]["p_plus"] == billing["last_period"]["p_plus_max_w"]
    (swell, interruption) = meter.pq_log.entries
    assert (swell.code, swell.duration_ms, swell.extreme_v) == (
        PowerQualityCode.VOLTAGE_SWELL,
        3000,
        260.0,
    )
    assert (interruption.code, interruption.local.strftime("%H:%M:%S")) == (
        PowerQualityCode.INTERRUPTION,
        "11:03:00",
    )
