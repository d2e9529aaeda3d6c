"""Many emulated meters in one process, each on its own pty, and what they really pushed.

The failover tests (two Mosquittos) and the cluster run (RabbitMQ) need the same two things:
real emulated meters whose CCC pushes a gateway reads over pseudo-terminals, and the list of
register updates those pushes carried, to compare with what the consumers received. The updates
come from decoding the very frames the emulator wrote (with the gateway's own decoder and payload
builder), so "sent" means what went onto the line, not what a model intended.

Run as a process (the cluster run starts several):

    python -m tests.cluster.fleet --dir DIR --first-serial N --meters 10 --speed 20

makes ``DIR/ccc-<serial>`` pty links, prints ``ready`` once they exist, pushes until SIGTERM
and then writes ``DIR/frames-<first serial>.txt`` (one ``<wall time> <serial> <hex>`` a line).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from ccc_gateway.mqtt.payloads import energy_payload, meter_time
from ccc_gateway.protocol import decode_frame
from meter_emulator.cli import build_meter, push_config
from meter_emulator.model import parse_config
from meter_emulator.ports.ccc_push import CccPush
from meter_emulator.ports.links import PtyLink, line_time
from meter_emulator.runtime import EmulatorRuntime, SimClock

__all__ = [
    "ZONE",
    "EmulatedMeter",
    "Update",
    "WholeFrameLink",
    "gateway_meter",
    "keys_for",
    "meters",
    "quiesce",
    "read_frames",
    "register_updates",
]

#: The emulated meters' zone (their clock is Danish local time), for the gateway and the check.
ZONE: Final = ZoneInfo("Europe/Copenhagen")
CCC_BAUD: Final = 2400
#: One register update as a consumer de-duplicates it: (meter, register, meter time).
Update = tuple[str, str, str]


def keys_for(serial: int) -> tuple[bytes, bytes]:
    """A distinct, reproducible (encryption, authentication) key pair per meter."""
    digest = hashlib.sha256(f"omnipower-test-{serial}".encode()).digest()
    return digest[:16], digest[16:]


class WholeFrameLink(PtyLink):
    """A pty link that writes each frame in one piece, then waits its line time, and records
    what it wrote.

    :class:`PtyLink` paces a frame chunk by chunk, like the real line. With 200 meters and 20
    gateways on two shared cores an emulator process can be starved for longer than the
    gateway's 0.5 s silence period between two chunks, and the gateway rightly reports the
    frame as truncated, a fault of this machine's load that a 2400 baud line never has. These
    tests are about the broker, so a frame goes onto the pty whole. ``written`` is what went
    onto the line: a frame the runtime dropped from a full backlog is not in it.
    """

    def __init__(self, *, baudrate: int, speed: float, symlink: Path) -> None:
        super().__init__(baudrate=baudrate, speed=speed, symlink=symlink)
        self.written: list[tuple[float, bytes]] = []

    async def write(self, data: bytes) -> None:
        async with self._write_lock:
            view = memoryview(data)
            while view:
                if self._master < 0:
                    return  # unplugged: the bytes are lost, as on a real line
                try:
                    view = view[os.write(self._master, view) :]
                except BlockingIOError:
                    await asyncio.sleep(0.005)
                except OSError:
                    return
            self.written.append((time.time(), data))
            await asyncio.sleep(line_time(len(data), self.baudrate, speed=self.speed))


@dataclass(slots=True)
class EmulatedMeter:
    """One emulated meter pushing HAN-NVE list 2 (power and registers) every 10 s of its time."""

    serial: int
    link_path: Path
    speed: float
    link: WholeFrameLink | None = None
    runtime: EmulatorRuntime | None = None

    def build(self, start: datetime) -> EmulatorRuntime:
        ek, ak = keys_for(self.serial)
        config = parse_config(
            {
                "meter": {"serial": self.serial},
                "push": {
                    "list": "han_nve_list_2",
                    "hourly": False,
                    "encryption_key": ek.hex(),
                    "authentication_key": ak.hex(),
                },
            }
        )
        meter, _ = build_meter(
            config, scenario="household", seed=self.serial, start=start, state=None
        )
        self.link = WholeFrameLink(baudrate=CCC_BAUD, speed=self.speed, symlink=self.link_path)
        self.runtime = EmulatorRuntime(
            meter,
            SimClock(start, speed=self.speed),
            CccPush(push_config(config), next_invocation_counter=meter.next_invocation_counter),
            [self.link],
        )
        return self.runtime

    @property
    def frames(self) -> list[tuple[float, bytes]]:
        """(wall time, frame) of every frame written whole onto the pty."""
        return [] if self.link is None else self.link.written


def meters(directory: Path, first_serial: int, count: int, speed: float) -> list[EmulatedMeter]:
    """*count* meters with consecutive serials, their pty links in *directory*."""
    return [
        EmulatedMeter(serial, directory / f"ccc-{serial}", speed)
        for serial in range(first_serial, first_serial + count)
    ]


@contextlib.asynccontextmanager
async def running(
    fleet: list[EmulatedMeter], start: datetime
) -> AsyncIterator[list[EmulatedMeter]]:
    """Open every meter's pty and push until the block ends."""
    async with contextlib.AsyncExitStack() as stack:
        tasks = []
        for meter in fleet:
            runtime = meter.build(start)
            assert meter.link is not None
            await stack.enter_async_context(meter.link)
            tasks.append(asyncio.create_task(runtime.run()))
        try:
            yield fleet
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def quiesce(fleet: list[EmulatedMeter]) -> None:
    """Stop pushing and let the frames on the line finish: a frame cut off by the stop would
    count as sent but could never arrive."""
    for meter in fleet:
        if meter.runtime is not None:
            meter.runtime.push_enabled = False
    longest = max((len(frame) for meter in fleet for _, frame in meter.frames), default=0)
    speed = min((meter.speed for meter in fleet), default=1.0)
    await asyncio.sleep(longest * 10 / CCC_BAUD / speed + 0.3)


