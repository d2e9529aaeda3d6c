"""A 3-node RabbitMQ cluster on loopback, from the distribution's ``rabbitmq-server`` package.

No service manager is needed: each node is a child process of this one, with its own node name,
ports, data and log directories and Erlang cookie under one temporary directory, and its own
``epmd`` port, so it disturbs no RabbitMQ that may run on the machine. The nodes find each other
through the classic peer list in their config and form the cluster on first boot; a node killed
and started again rejoins from its data directory.

What the cluster offers and the deployment relies on (docs/cluster.md), for the 3.10 series:

- MQTT 3.1 and 3.1.1 only (MQTT 5 came with 3.13): gateways set ``protocol = "3.1.1"``.
- Publishes go to the topic exchange ``amq.topic``, ``/`` in a topic becoming ``.`` in the
  routing key. Back-ends read through *quorum queues* bound to it: replicated on all three
  nodes, kept while no consumer is connected, shared round-robin among consumers.
- ``mqtt.durable_queue_type = quorum``: a persistent session's subscription queue (the
  gateway's command subscription) is a quorum queue too, so it survives the loss of a node.
- Retained messages are stored per node and not replicated, and are only delivered to a
  subscription whose filter is the exact topic (no wildcards). The gateway re-sends its state
  after every reconnect, which puts it on the node it lands on.

    python -m tests.cluster.rabbitmq DIR   # start a cluster under DIR, print its ports, wait
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["RABBITMQ_SERVER", "RabbitCluster", "RabbitNode", "available", "free_port"]

RABBITMQ_SERVER: Final = "/usr/lib/rabbitmq/bin/rabbitmq-server"
EPMD: Final = shutil.which("epmd") or "/usr/bin/epmd"
#: A first boot of three nodes on a shared 2-core machine takes 30-60 s.
BOOT_TIMEOUT: Final = 180.0


def available() -> bool:
    """Whether the Debian package is installed (``apt-get install -y rabbitmq-server``)."""
    return os.path.exists(RABBITMQ_SERVER)


def free_port() -> int:
    """A loopback TCP port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


@dataclass
class RabbitNode:
    """One node: its name, ports and directory."""

    index: int
    name: str
    directory: Path
    mqtt_port: int
    amqp_port: int
    dist_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid_file(self) -> Path:
        return self.directory / "beam.pid"

    def beam_pid(self) -> int | None:
        """The Erlang VM's process id (the start script is its parent, not the VM itself)."""
        with contextlib.suppress(OSError, ValueError):
            return int(self.pid_file.read_text().split()[0])
        return None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class RabbitCluster:
    """Three (or *size*) nodes under *directory*; :meth:`start`, :meth:`kill`, :meth:`stop`."""

    def __init__(self, directory: Path, size: int = 3, *, prefix: str = "omnipower") -> None:
        self.directory = directory
        self.epmd_port = free_port()
        self.cookie = os.urandom(16).hex()
        self.nodes = [
            RabbitNode(
                index,
                f"{prefix}-rmq{index + 1}@localhost",
                directory / f"node{index + 1}",
                mqtt_port=free_port(),
                amqp_port=free_port(),
                dist_port=free_port(),
            )
            for index in range(size)
        ]
        for node in self.nodes:
            self._write_config(node)

    def _write_config(self, node: RabbitNode) -> None:
        node.directory.mkdir(parents=True, exist_ok=True)
        peers = "\n".join(
            f"cluster_formation.classic_config.nodes.{n.index + 1} = {n.name}" for n in self.nodes
        )
        (node.directory / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{node.amqp_port}\n"
            f"mqtt.listeners.tcp.default = 127.0.0.1:{node.mqtt_port}\n"
            "mqtt.allow_anonymous = true\n"
            "mqtt.durable_queue_type = quorum\n"
            "cluster_partition_handling = pause_minority\n"
            "cluster_formation.peer_discovery_backend = classic_config\n"
            f"{peers}\n"
            "loopback_users = none\n"
            "vm_memory_high_watermark.absolute = 1GiB\n"
            "disk_free_limit.absolute = 100MB\n"
            "log.console = false\n"
            "log.file.level = warning\n"
        )
        (node.directory / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
        cookie = node.directory / ".erlang.cookie"
        cookie.write_text(self.cookie)
        cookie.chmod(0o600)

    def _environment(self, node: RabbitNode) -> dict[str, str]:
        d = node.directory
        return {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(d),  # the Erlang cookie lives in $HOME
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODENAME": node.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(node.amqp_port),
            "RABBITMQ_DIST_PORT": str(node.dist_port),
            "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(d / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
            "RABBITMQ_LOG_BASE": str(d / "log"),
            "RABBITMQ_PID_FILE": str(node.pid_file),
            # Erlang distribution on loopback only.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def start_node(self, node: RabbitNode) -> None:
        """Start *node* (again) in the background; :meth:`wait_ready` waits for it."""
        node.pid_file.unlink(missing_ok=True)
        log = (node.directory / "server.out").open("ab")
        node.process = subprocess.Popen(
            [RABBITMQ_SERVER],
            env=self._environment(node),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def wait_ready(
        self, nodes: list[RabbitNode] | None = None, timeout: float = BOOT_TIMEOUT
    ) -> None:
        """Until every node's MQTT listener accepts connections (the plugin starts last)."""
        waiting = list(nodes or self.nodes)
        deadline = time.monotonic() + timeout
        while waiting:
            for node in list(waiting):
                if not node.running:
                    tail = (node.directory / "server.out").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"RabbitMQ node {node.name} exited:\n{tail}")
                if _listening(node.mqtt_port):
                    waiting.remove(node)
            if time.monotonic() > deadline:
                raise RuntimeError(f"RabbitMQ nodes not up within {timeout:.0f} s: {waiting}")
            time.sleep(0.2)

    def start(self) -> None:
        """Boot every node at once (they wait for each other to form the cluster)."""
        for node in self.nodes:
            self.start_node(node)
        self.wait_ready()

    def kill(self, node: RabbitNode) -> None:
        """Hard loss of a node: SIGKILL to its VM, no goodbye to clients or peers."""
        pid = node.beam_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if node.process is not None:
            try:
                node.process.wait(10)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait(5)

    def stop(self) -> None:
        """Stop every node (SIGTERM to each VM, SIGKILL after 20 s) and this cluster's epmd."""
        for node in self.nodes:
            pid = node.beam_pid()
            if node.running and pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                node.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill(node)
        subprocess.run(
            [EPMD, "-port", str(self.epmd_port), "-kill"],
            capture_output=True,
            check=False,
            timeout=10,
        )


def main(argv: list[str]) -> int:
    if not available():
        print("rabbitmq-server is not installed: apt-get install -y rabbitmq-server")
        return 2
    directory = Path(argv[0]) if argv else Path.cwd() / "rabbitmq-cluster"
    cluster = RabbitCluster(directory)
    print(f"starting 3 RabbitMQ nodes under {directory} ...", flush=True)
    cluster.start()
    for node in cluster.nodes:
        print(f"{node.name}: MQTT 127.0.0.1:{node.mqtt_port}, AMQP 127.0.0.1:{node.amqp_port}")
    print("Ctrl-C stops the cluster", flush=True)
    try:
        while all(node.running for node in cluster.nodes):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
