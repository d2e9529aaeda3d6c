"""DLMS push 1 at the emulator's default resolution, with the optical port: registers never go down.

The emulated meter keeps its energy registers at 10 Wh (its display's two decimals), and DLMS
push 1 sends them without a scaler; the gateway's default for that list is 1 Wh, so the push
alone would read 10 x too low and the merged ``energy`` topic would flip between the push's and
the optical port's value (issue 10: 570 flips in one run). With the optical port the gateway
learns the meter's scaler_unit, reads the push with it, and reports the disagreement once on
``diagnostics`` (``scaler_mismatch``) and in the log.

Real parts: the emulator's model and runtime (10 x real time), its CCC push on one pty and its
optical port (mux + DLMS server) on another, the real gateway service, a real Mosquitto.
``refresh`` commands make the optical port read the registers between pushes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
import pytest

from ccc_gateway.config import parse_config
from ccc_gateway.ports import Backoff
from ccc_gateway.service import Gateway
from meter_emulator.cli import push_config
from meter_emulator.dlms.model_provider import dlms_server_for
from meter_emulator.model import Meter, PhaseSupply, Supply
from meter_emulator.model import parse_config as parse_meter_config
from meter_emulator.model.clock import from_us
from meter_emulator.model.source import ConstantLoad
from meter_emulator.ports.ccc_push import CccPush
from meter_emulator.ports.iec62056_21 import Iec62056Server
from meter_emulator.ports.iec62056_21_link import OpticalPort
from meter_emulator.ports.iec62056_21_model import ModelOpticalMeter
from meter_emulator.ports.links import PtyLink
from meter_emulator.ports.optical_mux import DlmsServerEndpoint, OpticalMux
from meter_emulator.runtime import EmulatorRuntime, SimClock
from tests.e2e.conftest import Mosquitto, subscriber

pytestmark = pytest.mark.slow
jsonschema = pytest.importorskip("jsonschema")

SERIAL = "27581522"
ZONE = ZoneInfo("Europe/Copenhagen")
SCHEMAS = Path(__file__).parents[2] / "docs" / "schemas"
FAST = Backoff(initial=0.05, maximum=0.3)
SPEED = 10.0
#: Wall seconds the run lasts: about ten pushes (one per simulated 10 s) and five refreshes.
RUN_S = 10.0


@contextlib.asynccontextmanager
async def emulator(tmp_path: Path) -> AsyncIterator[Meter]:
    """A three-phase meter at its default resolution pushing DLMS push 1, 2 kW per phase."""
    config = parse_meter_config(
        {
            "meter": {"type_number": "6841131BN243101040", "serial": int(SERIAL)},
            "push": {"list": "dlms_push_1"},
        }
    )
    assert config.energy_scaler == 1  # the default: 10 Wh, which the push does not say
    supply = Supply(tuple(PhaseSupply(230.0, 2000.0, 100.0) for _ in range(3)))
    start = datetime.now(UTC).replace(microsecond=0)
    meter = Meter(config, start=start - timedelta(days=30), source=ConstantLoad(supply))
    meter.advance_to(start)
    server = dlms_server_for(meter, inactivity_timeout=20.0 * SPEED)
    mux = OpticalMux(Iec62056Server(ModelOpticalMeter(meter)), DlmsServerEndpoint(server))
    ccc_link = PtyLink(baudrate=2400, speed=SPEED, symlink=tmp_path / "ttyCCC")
    optical_link = PtyLink(baudrate=9600, speed=SPEED, symlink=tmp_path / "ttyOPT")
    ccc = CccPush(push_config(config), next_invocation_counter=meter.next_invocation_counter)
    runtime = EmulatorRuntime(meter, SimClock(from_us(meter.now_us), speed=SPEED), ccc, [ccc_link])
    async with ccc_link, optical_link, OpticalPort(mux, optical_link, reaction_time=0.0):
        task = asyncio.create_task(runtime.run())
        try:
            yield meter
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def gateway_config(broker: Mosquitto, tmp_path: Path) -> dict[str, Any]:
    return {
        "gateway": {"id": "scale-e2e", "state_dir": str(tmp_path / "state"), "timezone": str(ZONE)},
        "mqtt": {"host": "127.0.0.1", "port": broker.port},
        "meters": [
            {
                "name": "house",
                "serial": SERIAL,
                "ccc": {"port": str(tmp_path / "ttyCCC")},  # no [resolution]: the list's default
                "optical": {
                    "port": str(tmp_path / "ttyOPT"),
                    "password": "12345",
                    "poll_interval": 10,
                },
                "commands": ["refresh"],
            }
        ],
    }


async def refresh(port: int, number: int) -> None:
    body = {
        "id": f"refresh-{number}",
        "expires_at": (datetime.now(UTC) + timedelta(seconds=30)).isoformat(),
        "args": {},
    }
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.publish(f"omnipower/{SERIAL}/cmd/refresh", json.dumps(body), qos=1)


async def test_energy_never_decreases_and_the_scaler_disagreement_is_reported(
    mosquitto: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = Gateway(
        parse_config(gateway_config(mosquitto, tmp_path)), port_backoff=FAST, mqtt_backoff=FAST
    )
    with caplog.at_level(logging.WARNING, logger="ccc_gateway"):
        async with (
            emulator(tmp_path) as meter,
            subscriber(mosquitto.port, f"omnipower/{SERIAL}/#") as sub,
        ):
            task = asyncio.create_task(service.run())
            try:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + RUN_S
                number = 0
                while loop.time() < deadline:
                    await asyncio.sleep(2.0)
                    number += 1
                    await refresh(mosquitto.port, number)
                await asyncio.sleep(1.0)
                model_kwh = meter.energy.wh("a_plus") / 1000
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    energy = [json.loads(m.payload) for m in sub.on(f"omnipower/{SERIAL}/energy")]
    diagnostics = [json.loads(m.payload) for m in sub.on(f"omnipower/{SERIAL}/diagnostics")]
    results = [json.loads(m.payload) for m in sub.on(f"omnipower/{SERIAL}/cmd/result")]
    assert sum(r["status"] == "done" for r in results) >= 3  # optical reads between pushes
    assert len(energy) >= 8
    schema = json.loads((SCHEMAS / "energy.schema.json").read_text())
    for key in ("active_energy_import_kwh", "reactive_energy_import_kvarh"):
        series = [e[key] for e in energy if key in e]
        assert series, key
        assert all(b >= a for a, b in itertools.pairwise(series)), (key, series)
    for message in energy:
        jsonschema.validate(message, schema)
    # Read at the meter's scaler: the push agrees with the model, not a tenth of it.
    assert energy[-1]["active_energy_import_kwh"] == pytest.approx(model_kwh, abs=0.2)
    mismatches = [d["scaler_mismatch"] for d in diagnostics if d["scaler_mismatch"]]
    assert mismatches
    assert mismatches[-1] == [
        {"quantity": "energy", "push_scaler": 0, "meter_scaler": 1, "configured": False}
    ]
    assert diagnostics[-1]["errors"]["scaler_mismatch"] == 1  # said once
    lines = [r.getMessage() for r in caplog.records if "scaler" in r.getMessage()]
    assert len(lines) == 1
    assert "energy_scaler = 1" in lines[0]
    stored = json.loads((tmp_path / "state" / "scalers.json").read_text())
    assert stored[SERIAL]["energy"] == 1
