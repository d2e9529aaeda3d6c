"""``omnipower decode``: decode frames and explain every check, for people and bug reports."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from rich.console import Console

from .decode_report import (
    NO_FRAMES,
    FrameReport,
    UsageError,
    no_frames_message,
    print_report,
    report_for,
)
from .protocol import (
    FrameReader,
    FrameReceived,
    Keys,
    OmnipowerError,
    Resolution,
    SecurityContext,
    SecurityPolicy,
)
from .protocol.p1 import P1TelegramReader

__all__ = ["add_decode_arguments", "parse_key", "read_capture", "run_decode"]

_SEPARATORS = re.compile(r"(0x)|[\s:,\-]", re.IGNORECASE)


def parse_hex(text: str, what: str) -> bytes:
    """Bytes from hex with any spacing, colons or 0x prefixes (as people paste them)."""
    cleaned = _SEPARATORS.sub("", text)
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise UsageError(f"{what} is not hexadecimal: {text[:60]!r}") from None


def parse_key(text: str, what: str) -> bytes:
    """A 16-byte key from the 32 hex digits a grid operator sends (``0x`` prefix allowed)."""
    raw = parse_hex(text, what)
    if len(raw) != 16:
        raise UsageError(f"{what} must be 32 hex digits (16 bytes), got {len(raw)} bytes")
    return raw


def add_decode_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``omnipower decode``."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("hex", nargs="?", help="one frame as hex (spaces allowed)")
    source.add_argument(
        "--file", type=Path, help="a capture: hex text or raw bytes, any number of frames"
    )
    source.add_argument("--port", help="read live from a serial device (e.g. /dev/ttyUSB0)")
    source.add_argument("--tcp", metavar="HOST:PORT", help="read live from a ser2net-style socket")
    parser.add_argument(
        "--baud", type=int, default=2400, help="serial speed for --port (CCC: 2400 8N1)"
    )
    parser.add_argument(
        "--save", type=Path, help="with --port/--tcp: also write the raw bytes to this file"
    )
    parser.add_argument("--count", type=int, help="with --port/--tcp: stop after this many frames")
    parser.add_argument(
        "--seconds", type=float, help="with --port/--tcp: stop after this many seconds"
    )
    parser.add_argument(
        "--progress",
        type=float,
        default=5.0,
        help="with --port/--tcp: until the first frame, report the bytes seen every this many "
        "seconds (default: 5)",
    )
    parser.add_argument("--key", help="encryption key, KeyType 64 (GPK60), 32 hex digits")
    parser.add_argument("--auth-key", help="authentication key, KeyType 65 (GPK61), 32 hex digits")
    parser.add_argument(
        "--security",
        choices=[p.value for p in SecurityPolicy],
        default=SecurityPolicy.AUTHENTICATED.value,
        help="as the meter's `security` setting: authenticated (default) accepts only pushes "
        "whose GCM tag verified; encryption_only also accepts security control 0x20 (no tag). "
        "With --key, plaintext frames are refused either way, as the gateway refuses them",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--energy-resolution",
        choices=["1", "10"],
        help="energy register resolution in Wh (default: 10 on HAN-NVE lists, 1 on DLMS push 1)",
    )
    parser.add_argument(
        "--voltage-resolution",
        choices=["1", "0.01"],
        default="1",
        help="voltage resolution in V (0.01 on some DK meters)",
    )
    parser.add_argument(
        "--current-resolution",
        choices=["0.01", "0.001"],
        help="current resolution in A (default: 0.001 on CT meters, type 685…, else 0.01)",
    )


def _resolution(args: argparse.Namespace) -> Resolution:
    return Resolution(
        energy_scaler=None
        if args.energy_resolution is None
        else int(args.energy_resolution == "10"),
        voltage_scaler=0 if args.voltage_resolution == "1" else -2,
        current_scaler=None
        if args.current_resolution is None
        else (-2 if args.current_resolution == "0.01" else -3),
    )


def read_capture(path: Path) -> bytes:
    """A capture file's bytes: hex text (``#`` comment lines allowed) or raw, as read."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    text = content.decode("latin-1")
    # Hex captures may carry '#' comment lines (provenance, notes).
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    if content[:1] != b"/" and re.fullmatch(r"[\s0-9A-Fa-fx:,\-]*", text):
        return parse_hex(text, str(path))
    return content


def _split_frames(data: bytes) -> list[tuple[bytes, OmnipowerError | None]]:
    """Frames of a capture, with framing errors kept in order."""
    if data[:1] == b"/":
        return [
            (t, None) if isinstance(t, bytes) else (b"", t)
            for t in P1TelegramReader().receive_data(data)
        ]
    reader = FrameReader()
    out: list[tuple[bytes, OmnipowerError | None]] = []
    for event in [*reader.receive_data(data), *reader.flush()]:
        if isinstance(event, FrameReceived):
            out.append((event.raw, None))
        else:
            out.append((event.raw, event.error))
    return out


def decode_all(
    data: bytes, *, security: SecurityContext, resolution: Resolution, single: bool
) -> list[FrameReport]:
    """A report per frame; one shared security context catches replays within a capture."""
    frames = [(data, None)] if single else _split_frames(data)
    return [
        report_for(index, raw, error, security=security, resolution=resolution)
        for index, (raw, error) in enumerate(frames, start=1)
    ]


def run_decode(args: argparse.Namespace) -> int:
    """Exit 0 when every frame decoded, 1 when any failed a check, 2 for a usage error, 3 when
    the capture or the line held no frame at all."""
    # Reports get pasted into bug trackers: never squeeze them into 80 columns.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    error_console = Console(stderr=True, highlight=False)
    try:
        keys = None
        if args.key:
            keys = Keys(
                parse_key(args.key, "--key"),
                parse_key(args.auth_key, "--auth-key") if args.auth_key else None,
            )
        elif args.auth_key:
            raise UsageError("--auth-key needs --key as well (the encryption key, KeyType 64)")
        policy = SecurityPolicy(args.security)
        if args.port or args.tcp:
            from .decode_live import run_live

            return run_live(
                args, keys=keys, resolution=_resolution(args), console=console, policy=policy
            )
        data = read_capture(args.file) if args.file else parse_hex(args.hex, "the frame")
        if not data:
            raise UsageError("nothing to decode")
    except UsageError as exc:
        error_console.print(f"omnipower decode: {exc}")
        return 2
    reports = decode_all(
        data,
        security=SecurityContext(keys=keys, policy=policy),
        resolution=_resolution(args),
        single=args.file is None,
    )
    if not reports:
        error_console.print(
            f"omnipower decode: {args.file}: {no_frames_message(len(data), None)}", soft_wrap=True
        )
        return NO_FRAMES
    if args.json:
        sys.stdout.write(json.dumps([r.to_json() for r in reports], indent=2) + "\n")
    else:
        for report in reports:
            print_report(console, report)
        failed = sum(r.error is not None for r in reports)
        console.print(f"\n{len(reports) - failed} of {len(reports)} frames decoded")
    return 1 if any(r.error is not None for r in reports) else 0
