"""``omnipower decode --port/--tcp``: decode a live CCC stream as it arrives.

For support: a user points it at the meter's port, sees every check of every frame, and can
save the raw bytes (``--save``) to attach to a bug report, where ``decode --file`` replays them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import BinaryIO, Final

from rich.console import Console

from .decode_report import NO_FRAMES, UsageError, no_frames_message, print_report, report_for
from .protocol import (
    FrameReader,
    FrameReceived,
    FrameRejected,
    Keys,
    Resolution,
    SecurityContext,
    SecurityPolicy,
)

__all__ = ["run_live"]

#: Line silence after which a partial frame is reported as truncated (a 2400-baud frame
#: arrives as a continuous burst; half a second of nothing means it ended).
SILENCE: Final = 0.5


async def _open(args: argparse.Namespace) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    if args.port:
        import serial_asyncio_fast

        reader, writer = await serial_asyncio_fast.open_serial_connection(
            url=args.port, baudrate=args.baud
        )
        return reader, writer
    host, _, port = str(args.tcp).rpartition(":")
    if not host or not port.isdigit():
        raise UsageError("--tcp takes HOST:PORT")
    return await asyncio.open_connection(host, int(port))


async def _live(
    args: argparse.Namespace,
    keys: Keys | None,
    resolution: Resolution,
    console: Console,
    save: BinaryIO | None,
    policy: SecurityPolicy = SecurityPolicy.AUTHENTICATED,
) -> int:
    try:
        stream, writer = await _open(args)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot open {args.port or args.tcp}: {exc}") from None
    where = f"{args.port} at {args.baud} 8N1" if args.port else f"{args.tcp} (TCP)"
    status = Console(stderr=True, highlight=False, soft_wrap=True)
    status.print(f"waiting for frames on {where}; Ctrl-C stops")
    try:
        return await _decode_stream(args, stream, keys, resolution, console, save, status, policy)
    finally:
        writer.close()


async def _decode_stream(
    args: argparse.Namespace,
    stream: asyncio.StreamReader,
    keys: Keys | None,
    resolution: Resolution,
    console: Console,
    save: BinaryIO | None,
    status: Console,
    policy: SecurityPolicy = SecurityPolicy.AUTHENTICATED,
) -> int:
    security = SecurityContext(keys=keys, policy=policy)
    frames = FrameReader()
    count = failed = received = 0
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + args.seconds if args.seconds else None
    next_progress = started + args.progress
    while args.count is None or count < args.count:
        now = loop.time()
        if count == 0 and now >= next_progress:
            # Until the first frame, say what the line carries: silence and garbage differ.
            status.print(f"{now - started:.0f} s: {received} bytes, {count} frames so far")
            next_progress = now + args.progress
        timeout = SILENCE if deadline is None else min(SILENCE, deadline - loop.time())
        if timeout <= 0:
            break
        events: list[FrameReceived | FrameRejected]
        try:
            chunk = await asyncio.wait_for(stream.read(4096), timeout)
        except TimeoutError:
            events = list(frames.flush())
        else:
            if not chunk:
                break  # the port closed
            received += len(chunk)
            if save is not None:
                save.write(chunk)
            events = frames.receive_data(chunk)
        for event in events:
            count += 1
            error = None if isinstance(event, FrameReceived) else event.error
            report = report_for(count, event.raw, error, security=security, resolution=resolution)
            failed += report.error is not None
            if args.json:
                sys.stdout.write(json.dumps(report.to_json()) + "\n")
                sys.stdout.flush()
            else:
                print_report(console, report)
    if count == 0:
        status.print(no_frames_message(received, args.seconds))
        return NO_FRAMES
    if not args.json:
        console.print(f"\n{count - failed} of {count} frames decoded")
    return 1 if failed else 0


def run_live(
    args: argparse.Namespace,
    *,
    keys: Keys | None,
    resolution: Resolution,
    console: Console,
    policy: SecurityPolicy = SecurityPolicy.AUTHENTICATED,
) -> int:
    """Decode until --count frames, --seconds elapsed, the port closes, or Ctrl-C."""
    save = Path(args.save).open("ab") if args.save else None  # noqa: SIM115 - closed below
    try:
        with contextlib.suppress(KeyboardInterrupt):
            return asyncio.run(_live(args, keys, resolution, console, save, policy))
        return 130
    finally:
        if save is not None:
            save.close()
