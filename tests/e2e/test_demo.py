"""`omnipower demo` end to end: emulator on a pty → gateway → the demo's broker → the view."""

from __future__ import annotations

import subprocess
import sys

import pytest

from omnipower_demo.run import DemoOptions, serve_demo

pytestmark = pytest.mark.slow


async def test_the_view_receives_checked_readings_from_the_emulated_meter() -> None:
    intro: list[str] = []
    pushes: list[str] = []
    state = await serve_demo(
        DemoOptions(speed=50.0, seconds=6.0), on_intro=intro.append, on_push=pushes.append
    )
    assert any("mosquitto_sub" in line for line in intro)
    (meter_id,) = state.meters
    assert meter_id == "28046399"
    screen = state.meters[meter_id]
    power = screen.payloads["power"]
    energy = screen.payloads["energy"]
    assert power["active_power_import_w"] >= 0
    assert power["voltage_l1_v"] > 200
    assert energy["active_energy_import_kwh"] >= 0
    assert screen.messages["power"] >= 5  # a push every 10 simulated s at x50
    assert state.bridges == {"demo": "online"}
    assert len(pushes) == screen.messages["power"]
    # The optical head, polled over DLMS: state the push does not carry.
    assert screen.payloads["breaker"]["state"] == "connected"
    assert 1 <= screen.payloads["tariff"]["active_tariff"] <= 4
    assert screen.payloads["prepayment"]["enabled"] is True
    assert 0 < screen.payloads["prepayment"]["credit_kwh"] <= 150
    info = screen.payloads["info"]
    assert info["capabilities"]["breaker"] is True
    assert "breaker" in info["capabilities"]["commands"]
    diagnostics = screen.payloads.get("diagnostics")
    if diagnostics is not None:
        assert diagnostics["errors"] == {}


def test_the_command_line_runs_and_stops_by_itself() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ccc_gateway.cli", "demo", "--seconds", "3", "--speed", "50"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "meter 28046399" in result.stdout  # not a TTY: one plain line per push
    assert "Traceback" not in result.stderr


def test_bad_options_are_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ccc_gateway.cli", "demo", "--broker", "http://x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "mqtt://host:port" in result.stderr
