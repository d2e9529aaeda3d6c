"""``omnipower decode`` as a person uses it: hex, captures, keys, JSON, and clear failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccc_gateway.cli import main
from tests.e2e.frames import radius_push
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
    # With keys given, plaintext is refused (issue 10): the good frames are the same meter's.
    good = radius_push(0, invocation_counter=1000).frame
    damaged = bytearray(good)
    damaged[50] ^= 0x10
    capture = tmp_path / "capture.raw"
    capture.write_bytes(b"\x00noise" + good + bytes(damaged) + frame(RADIUS) + good[:40])
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
    """Two meters' pushes: each decodes with its own meter's settings, as the gateway would.

    Until issue 10 both decoded in one run with the Danish keys; a keyed meter now refuses
    plaintext, so the Norwegian frame decodes without keys and is refused with them.
    """
    bundled = Path(__file__).parents[2] / "ccc_gateway" / "data" / "example_frames.hex"
    _, keyed, _ = run(
        capsys, "decode", "--file", str(bundled), "--key", EK, "--auth-key", AK, "--json"
    )
    _, plain, _ = run(capsys, "decode", "--file", str(bundled), "--json")
    with_keys, without = json.loads(keyed), json.loads(plain)
    assert [r["ok"] for r in with_keys] == [False, True]
    assert with_keys[0]["error"]["name"] == "PlaintextRefused"
    assert [r["ok"] for r in without] == [True, False]
    assert without[1]["error"]["name"] == "MissingKey"


def test_plaintext_and_downgrade_are_refused_with_keys_and_explained(
    capsys: pytest.CaptureFixture[str],
) -> None:
    downgraded = radius_push(0, security_control=0x20).frame
    code, out, _ = run(capsys, "decode", PLAIN.hex(), "--key", EK, "--auth-key", AK)
    assert code == 1
    assert "PlaintextRefused" in out
    assert "remove its keys" in out
    code, out, _ = run(capsys, "decode", downgraded.hex(), "--key", EK, "--auth-key", AK)
    assert code == 1
    assert "UnauthenticatedRefused" in out
    assert 'security = "encryption_only"' in out
    code, out, _ = run(
        capsys, "decode", downgraded.hex(), "--key", EK, "--security", "encryption_only"
    )
    assert code == 0
    assert "policy encryption_only" in out
    assert "not protected against changes on the wire" in out


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
