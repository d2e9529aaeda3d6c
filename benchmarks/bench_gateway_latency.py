"""Gateway latency: the last byte of a push on the wire → the power message at a subscriber.

Real parts only: a pseudo-terminal as the CCC line, the gateway service reading it, a Mosquitto
child process on a free loopback port, and an aiomqtt subscriber. Each encrypted push (the
published Radius frame re-encrypted with rising invocation counters) is written in one piece and
timed from the moment the write returns; frames are spaced so that each one's latency stands
alone. Target (issue 6 §7): p99 ≤ 5 ms on loopback.

:func:`run_many` measures the other half of issue 6 §7: one gateway process (``omnipower
gateway``, a child process measured through /proc) serving 100 encrypted meters on ptys at 10 s
pushes, its CPU share of one core and its RSS.

``python -m benchmarks.bench_gateway_latency [frames] [seconds]`` runs both; :func:`run` and
:func:`run_many` are the entry points for the benchmark runner.
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

__all__ = ["run", "run_many"]

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


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def _many_config(
    directory: Path, broker_port: int, ttys: list[str], demand: str | None = None
) -> Path:
    ek = RADIUS_KEYS.encryption_key.hex()
    ak = (RADIUS_KEYS.authentication_key or b"").hex()
    lines = [
        f'[gateway]\nid = "bench"\nstate_dir = "{directory / "state"}"\ntimezone = "UTC"\n',
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker_port}\n',
    ]
    for index, path in enumerate(ttys):
        lines.append(
            f'[[meters]]\nname = "m{index}"\nserial = "{90000000 + index}"\n'
            f'encryption_key = "{ek}"\nauthentication_key = "{ak}"\n'
            + (f'demand = "{demand}"\n' if demand else "")
            + f'[meters.ccc]\nport = "{path}"\n'
        )
    config = directory / "gateway.toml"
    config.write_text("\n".join(lines))
    config.chmod(0o600)
    return config


async def _feed_many(
    broker_port: int, config: Path, masters: list[int], period: float, duration: float
) -> dict[str, float]:
    count = len(masters)
    rounds = int(duration / period) + 1  # the first round is warm-up, not measured
    frames = [
        [
            radius_push(r, system_title=b"KAME" + (90000000 + m).to_bytes(4, "big")).frame
            for r in range(rounds)
        ]
        for m in range(count)
    ]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ccc_gateway.cli", "gateway", "--config", str(config),
        "--log-level", "WARNING",
    )  # fmt: skip
    received = 0
    try:
        async with aiomqtt.Client("127.0.0.1", broker_port, identifier="bench-many") as client:
            await client.subscribe("omnipower/#")

            async def listen() -> None:
                nonlocal received
                async for message in client.messages:
                    received += message.topic.value.endswith("/power")

            listener = asyncio.create_task(listen())
            await asyncio.sleep(2.0)  # start-up: imports, config, 100 ports, broker
            cpu_start = wall_start = 0.0
            for r in range(rounds):
                if r == 1:
                    cpu_start = _cpu_seconds(process.pid)
                    wall_start = time.monotonic()
                for m in range(count):
                    os.write(masters[m], frames[m][r])
                    await asyncio.sleep(period / count)  # meters push at different moments
            cpu = _cpu_seconds(process.pid) - cpu_start
            wall = time.monotonic() - wall_start
            await asyncio.sleep(0.5)
            rss = _memory_kib(process.pid, "VmRSS")
            peak = _memory_kib(process.pid, "VmHWM")
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 10)
    return {
        "meters": float(count),
        "cpu_percent_of_one_core": 100 * cpu / wall,
        "rss_mib": rss / 1024,
        "peak_rss_mib": peak / 1024,
        "power_messages": float(received),
        "pushes_sent": float(count * rounds),
    }


def run_many(
    meters: int = 100, period: float = 10.0, duration: float = 60.0, demand: str | None = None
) -> dict[str, float]:
    """CPU share and RSS of one gateway process serving *meters* encrypted meters on ptys that
    push every *period* seconds, measured over *duration* seconds after a warm-up round, with
    every meter computing *demand* under that rule when given.
    Targets (issue 6 §7): < 5 % of one core, ≤ 60 MB RSS."""
    pairs = [pty.openpty() for _ in range(meters)]
    try:
        for master, slave in pairs:
            tty.setraw(master)
            tty.setraw(slave)
        with tempfile.TemporaryDirectory(prefix="omnipower-bench-") as tmp:
            directory = Path(tmp)
            with _mosquitto(directory) as broker_port:
                ttys = [os.ttyname(s) for _, s in pairs]
                config = _many_config(directory, broker_port, ttys, demand)
                return asyncio.run(
                    _feed_many(broker_port, config, [m for m, _ in pairs], period, duration)
                )
    finally:
        for master, slave in pairs:
            os.close(master)
            os.close(slave)


def main() -> None:
    frames = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    result = run(frames)
    print(
        f"gateway latency, last byte on the pty → power message at a subscriber "
        f"({result['frames']:.0f} frames): p50 {result['p50_ms']:.2f} ms, "
        f"p99 {result['p99_ms']:.2f} ms, max {result['max_ms']:.2f} ms (target p99 ≤ 5 ms)"
    )
    many = run_many(duration=float(sys.argv[2]) if len(sys.argv) > 2 else 60.0)
    print(
        f"gateway serving {many['meters']:.0f} meters at 10 s pushes: "
        f"{many['cpu_percent_of_one_core']:.2f} % of one core (target < 5 %), "
        f"RSS {many['rss_mib']:.1f} MiB, peak {many['peak_rss_mib']:.1f} MiB (target ≤ 60 MB); "
        f"{many['power_messages']:.0f} of {many['pushes_sent']:.0f} pushes published"
    )


if __name__ == "__main__":
    main()
