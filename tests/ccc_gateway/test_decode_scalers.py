"""decode says which scalers it assumed (the push carries none) and flags impossible values."""

from __future__ import annotations

import json

import pytest

from ccc_gateway.cli import main
from ccc_gateway.plausibility import assumed_scalers, implausible
from ccc_gateway.protocol import Resolution, decode_frame
from tests.vectors import frame

LIST2 = frame("no_1ph_list2_plain")


def test_the_assumed_scalers_are_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", LIST2.hex()]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "scalers assumed (not sent by the meter)" in out
    assert "Wh ×10^1" in out  # HAN-NVE energy registers count 10 Wh
    assert "--energy-resolution" in out
    assert "implausible" not in out


def test_the_json_report_carries_them() -> None:
    push = decode_frame(LIST2)
    assert assumed_scalers(push) == {"A": -2, "V": 0, "Wh": 1, "varh": 1}
    assert implausible(push) == []


def test_a_wrong_scaler_shows_as_an_implausible_value_with_the_fix() -> None:
    push = decode_frame(LIST2, resolution=Resolution(energy_scaler=5, voltage_scaler=2))
    flags = implausible(push)
    assert any("voltage_l1" in f and "--voltage-resolution 0.01" in f for f in flags)
    assert any("active_energy_import" in f and "--energy-resolution 1" in f for f in flags)


def test_json_output_lists_assumptions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--json", LIST2.hex()]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["assumed_scalers"]["Wh"] == 1
    assert report["implausible"] == []