def gateway_meter(meter_serial: int, link: Path) -> dict[str, Any]:
    """The gateway's ``[[meters]]`` table for one emulated meter."""
    ek, ak = keys_for(meter_serial)
    return {
        "name": f"m{meter_serial}",
        "encryption_key": ek.hex(),
        "authentication_key": ak.hex(),
        "ccc": {"port": str(link)},
    }


def register_updates(serial: int, frames: Iterable[bytes]) -> Iterator[tuple[Update, float]]:
    """Every register value the frames carried, as the gateway publishes it on ``energy``."""
    ek, ak = keys_for(serial)
    for frame in frames:
        push = decode_frame(frame, encryption_key=ek, authentication_key=ak)
        ts = meter_time(push, ZONE, datetime.now(UTC))
        payload = energy_payload(push, ts)
        if payload is None:
            continue
        for key, value in payload.items():
            if key not in ("ts", "schema"):
                yield (str(serial), key, payload["ts"]), value


def read_frames(path: Path) -> Iterator[tuple[float, int, bytes]]:
    """The ``<wall time> <serial> <hex>`` lines a fleet process wrote."""
    with path.open() as lines:
        for line in lines:
            wall, serial, data = line.split()
            yield float(wall), int(serial), bytes.fromhex(data)


async def _main(args: argparse.Namespace) -> None:
    directory: Path = args.dir
    fleet = meters(directory, args.first_serial, args.meters, args.speed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running(fleet, datetime.now(UTC).replace(microsecond=0)):
        print("ready", flush=True)
        await stop.wait()
        await quiesce(fleet)
    out = directory / f"frames-{args.first_serial}.txt"
    with out.open("w") as lines:
        for meter in fleet:
            for wall, frame in meter.frames:
                lines.write(f"{wall:.6f} {meter.serial} {frame.hex()}\n")
    print(f"wrote {out}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster.fleet")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--first-serial", type=int, required=True)
    parser.add_argument("--meters", type=int, default=10)
    parser.add_argument("--speed", type=float, default=10.0)
    asyncio.run(_main(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
