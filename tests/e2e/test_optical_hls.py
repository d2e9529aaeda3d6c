"""The gateway reads and commands a meter with local interface encryption (Z28 = 1), end to end.

Real parts: the emulator's meter model (variant 2, Z28 = 1, HLS keys in its ``[optical]``) with
its optical port (mux + DLMS server) on a TCP socket, the real Gateway with ``[meters.optical]``
carrying the same keys, a real Mosquitto. The gateway's session runs HLS-GMAC (mechanism 5) and
general-glo-ciphering; a poll publishes the breaker, and a breaker command opens the model's
breaker, confirmed by read-back. With a wrong key the association is refused: nothing is
published, and the diagnostics name ``optical_authentication_failed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from ccc_gateway.config import parse_config
from ccc_gateway.ports import Backoff
from ccc_gateway.service import Gateway
from meter_emulator.model import CouplingState, Meter, PhaseSupply, Supply
from meter_emulator.model import parse_config as parse_meter_config
from meter_emulator.model.source import ConstantLoad
from meter_emulator.ports.iec62056_21_link import OpticalPort
from meter_emulator.ports.links import TcpLink
from meter_emulator.ports.optical_head import optical_mux_for
from tests.e2e.conftest import Mosquitto, subscriber

pytestmark = pytest.mark.slow

SERIAL = "27581522"
EK = "000102030405060708090A0B0C0D0E0F"
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
SPEED = 10.0
FAST = Backoff(initial=0.05, maximum=0.3)


def payload(message: Any) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(message.payload)
    return value


@contextlib.asynccontextmanager
async def encrypted_meter() -> AsyncIterator[tuple[Meter, int]]:
    """A variant 2 meter with Z28 = 1 on 1 kW per phase; its optical port on TCP."""
    config = parse_meter_config(
        {
            "meter": {"type_number": "6841131BN243101040", "serial": int(SERIAL)},
            "software": {"local_interface_encryption": 1},
            "optical": {"encryption_key": EK, "authentication_key": AK},
        }
    )
    supply = Supply(tuple(PhaseSupply(230.0, 1000.0, 100.0) for _ in range(3)))
    meter = Meter(config, start=datetime.now(UTC), source=ConstantLoad(supply))
    link = TcpLink(port=0, baudrate=9600, speed=SPEED)
    async with link, OpticalPort(optical_mux_for(meter), link, reaction_time=0.0):
        yield meter, link.port


@contextlib.asynccontextmanager
async def gateway(
    broker: Mosquitto, tmp_path: Path, port: int, *, encryption_key: str
) -> AsyncIterator[None]:
    data = {
        "gateway": {"id": "hls-e2e", "state_dir": str(tmp_path / "state")},
        "mqtt": {"host": "127.0.0.1", "port": broker.port},
        "meters": [
            {
                "name": "house",
                "serial": SERIAL,
                "optical": {
                    "tcp": f"127.0.0.1:{port}",
                    "encryption_key": encryption_key,
                    "authentication_key": AK,
                    "poll_interval": 10,
                    "load_profile": False,
                },
                "commands": ["breaker"],
            }
        ],
    }
    service = Gateway(parse_config(data), port_backoff=FAST, mqtt_backoff=FAST)
    task = asyncio.create_task(service.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(5):
                await task


async def test_the_gateway_reads_and_commands_a_z28_meter_over_hls(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    async with (
        encrypted_meter() as (meter, port),
        subscriber(mosquitto.port, f"omnipower/{SERIAL}/#") as sub,
        gateway(mosquitto, tmp_path, port, encryption_key=EK),
    ):
        breaker = await sub.wait_for(
            lambda m: m.topic.value == f"omnipower/{SERIAL}/breaker", within=30
        )
        assert payload(breaker)["coupling_state"] == 4
        body = {
            "id": "hls-off",
            "expires_at": (datetime.now(UTC) + timedelta(seconds=30)).isoformat(),
            "args": {"action": "disconnect"},
        }
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
            await client.publish(f"omnipower/{SERIAL}/cmd/breaker", json.dumps(body), qos=1)
        result = await sub.wait_for(
            lambda m: (
                m.topic.value.endswith("/cmd/result")
                and payload(m)["id"] == "hls-off"
                and payload(m)["status"] != "accepted"
            ),
            within=30,
        )
    outcome = payload(result)
    assert outcome["status"] == "done", outcome
    assert outcome["state"]["coupling_state"] == 1
    assert meter.breaker.state is CouplingState.DISCONNECTED
    # Our counters are reserved in the state directory, past every one the meter saw.
    reserved = json.loads((tmp_path / "state" / "optical_hls_counters.json").read_text())
    (value,) = reserved.values()
    assert value > 0


async def test_a_wrong_key_is_refused_with_a_named_error(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    wrong = "00" * 15 + "01"
    async with (
        encrypted_meter() as (_meter, port),
        subscriber(mosquitto.port, "omnipower/#") as sub,
        gateway(mosquitto, tmp_path, port, encryption_key=wrong),
    ):
        diagnostics = await sub.wait_for(
            lambda m: (
                m.topic.value.endswith("/diagnostics") and payload(m).get("last_error") is not None
            ),
            within=30,
        )
        published = {m.topic.value.rsplit("/", 1)[-1] for m in sub.messages}
    report = payload(diagnostics)
    assert report["last_error"]["code"] == "optical_authentication_failed"
    assert report["errors"]["optical_authentication_failed"] == 1
    assert "authentication_failure" in report["last_error"]["text"]
    assert EK.lower() not in json.dumps(report).lower()
    assert "breaker" not in published
