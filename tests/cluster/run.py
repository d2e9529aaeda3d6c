"""``make test-cluster``: many gateways on a 3-node RabbitMQ cluster, one node lost, nothing lost.

    python -m tests.cluster.run [--gateways 20] [--meters-per-gateway 10] [--speed 5] ...

What runs (all on loopback, all child processes of this one):

- a 3-node RabbitMQ cluster (:mod:`.rabbitmq`), with quorum queues bound to ``amq.topic``:
  ``omnipower.energy`` (every register update) and ``omnipower.bridge`` (gateway online);
- emulated meters (:mod:`.fleet`, many per process), each on its own pty, pushing HAN-NVE list 2
  encrypted with its own keys, ``--speed`` times faster than the meter's 10 s;
- ``--gateways`` real gateway processes (``python -m ccc_gateway.cli gateway``), each reading
  ``--meters-per-gateway`` of those ptys and listing all three nodes: most prefer the first node,
  the rest are spread over the others;
- AMQP consumers (pika) on the quorum queue, one per node, sharing its messages.

Mid-run the node most gateways are connected to is killed (SIGKILL) and later started again. At
the end every register update the emulators put on the line since the warm-up must have reached
the consumers (de-duplicated on meter, register and meter time where QoS 1 sent one twice).
Then a short load step measures what one node sustains from gateway publishers, against a plain
Mosquitto in the same run. Exit status 0 when nothing was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import pika
from pika.adapters.blocking_connection import BlockingChannel

from ccc_gateway.config import MqttConfig
from ccc_gateway.mqtt import Delivery, Message, Publisher, Topics
from ccc_gateway.ports import Backoff

from . import fleet
from .rabbitmq import RabbitCluster, RabbitNode, available, free_port

ROOT = Path(__file__).resolve().parents[2]
ENERGY_QUEUE = "omnipower.energy"
BRIDGE_QUEUE = "omnipower.bridge"
BENCH_QUEUE = "omnibench.energy"
QUORUM = {"x-queue-type": "quorum"}
_CONNECTED = re.compile(r"connected to MQTT broker 127\.0\.0\.1:(\d+)")


class Consumer(threading.Thread):
    """One AMQP consumer of *queue*, connected to a node, moving to the next on loss."""

    def __init__(self, queue: str, nodes: list[RabbitNode], first: int) -> None:
        super().__init__(daemon=True, name=f"consumer-{queue}-{first}")
        self.queue = queue
        self.nodes = nodes
        self.first = first
        self.received: list[tuple[float, str, bytes]] = []
        self.stop = threading.Event()
        self.reconnects = 0

    def run(self) -> None:
        index = self.first
        while not self.stop.is_set():
            node = self.nodes[index % len(self.nodes)]
            try:
                params = pika.ConnectionParameters(
                    "127.0.0.1", node.amqp_port, heartbeat=10, connection_attempts=1
                )
                connection = pika.BlockingConnection(params)
                channel = connection.channel()
                channel.basic_qos(prefetch_count=200)
                channel.basic_consume(self.queue, self._on_message)
                while not self.stop.is_set():
                    connection.process_data_events(time_limit=0.2)
                with contextlib.suppress(Exception):
                    connection.close()
            except Exception:
                self.reconnects += 1
                index += 1
                time.sleep(0.5)

    def _on_message(self, channel: BlockingChannel, method: Any, _props: Any, body: bytes) -> None:
        # Recorded before the ack: a crash in between redelivers (at least once), never loses.
        self.received.append((time.time(), method.routing_key, body))
        channel.basic_ack(method.delivery_tag)


def declare(node: RabbitNode) -> None:
    """The quorum queues and their bindings to the MQTT topic exchange."""
    connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", node.amqp_port))
    channel = connection.channel()
    for queue, key in (
        (ENERGY_QUEUE, "omnipower.*.energy"),
        (BRIDGE_QUEUE, "omnipower.bridge.*.state"),
        (BENCH_QUEUE, "omnibench.#"),
    ):
        channel.queue_declare(queue, durable=True, arguments=QUORUM)
        channel.queue_bind(queue, "amq.topic", routing_key=key)
    connection.close()


async def _retained_seen(port: int, topic_filter: str) -> bool:
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"probe-{port}-{time.time_ns()}") as c:
        await c.subscribe(topic_filter, qos=1)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.5):
                async for _ in c.messages:
                    return True
    return False


async def _probe(nodes: list[RabbitNode]) -> dict[str, bool]:
    """What this RabbitMQ offers, checked rather than assumed (docs/cluster.md relies on it)."""
    found: dict[str, bool] = {}
    first, other = nodes[0].mqtt_port, nodes[1].mqtt_port
    try:
        async with aiomqtt.Client(
            "127.0.0.1",
            first,
            identifier="probe-v5",
            protocol=aiomqtt.ProtocolVersion.V5,
            timeout=3,
        ):
            found["mqtt5"] = True
    except aiomqtt.MqttError:
        found["mqtt5"] = False
    async with aiomqtt.Client("127.0.0.1", first, identifier="probe-pub") as c:
        await c.publish("omniprobe/1/info", b"retained", qos=1, retain=True)
    await asyncio.sleep(0.5)
    found["exact"] = await _retained_seen(first, "omniprobe/1/info")
    found["wildcard"] = await _retained_seen(first, "omniprobe/+/info")
    found["other_node"] = await _retained_seen(other, "omniprobe/1/info")
    async with aiomqtt.Client("127.0.0.1", first, identifier="probe-pub") as c:
        await c.publish("omniprobe/1/info", b"", qos=1, retain=True)  # clear it
    return found


def _offers(probe: dict[str, bool]) -> str:
    retained = "an exact-topic subscription" if probe["exact"] else "no subscription"
    retained += ", a wildcard one" if probe["wildcard"] else " (not a wildcard one)"
    retained += " on every node" if probe["other_node"] else " on the same node only"
    return f"MQTT 5 {'yes' if probe['mqtt5'] else 'no'}; retained messages reach {retained}"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def gateway_toml(gateway_id: str, state: Path, endpoints: list[str], meters: list[Any]) -> str:
    lines = [
        "[gateway]",
        f'id = "{gateway_id}"',
        f"state_dir = {_toml(str(state))}",
        f'timezone = "{fleet.ZONE.key}"',
        "",
        "[mqtt]",
        f"endpoints = {_toml(endpoints)}",
        "# RabbitMQ 3.10 speaks MQTT 3.1 and 3.1.1 only.",
        'protocol = "3.1.1"',
        "keepalive = 15",
        "# A 3.10 node whose quorum queues are electing a new leader can drop a publication",
        "# without a word: give up on it after 3 s and try the next node.",
        "publish_timeout = 3",
        "queue_size = 10000",
    ]
    for meter in meters:
        lines += ["", "[[meters]]"]
        lines += [
            f"{k} = {_toml(v)}"
            for k, v in fleet.gateway_meter(meter.serial, meter.link_path).items()
        ]
    return "\n".join(lines) + "\n"


def cpu_seconds(pid: int) -> float:
    """User + system CPU of *pid* so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _sustained(host: str, port: int, publishers: int, each: int) -> float:
    """Messages per second *publishers* gateway publishers push through one broker (QoS 1)."""
    # 3.1.1 on both brokers: RabbitMQ 3.10 has no MQTT 5, and the ratio compares like with like.
    config = MqttConfig(
        host=host, port=port, protocol="3.1.1", base_topic="omnibench", queue_size=100_000
    )
    pubs = [
        Publisher(
            config,
            Topics("omnibench", f"bench{i}"),
            client_id=f"omnibench-{i}-{port}",
            backoff=Backoff(initial=0.2, maximum=1.0),
        )
        for i in range(publishers)
    ]
    payload = json.dumps({"ts": "2026-01-01T00:00:00+01:00", "schema": 1, "a": 1.0}).encode()
    for i, pub in enumerate(pubs):
        for n in range(each):
            pub.put(Message(f"omnibench/b{i}/energy", payload + b" " * (n % 2), Delivery.SERIES))
    started = time.monotonic()
    tasks = [asyncio.create_task(pub.run()) for pub in pubs]
    total = publishers * each
    while sum(pub.published for pub in pubs) < total:
        await asyncio.sleep(0.02)
        if time.monotonic() - started > 120:
            raise RuntimeError("load step did not finish within 120 s")
    elapsed = time.monotonic() - started
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return total / elapsed


