"""Gateway latency: the last byte of a push on the wire → the power message at a subscriber.

Real parts only: a pseudo-terminal as the CCC line, the gateway service reading it, a Mosquitto
child process on a free loopback port, and an aiomqtt subscriber. Each encrypted push (the
published Radius frame re-encrypted with rising invocation counters) is written in one piece and
timed from the moment the write returns; frames are spaced so that each one's latency stands
alone. Target (issue 6 §7): p99 ≤ 5 ms on loopback.

``python -m benchmarks.bench_gateway_latency [frames]`` runs it alone; :func:`run` is the entry
point for the benchmark runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import aiomqtt

from ccc_gateway.config import parse_config
from ccc_gateway.service import Gateway
from tests.e2e.frames import RADIUS_KEYS, radius_push

__all__ = ["run"]

#: Pause between pushes: long enough that a push never waits behind the previous one.
SPACING = 0.005


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _mosquitto(directory: Path) -> Iterator[int]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = _free_port()
    config = directory / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    config.chmod(0o644)
    directory.chmod(0o755)  # run as root, mosquitto drops to its own user
    process = subprocess.Popen(
        [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("mosquitto did not start") from None
                time.sleep(0.01)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


async def _measure(frames: int, broker_port: int, state_dir: Path) -> list[float]:
    master, slave = pty.openpty()
    tty.setraw(slave)
    tty.setraw(master)
    config = parse_config(
        {
            "gateway": {"id": "bench", "state_dir": str(state_dir), "timezone": "UTC"},
            "mqtt": {"host": "127.0.0.1", "port": broker_port},
            "meters": [
                {
                    "name": "bench",
                    "encryption_key": RADIUS_KEYS.encryption_key.hex(),
                    "authentication_key": (RADIUS_KEYS.authentication_key or b"").hex(),
                    "ccc": {"port": os.ttyname(slave)},
                }
            ],
        }
    )
    pushes = [radius_push(i) for i in range(frames)]
    loop = asyncio.get_running_loop()
    sent: dict[int, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()
    gateway = Gateway(config)
    gateway_task = asyncio.create_task(gateway.run())
    try:
        async with aiomqtt.Client("127.0.0.1", broker_port, identifier="bench-sub") as client:
            await client.subscribe("omnipower/+/power")

            async def listen() -> None:
                async for message in client.messages:
                    arrived = loop.time()
                    assert isinstance(message.payload, bytes)
                    power = json.loads(message.payload)["active_power_import_w"]
                    if power in sent:
                        latencies.append(arrived - sent.pop(power))
                        if len(latencies) == frames:
                            done.set()

            listener = asyncio.create_task(listen())
            for _ in range(1000):  # up to 10 s for the port and the broker connection
                if gateway.publisher.connected and (
                    gateway.channels[0].view.ports["ccc"].state.value == "open"
                ):
                    break
                await asyncio.sleep(0.01)
            else:
                raise RuntimeError("the gateway did not open its port or reach the broker")
            for push in pushes:
                os.write(master, push.frame)
                sent[push.active_power_w] = loop.time()
                await asyncio.sleep(SPACING)
            try:
                async with asyncio.timeout(10):
                    await done.wait()
            except TimeoutError:
                raise RuntimeError(
                    f"{frames - len(latencies)} of {frames} pushes never arrived; "
                    f"gateway saw {gateway.channels[0].view.frames_ok} ok, "
                    f"errors {dict(gateway.channels[0].view.errors)}"
                ) from None
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
    finally:
        gateway_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gateway_task
        os.close(master)
        os.close(slave)
    return latencies


def run(frames: int = 1000) -> dict[str, float]:
    """p50/p99/max latency in milliseconds over *frames* encrypted pushes."""
    if shutil.which("mosquitto") is None and not os.path.exists("/usr/sbin/mosquitto"):
        raise RuntimeError("mosquitto is not installed (apt-get install -y mosquitto)")
    with tempfile.TemporaryDirectory(prefix="omnipower-bench-") as tmp:
        directory = Path(tmp)
        with _mosquitto(directory) as broker_port:
            latencies = asyncio.run(_measure(frames, broker_port, directory / "state"))
    ms = sorted(x * 1000 for x in latencies)
    return {
        "frames": float(len(ms)),
        "p50_ms": statistics.median(ms),
        "p99_ms": ms[min(len(ms) - 1, round(0.99 * len(ms)) - 1)],
        "max_ms": ms[-1],
    }


def main() -> None:
    frames = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    result = run(frames)
    print(
        f"gateway latency, last byte on the pty → power message at a subscriber "
        f"({result['frames']:.0f} frames): p50 {result['p50_ms']:.2f} ms, "
        f"p99 {result['p99_ms']:.2f} ms, max {result['max_ms']:.2f} ms (target p99 ≤ 5 ms)"
    )


if __name__ == "__main__":
    main()
