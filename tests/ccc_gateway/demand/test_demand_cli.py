"""``omnipower demand``: a user's capture or load profile in, the month's peaks and step out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ccc_gateway.cli import main
from tests.vectors import RADIUS, frame

EXAMPLE = Path(__file__).parents[3] / "ccc_gateway" / "data" / "example_frames.hex"
# Radius Elnet's published keys for the Danish example push (README, tests/vectors).
EK = "5AD84121D9D20B364B7A11F3C1B5827F"
AK = "AFB3F93E3E7204EDB3C27F96DBD51AE0"


def _profile(path: Path, hourly_kw: list[float], *, start: datetime) -> Path:
    register = 500.0
    rows = ["end,a_plus_kwh", f"{start.isoformat()},{register:.3f}"]
    t = start
    for kw in hourly_kw:
        t += timedelta(hours=1)
        register += kw
        rows.append(f"{t.isoformat()},{register:.3f}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_profile_gives_the_month_peaks_and_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Oslo midnight of 5 January is 23:00 UTC on the 4th.
    start = datetime(2026, 1, 4, 23, tzinfo=UTC)
    day = [1.0] * 24
    hours = [*day[:17], 8.0, *day[18:], *day[:9], 4.0, *day[10:], *day[:20], 3.0, *day[21:]]
    csv_file = _profile(tmp_path / "lp.csv", [*hours, 1.0], start=start)
    assert main(["demand", "--csv", str(csv_file), "--rule", "no-capacity-steps",
                 "--timezone", "Europe/Oslo"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "Month 2026-01: billing value 5.000 kW, step from 5 kW (463 NOK a month)" in out
    assert "1. 2026-01-05 17:00-18:00  8.000 kW" in out
    assert main(["demand", "--csv", str(csv_file), "--rule", "no-capacity-steps",
                 "--timezone", "Europe/Oslo", "--json"]) == 0  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert [p["average_kw"] for p in payload["peaks"]] == [8.0, 4.0, 3.0]
    assert payload["step"]["index"] == 2
    assert payload["missing_intervals"] == 0


def test_a_profile_too_coarse_for_the_rule_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = _profile(tmp_path / "lp.csv", [1.0] * 5, start=datetime(2026, 2, 2, tzinfo=UTC))
    args = ["demand", "--csv", str(csv_file), "--rule", "be-capacity-tariff", "--timezone", "UTC"]
    assert main(args) == 2
    assert (
        "60-minute readings cannot give this rule's 15-minute intervals" in capsys.readouterr().err
    )


def test_a_file_without_the_columns_says_which(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("when,kwh\n2026-01-01T00:00:00+00:00,1\n")
    assert (
        main(["demand", "--csv", str(bad), "--rule", "se-power-charge", "--timezone", "UTC"]) == 2
    )
    assert "needs a time column" in capsys.readouterr().err


def test_a_real_capture_decodes_with_its_keys(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["demand", "--file", str(EXAMPLE), "--rule", "be-capacity-tariff",
            "--timezone", "Europe/Copenhagen", "--key", EK, "--auth-key", AK, "--json"]  # fmt: skip
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["billing_kw"] == 2.5
    assert payload["interval"]["complete"] is False  # one push cannot see a whole quarter


def test_a_capture_with_the_wrong_keys_gives_nothing_to_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "radius.hex"
    capture.write_text(frame(RADIUS).hex())
    args = ["demand", "--file", str(capture), "--rule", "be-capacity-tariff",
            "--timezone", "Europe/Copenhagen", "--key", AK, "--auth-key", EK]  # fmt: skip
    assert main(args) == 2
    assert "no push with a time stamp passed every check" in capsys.readouterr().err
