"""``omnipower decode --port/--tcp`` on real ptys and sockets, as a user runs it."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import tty
from pathlib import Path

import pytest

from ccc_gateway.cli import main
from tests.e2e.frames import radius_push
from tests.vectors import RADIUS, frame, key

PLAIN = frame("no_1ph_list1_plain")
EK = (key(RADIUS, "encryption_key") or b"").hex()
AK = (key(RADIUS, "authentication_key") or b"").hex()


def _serve_once(payload: bytes) -> tuple[int, threading.Thread]:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def run() -> None:
        connection, _ = server.accept()
        with connection:
            for start in range(0, len(payload), 50):  # in pieces, like a serial line
                connection.sendall(payload[start : start + 50])
                time.sleep(0.01)
            time.sleep(0.8)  # silence: a truncated tail must be reported, not waited for
        server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return port, thread


def test_tcp_stream_with_a_bad_frame_and_a_cut_tail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # With keys given, plaintext is refused (issue 10): the good frames are the same meter's,
    # re-encrypted below the Radius vector's invocation counter.
    good = radius_push(0, invocation_counter=1000).frame
    damaged = bytearray(good)
    damaged[60] ^= 0x01
    stream = good + bytes(damaged) + frame(RADIUS) + good[:50]
    port, thread = _serve_once(stream)
    saved = tmp_path / "capture.raw"
    code = main(
        [
            "decode",
            "--tcp",
            f"127.0.0.1:{port}",
            "--key",
            EK,
            "--auth-key",
            AK,
            "--json",
            "--count",
            "4",
            "--save",
            str(saved),
            "--seconds",
            "10",
        ]
    )
    thread.join(5)
    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert [r["ok"] for r in reports] == [True, False, True, False]
    assert reports[1]["error"]["name"] == "FcsError"
    assert reports[2]["invocation_counter"] == 493793
    assert reports[3]["error"]["name"] == "FrameTruncated"
    assert saved.read_bytes() == stream  # the capture replays with decode --file


def test_serial_port_live(capsys: pytest.CaptureFixture[str]) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)

    def feed() -> None:
        time.sleep(0.3)  # after the decoder opened the port (opening flushes input)
        os.write(master, PLAIN + PLAIN)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        code = main(["decode", "--port", path, "--count", "2", "--seconds", "10"])
    finally:
        writer.join(5)
        os.close(master)
        os.close(slave)
    out = capsys.readouterr().out
    assert code == 0
    assert "2 of 2 frames decoded" in out
    assert "current_l1" in out


def test_unreachable_port_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["decode", "--port", "/dev/does-not-exist"])
    assert code == 2
    assert "cannot open /dev/does-not-exist" in capsys.readouterr().err


def _serve_then_idle(payload: bytes, idle: float) -> tuple[int, threading.Thread]:
    """A socket that sends *payload* (maybe nothing) and then keeps the line open, silent."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def run() -> None:
        connection, _ = server.accept()
        with connection:
            connection.sendall(payload)
            time.sleep(idle)
        server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return port, thread


def test_a_silent_line_says_where_it_waits_counts_and_exits_with_what_to_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port, thread = _serve_then_idle(b"", idle=3)
    code = main(["decode", "--tcp", f"127.0.0.1:{port}", "--seconds", "1.5", "--progress", "0.5"])
    thread.join(5)
    err = capsys.readouterr().err
    assert code == 3
    assert f"waiting for frames on 127.0.0.1:{port} (TCP)" in err
    assert "0 bytes, 0 frames so far" in err
    assert "no bytes arrived in 1.5 s" in err
    assert "pin 5" in err
    assert "2400 baud 8N1" in err


def test_a_serial_port_names_its_line_settings(capsys: pytest.CaptureFixture[str]) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    try:
        code = main(["decode", "--port", path, "--seconds", "0.6"])
    finally:
        os.close(master)
        os.close(slave)
    err = capsys.readouterr().err
    assert code == 3
    assert f"waiting for frames on {path} at 2400 8N1" in err


def test_garbage_on_the_line_is_counted_and_named(capsys: pytest.CaptureFixture[str]) -> None:
    garbage = b"\x00\xff\x13 not a meter \x55" * 20
    port, thread = _serve_then_idle(garbage, idle=3)
    code = main(["decode", "--tcp", f"127.0.0.1:{port}", "--seconds", "1.5", "--progress", "0.5"])
    thread.join(5)
    err = capsys.readouterr().err
    assert code == 3
    assert f"{len(garbage)} bytes, 0 frames so far" in err
    assert f"{len(garbage)} bytes, no frame start" in err
    assert "baud rate or parity" in err


def test_a_garbage_capture_file_is_not_a_success(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "notes.txt"
    text = "this is not a capture\nnor hex at all\n"
    capture.write_text(text)
    code = main(["decode", "--file", str(capture)])
    captured = capsys.readouterr()
    assert code == 3
    assert f"{len(text)} bytes, no frame start" in captured.err
    assert "0 of 0 frames decoded" not in captured.out
