"""The demo's view shows exactly what arrived over MQTT, and nothing it cannot trust."""

from __future__ import annotations

import json

from rich.console import Console

from omnipower_demo.live_view import DemoState, render, summary_line


def _text(state: DemoState) -> str:
    console = Console(width=100, record=True, color_system=None)
    console.print(render(state))
    return console.export_text()


def _power(**values: float) -> bytes:
    return json.dumps({"ts": "2026-11-26T12:00:00+01:00", "schema": 1, **values}).encode()


def test_power_and_energy_are_shown_with_units() -> None:
    state = DemoState()
    assert state.apply("omnipower/27581522/power", _power(net_power_w=-1234, voltage_l1_v=231))
    assert state.apply("omnipower/27581522/energy", _power(active_energy_import_kwh=12345.678))
    text = _text(state)
    assert "Meter 27581522" in text
    assert "-1,234 W" in text
    assert "231.0 V" in text
    assert "12,345.678 kWh" in text


def test_bridge_availability_and_rejections_are_visible() -> None:
    state = DemoState()
    state.apply("omnipower/bridge/pi/state", b"offline")
    diagnostics = {"frames_ok": 7, "errors": {"fcs": 2, "hcs": 1}}
    state.apply("omnipower/1/diagnostics", json.dumps(diagnostics).encode())
    text = _text(state)
    assert "gateway pi: offline" in text
    assert "7 / 3 (fcs 2, hcs 1)" in text
    assert state.bridges == {"pi": "offline"}


def test_foreign_and_malformed_messages_are_not_shown() -> None:
    state = DemoState()
    assert not state.apply("other/1/power", _power(net_power_w=1))
    assert not state.apply("omnipower/1/cmd/breaker", b"{}")
    assert not state.apply("omnipower/1/power", b"not json")
    assert not state.apply("omnipower/1/power", b"[1, 2]")
    assert state.meters == {}
    assert state.undecodable == 2
    assert "waiting for the first push" in _text(state)


def test_summary_line_for_non_interactive_terminals() -> None:
    state = DemoState()
    state.apply("omnipower/9/power", _power(net_power_w=500, voltage_l1_v=229.5))
    state.apply("omnipower/9/energy", _power(active_energy_import_kwh=1.5))
    line = summary_line(state)
    assert line.startswith("meter 9  2026-11-26T12:00:00+01:00")
    assert "net 500 W" in line
    assert "U1 229.5 V" in line
    assert "A+ 1.500 kWh" in line


def test_optical_state_is_shown_when_present() -> None:
    state = DemoState()
    state.apply(
        "omnipower/1/tariff", json.dumps({"active_tariff": 2, "source": "calendar"}).encode()
    )
    state.apply("omnipower/1/breaker", json.dumps({"state": "cutoff_prepayment"}).encode())
    state.apply(
        "omnipower/1/prepayment",
        json.dumps({"enabled": True, "credit_kwh": 0.5, "low_credit": True}).encode(),
    )
    text = _text(state)
    assert "T2 (calendar) / cutoff prepayment" in text
    assert "0.500 kWh" in text
