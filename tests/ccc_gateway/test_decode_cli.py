"""``omnipower decode`` as a person uses it: hex, captures, keys, JSON, and clear failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccc_gateway.cli import main
from tests.vectors import RADIUS, frame, key

EK = (key(RADIUS, "encryption_key") or b"").hex()
AK = (key(RADIUS, "authentication_key") or b"").hex()
PLAIN = frame("no_1ph_list1_plain")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plain_frame_as_spaced_hex(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "decode", PLAIN.hex(" "))
    assert code == 0
    for text in (
        "HCS ok",
        "FCS ok",
        "han_nve_list_1",
        "current_l1",
        "2.9",
        "1 of 1 frames decoded",
    ):
        assert text in out


def test_json_output_carries_readings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "decode", frame(RADIUS).hex(), "--key", "0x" + EK, "--auth-key", AK, "--json"
    )
    assert code == 0
    (report,) = json.loads(out)
    assert report["ok"] is True
    assert report["list"]["kind"] == "dlms_push_1"
    assert report["invocation_counter"] == 493793
    assert report["readings"]["1.1.1.8.0.255"]["value"] == 866636
    assert report["readings"]["0.1.1.0.0.255"]["value"] == "2020-01-07T14:47:20"


def test_swapped_keys_get_a_named_error_and_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "decode", frame(RADIUS).hex(), "--key", AK, "--auth-key", EK, "--json"
    )
    assert code == 1
    (report,) = json.loads(out)
    assert report["error"]["name"] == "KeysSwapped"
    assert "KeyType 64" in report["error"]["hint"]


def test_capture_file_with_many_frames_and_garbage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = bytearray(PLAIN)
    damaged[50] ^= 0x10
    capture = tmp_path / "capture.raw"
    capture.write_bytes(b"\x00noise" + PLAIN + bytes(damaged) + frame(RADIUS) + PLAIN[:40])
    code, out, _ = run(capsys, "decode", "--file", str(capture), "--key", EK, "--auth-key", AK)
    assert code == 1
    assert "FcsError" in out
    assert "FrameTruncated" in out
    assert "2 of 4 frames decoded" in out


def test_hex_capture_with_comments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capture = tmp_path / "capture.hex"
    capture.write_text(f"# two pushes\n{PLAIN.hex()}\n{PLAIN.hex(' ')}\n")
    code, out, _ = run(capsys, "decode", "--file", str(capture))
    assert code == 0
    assert "2 of 2 frames decoded" in out


def test_bundled_example_decodes(capsys: pytest.CaptureFixture[str]) -> None:
    bundled = Path(__file__).parents[2] / "ccc_gateway" / "data" / "example_frames.hex"
    code, out, _ = run(capsys, "decode", "--file", str(bundled), "--key", EK, "--auth-key", AK)
    assert code == 0
    assert "2 of 2 frames decoded" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["decode", "zz"], "not hexadecimal"),
        (["decode", "7E", "--key", "1234"], "32 hex digits"),
        (["decode", "7E", "--auth-key", AK], "needs --key"),
        (["decode", "--file", "/nonexistent/capture.hex"], "cannot read"),
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err


def test_resolution_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "decode",
        frame(RADIUS).hex(),
        "--key",
        EK,
        "--auth-key",
        AK,
        "--energy-resolution",
        "10",
        "--voltage-resolution",
        "0.01",
        "--json",
    )
    assert code == 0
    (report,) = json.loads(out)
    assert report["readings"]["1.1.1.8.0.255"]["value"] == 8666360
    assert report["readings"]["1.1.32.7.0.255"]["scaler"] == -2