def mosquitto_baseline(directory: Path, publishers: int, each: int) -> float | None:
    """The same load step on one plain Mosquitto (the baseline of the ratio)."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(binary):
        return None
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    port = free_port()
    conf = directory / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\npersistence false\nallow_anonymous true\n")
    conf.chmod(0o644)
    process = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(0.3)
        return asyncio.run(_sustained("127.0.0.1", port, publishers, each))
    finally:
        process.terminate()
        process.wait(5)


@dataclass
class Run:
    args: argparse.Namespace
    directory: Path
    cluster: RabbitCluster
    started: float = field(default_factory=time.monotonic)
    fleets: list[subprocess.Popen[str]] = field(default_factory=list)
    gateways: list[subprocess.Popen[bytes]] = field(default_factory=list)
    consumers: list[Consumer] = field(default_factory=list)

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f} s] {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster.run")
    parser.add_argument("--gateways", type=int, default=20)
    parser.add_argument("--meters-per-gateway", type=int, default=10)
    parser.add_argument("--fleet-processes", type=int, default=4)
    parser.add_argument("--speed", type=float, default=5.0, help="meter seconds per second")
    parser.add_argument(
        "--before", type=float, default=15.0, help="s of steady run before the kill"
    )
    parser.add_argument("--down", type=float, default=15.0, help="s the node stays down")
    parser.add_argument("--after", type=float, default=15.0, help="s of run after it is back")
    parser.add_argument("--bench-publishers", type=int, default=20)
    parser.add_argument("--bench-messages", type=int, default=500, help="per publisher")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if not available():
        print("test-cluster: rabbitmq-server is not installed (apt-get install -y rabbitmq-server)")
        return 2
    directory = Path(tempfile.mkdtemp(prefix="omnipower-cluster-"))
    run = Run(args, directory, RabbitCluster(directory / "rabbitmq"))
    try:
        return _scenario(run)
    finally:
        for consumer in run.consumers:
            consumer.stop.set()
        for process in [*run.gateways, *run.fleets]:
            if process.poll() is None:
                process.terminate()
        for process in [*run.gateways, *run.fleets]:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
            if process.poll() is None:
                process.kill()
        run.cluster.stop()
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            print(f"kept {directory}")


def _scenario(run: Run) -> int:
    args, directory, cluster = run.args, run.directory, run.cluster
    total_meters = args.gateways * args.meters_per_gateway
    run.say(f"starting 3 RabbitMQ nodes under {directory}")
    cluster.start()
    declare(cluster.nodes[0])
    nodes = cluster.nodes
    probe = asyncio.run(_probe(nodes))
    run.say(f"checked: {_offers(probe)}")
    for index in range(len(nodes)):
        consumer = Consumer(ENERGY_QUEUE, nodes, index)
        consumer.start()
        run.consumers.append(consumer)
    bridge = Consumer(BRIDGE_QUEUE, nodes, 1)
    bridge.start()
    run.consumers.append(bridge)
    energy = run.consumers[:-1]

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    ptys = directory / "ptys"
    ptys.mkdir()
    per_fleet = -(-total_meters // args.fleet_processes)
    first_serial = 50_000_001
    all_meters = fleet.meters(ptys, first_serial, total_meters, args.speed)
    for start in range(0, total_meters, per_fleet):
        count = min(per_fleet, total_meters - start)
        run.fleets.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.cluster.fleet",
                    "--dir",
                    str(ptys),
                    "--first-serial",
                    str(first_serial + start),
                    "--meters",
                    str(count),
                    "--speed",
                    str(args.speed),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    for process in run.fleets:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("an emulator process did not start")
    run.say(f"{total_meters} emulated meters in {len(run.fleets)} processes, x{args.speed:g}")

    endpoints = [f"127.0.0.1:{node.mqtt_port}" for node in nodes]
    logs: list[Path] = []
    for g in range(args.gateways):
        # Two thirds prefer the first node (a list in the same order everywhere); the others
        # start at the second or third, as an operator spreads load by ordering the lists.
        first = 0 if g < (2 * args.gateways) // 3 else 1 + g % 2
        order = endpoints[first:] + endpoints[:first]
        meters = all_meters[g * args.meters_per_gateway : (g + 1) * args.meters_per_gateway]
        config = directory / f"gw{g:02d}.toml"
        state = directory / f"state{g:02d}"
        config.write_text(gateway_toml(f"gw{g:02d}", state, order, meters))
        config.chmod(0o600)
        log = directory / f"gw{g:02d}.log"
        logs.append(log)
        with log.open("wb") as out:
            run.gateways.append(
                subprocess.Popen(
                    [sys.executable, "-m", "ccc_gateway.cli", "gateway", "--config", str(config)],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )

    def seen_meters() -> set[str]:
        return {key.split(".")[1] for c in energy for _, key, _ in list(c.received)}

    deadline = time.monotonic() + 120
    while len(seen_meters()) < total_meters:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(seen_meters())} of {total_meters} meters arrived")
        for process in run.gateways:
            if process.poll() is not None:
                raise RuntimeError(f"a gateway exited with {process.returncode}")
        time.sleep(0.5)
    mark = time.time()
    cpu_start = {p.pid: cpu_seconds(p.pid) for p in run.gateways}
    run.say(f"{args.gateways} gateways up, every meter arrived: counting from here")

    time.sleep(args.before)
    on_node: dict[int, int] = defaultdict(int)
    where: dict[int, int] = {}
    for g, log in enumerate(logs):
        ports = _CONNECTED.findall(log.read_text(errors="replace"))
        if ports:
            where[g] = int(ports[-1])
            on_node[int(ports[-1])] += 1
    victim = max(nodes, key=lambda n: on_node[n.mqtt_port])
    affected = [g for g, port in where.items() if port == victim.mqtt_port]
    kill_at = time.time()
    cluster.kill(victim)
    run.say(f"killed {victim.name}: {len(affected)} of {args.gateways} gateways were on it")
    time.sleep(args.down)
    back_at = time.monotonic()
    cluster.start_node(victim)
    cluster.wait_ready([victim])
    run.say(f"{victim.name} is back after {time.monotonic() - back_at:.1f} s of boot")
    time.sleep(args.after)
    cpu_wall = time.time() - mark
    cpu_used = sum(cpu_seconds(p.pid) - cpu_start[p.pid] for p in run.gateways)

    for process in run.fleets:
        process.send_signal(signal.SIGTERM)
    for process in run.fleets:
        process.wait(60)
    frames = [row for path in sorted(ptys.glob("frames-*.txt")) for row in fleet.read_frames(path)]
    sent: dict[fleet.Update, Any] = {}
    produced_at: dict[fleet.Update, float] = {}
    by_meter: dict[int, list[tuple[float, bytes]]] = defaultdict(list)
    for wall, serial, data in frames:
        if wall >= mark:
            by_meter[serial].append((wall, data))
    for serial, rows in by_meter.items():
        for wall, data in rows:
            for update, value in fleet.register_updates(serial, [data]):
                sent[update] = value
                produced_at[update] = wall
    run.say(
        f"emulators stopped: {len(frames)} frames on the lines, "
        f"{len(sent)} register updates since the mark"
    )

    def received() -> list[tuple[float, fleet.Update, Any]]:
        out = []
        for consumer in energy:
            for arrived, key, body in list(consumer.received):
                meter = key.split(".")[1]
                payload = json.loads(body)
                out += [
                    (arrived, (meter, k, payload["ts"]), v)
                    for k, v in payload.items()
                    if k not in ("ts", "schema")
                ]
        return out

    deadline = time.monotonic() + 60
    while not set(sent) <= {u for _, u, _ in received()} and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(1.0)  # stragglers (duplicates) still in flight
    got = [row for row in received() if row[1] in sent]
    unique = {u for _, u, _ in got}
    lost = len(set(sent) - unique)
    duplicates = len(got) - len(unique)
    wrong = sum(1 for _, u, v in got if sent[u] != v)
    first_arrival: dict[fleet.Update, float] = {}
    for arrived, update, _ in got:
        first_arrival[update] = min(arrived, first_arrival.get(update, arrived))

    online: dict[str, float] = {}
    for arrived, key, body in list(bridge.received):
        gateway_id = key.split(".")[2]
        if body == b"online" and arrived > kill_at and gateway_id not in online:
            online[gateway_id] = arrived
    reconnect = [online[f"gw{g:02d}"] - kill_at for g in affected if f"gw{g:02d}" in online]
    # Recovered: every meter's first update produced after the kill has arrived.
    after_kill: dict[str, float] = {}
    for update, wall in produced_at.items():
        meter = update[0]
        if wall > kill_at and update in first_arrival:
            after_kill[meter] = min(
                first_arrival[update], after_kill.get(meter, first_arrival[update])
            )
    recovery = max(after_kill.values()) - kill_at if after_kill else float("nan")
    steady_rate = len({(u[0], u[2]) for u in sent}) / cpu_wall

    for process in run.gateways:
        process.terminate()
    for process in run.gateways:
        process.wait(20)
    for consumer in run.consumers:
        consumer.stop.set()

    survivor = next(n for n in nodes if n is not victim)
    run.say(
        f"load step: {args.bench_publishers} gateway publishers × {args.bench_messages} messages"
    )
    node_rate = asyncio.run(
        _sustained("127.0.0.1", survivor.mqtt_port, args.bench_publishers, args.bench_messages)
    )
    baseline = mosquitto_baseline(
        directory / "mosquitto", args.bench_publishers, args.bench_messages
    )
    wall = time.monotonic() - run.started

    push_s = 10.0 / args.speed
    cpu_per_meter = 100 * cpu_used / cpu_wall / total_meters
    print()
    print(
        f"cluster: 3 RabbitMQ nodes ({_rabbit_version()}), {args.gateways} gateways, "
        f"{total_meters} meters pushing every {push_s:g} s (x{args.speed:g}); "
        f"{victim.name} killed for {args.down:g} s with {len(affected)} gateways on it"
    )
    print(f"{_rabbit_version()}: {_offers(probe)}")
    print(
        f"{len(sent)} sent, {len(unique)} received, {lost} lost, {duplicates} duplicates"
        + (f", {wrong} WRONG VALUES" if wrong else "")
    )
    if reconnect:
        print(
            f"reconnect per gateway: median {statistics.median(reconnect):.2f} s, "
            f"max {max(reconnect):.2f} s ({len(reconnect)} of {len(affected)} gateways)"
        )
    else:
        print("reconnect per gateway: none seen")
    print(f"time to recover (every meter's next update delivered after the kill): {recovery:.2f} s")
    print(
        f"steady load: {steady_rate:.0f} pushes/s, "
        f"{2 * steady_rate:.0f} MQTT messages/s over the cluster"
    )
    ratio = (
        f" = {node_rate / baseline:.2f} × one Mosquitto in the same run ({baseline:.0f} msg/s)"
        if baseline
        else ""
    )
    print(
        f"one node sustains {node_rate:.0f} msg/s from {args.bench_publishers} gateway publishers "
        f"(QoS 1 into a quorum queue){ratio}"
    )
    print(
        f"gateway CPU: {cpu_per_meter:.3f} % of one core per meter at a push every {push_s:g} s "
        f"= {cpu_per_meter / args.speed:.4f} % at the meter's 10 s"
    )
    print(f"wall time: {wall:.0f} s")
    if lost or wrong or len(reconnect) < len(affected):
        print("FAILED")
        return 1
    return 0


def _rabbit_version() -> str:
    found = sorted(Path("/usr/lib/rabbitmq/lib").glob("rabbitmq_server-*"))
    return found[-1].name.replace("rabbitmq_server-", "RabbitMQ ") if found else "RabbitMQ"


if __name__ == "__main__":
    sys.exit(main())
