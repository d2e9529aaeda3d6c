"""The load-profile batches the Home Assistant statistics tests use are what the gateway publishes.

``tests/components/omnipower/load_profiles/three_phase_r1_r4.json`` was recorded by this test
(run with ``OMNIPOWER_RECORD_FIXTURES=1``) from the real gateway against the emulator: a
three-phase meter whose profile captures all eight registers (Z29 = 5: A+, A−, R+, R− and
R1–R4), six hours of history in which the installation passes through all four quadrants and
the supply is lost for 100 minutes (the meter captures nothing while unpowered: a real gap).
Three messages: the gateway's start-up back-fill (``backfill``), then two ``read_load_profile``
reads, of the older part (``early``) and of the last three hours (``late``), which overlap the
back-fill. Without the variable the test asserts that the gateway still publishes batches of
the same shape, with the gap and the overlaps the HA tests rely on (values and times differ
from run to run), so no statistics test is fed a batch the gateway cannot produce.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
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
from meter_emulator.model.energy import NJ_PER_WH
from meter_emulator.model.source import ConstantLoad
from meter_emulator.ports.ccc_push import CccPush
from meter_emulator.ports.iec62056_21 import Iec62056Server
from meter_emulator.ports.iec62056_21_link import OpticalPort
from meter_emulator.ports.iec62056_21_model import ModelOpticalMeter
from meter_emulator.ports.links import PtyLink
from meter_emulator.ports.optical_mux import DlmsServerEndpoint, OpticalMux
from meter_emulator.runtime import EmulatorRuntime, SimClock
from tests.e2e.conftest import Mosquitto, Subscriber, subscriber

pytestmark = pytest.mark.slow
jsonschema = pytest.importorskip("jsonschema")

SERIAL = "27581522"
ZONE = ZoneInfo("Europe/Copenhagen")
SCHEMAS = Path(__file__).parents[2] / "docs" / "schemas"
FIXTURE = (
    Path(__file__).parents[1]
    / "components"
    / "omnipower"
    / "load_profiles"
    / "three_phase_r1_r4.json"
)
FAST = Backoff(initial=0.05, maximum=0.3)
OPTICAL_SPEED = 10.0
#: A meter with years behind it (Wh, varh): the history starts from these readings, not 0.
PAST_WH = {
    "a_plus": 12_320_250,
    "a_plus_t1": 12_320_250,
    **{f"a_plus_l{n}": 4_106_750 for n in (1, 2, 3)},
    "a_minus": 801_750,
    **{f"a_minus_l{n}": 267_250 for n in (1, 2, 3)},
    "r1": 1_502_500,
    "r2": 40_120,
    "r3": 30_310,
    "r4": 600_040,
    "r_plus": 1_542_620,
    "r_plus_t1": 1_542_620,
    "r_minus": 630_350,
    "e_plus": 12_410_000,
    "e_minus": 805_000,
}
#: Every register a Z29 = 5 profile captures, as the contract names them.
REGISTERS = frozenset(
    {
        "active_energy_import_kwh",
        "active_energy_export_kwh",
        "reactive_energy_import_kvarh",
        "reactive_energy_export_kvarh",
        *(f"reactive_energy_q{q}_kvarh" for q in range(1, 5)),
    }
)


def phases(active_w: float, reactive_var: float) -> Supply:
    return Supply(tuple(PhaseSupply(230.0, active_w, reactive_var) for _ in range(3)))


def history(anchor: datetime) -> Meter:
    """Six hours before *anchor* (a whole hour): each quadrant, then 100 minutes without supply.

    The registers start from :data:`PAST_WH`, as a meter's own state would restore them.

    Times relative to the anchor: −5 h 55 m import inductive (Q1); −5 h export inductive (Q2);
    −4 h 30 m export capacitive (Q3); −4 h import capacitive (Q4); −3 h 30 m Q1 again; −2 h 50 m
    the supply is lost; −1 h 10 m it returns (Q1). The hour ending at −2 h has no entry at all.
    """
    config = parse_meter_config(
        {
            "meter": {"type_number": "6841131BN243101040", "serial": int(SERIAL)},
            "software": {"load_profile": 5},
            "push": {"list": "han_nve_list_2"},
        }
    )
    meter = Meter(
        config,
        start=anchor - timedelta(hours=5, minutes=55),
        source=ConstantLoad(phases(1000, 200)),
    )
    meter.energy.load_state({name: wh * NJ_PER_WH for name, wh in PAST_WH.items()})
    for minutes, supply in (
        (300, phases(-600, 150)),
        (270, phases(-600, -150)),
        (240, phases(800, -150)),
        (210, None),
        (170, Supply(tuple(PhaseSupply(0.0, 0.0, 0.0) for _ in range(3)))),
        (70, None),
    ):
        meter.advance_to(anchor - timedelta(minutes=minutes))
        meter.set_override(supply)
    meter.advance_to(datetime.now(UTC).replace(microsecond=0))
    return meter


@contextlib.asynccontextmanager
async def emulator(tmp_path: Path, meter: Meter) -> AsyncIterator[None]:
    server = dlms_server_for(meter, inactivity_timeout=20.0 * OPTICAL_SPEED)
    mux = OpticalMux(Iec62056Server(ModelOpticalMeter(meter)), DlmsServerEndpoint(server))
    ccc_link = PtyLink(baudrate=2400, symlink=tmp_path / "ttyCCC")
    optical_link = PtyLink(baudrate=9600, speed=OPTICAL_SPEED, symlink=tmp_path / "ttyOPT")
    ccc = CccPush(push_config(meter.config), next_invocation_counter=meter.next_invocation_counter)
    runtime = EmulatorRuntime(meter, SimClock(from_us(meter.now_us)), ccc, [ccc_link])
    async with ccc_link, optical_link, OpticalPort(mux, optical_link, reaction_time=0.0):
        task = asyncio.create_task(runtime.run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def gateway(broker: Mosquitto, tmp_path: Path, meter: Meter) -> AsyncIterator[None]:
    data = {
        "gateway": {"id": "lp-e2e", "state_dir": str(tmp_path / "state"), "timezone": str(ZONE)},
        "mqtt": {"host": "127.0.0.1", "port": broker.port},
        "meters": [
            {
                "name": "house",
                "serial": SERIAL,
                "ccc": {"port": str(tmp_path / "ttyCCC")},
                "resolution": {"energy_scaler": meter.config.energy_scaler},
                "optical": {"port": str(tmp_path / "ttyOPT"), "password": "12345"},
                "commands": ["read_load_profile"],
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


async def batch_after(sub: Subscriber, seen: int) -> dict[str, Any]:
    message = await sub.wait_for(
        lambda m: m.topic.value == f"omnipower/{SERIAL}/load_profile", after=seen, within=60
    )
    value: dict[str, Any] = json.loads(message.payload)
    return value


async def read_load_profile(
    port: int, command_id: str, start: datetime, end: datetime | None = None
) -> None:
    args = {"from": start.isoformat()} | ({} if end is None else {"to": end.isoformat()})
    body = {
        "id": command_id,
        "expires_at": (datetime.now(UTC) + timedelta(seconds=30)).isoformat(),
        "args": args,
    }
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.publish(f"omnipower/{SERIAL}/cmd/read_load_profile", json.dumps(body), qos=1)


def ends(batch: dict[str, Any]) -> list[datetime]:
    return [datetime.fromisoformat(i["end"]) for i in batch["intervals"]]


def structure(batches: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What the statistics tests rely on, independent of the day the batches were read."""
    backfill, early, late = batches["backfill"], batches["early"], batches["late"]
    anchor = max(e for e in ends(backfill) if e.minute == 0)
    whole_hours = {anchor - e for e in ends(backfill) if e.minute == 0}
    every = list(batches.values())
    return {
        "messages": sorted(batches),
        "top_level": sorted({key for b in every for key in b}),
        "interval_keys": sorted({key for b in every for i in b["intervals"] for key in i}),
        "every_interval_has_every_register": all(
            set(i) >= REGISTERS for b in every for i in b["intervals"]
        ),
        "interval_s": [b["interval_s"] for b in every],
        "request_ids": [b["request_id"] for b in every],
        # the hour ending two hours before the newest whole hour is missing, its neighbours not
        "gap": (
            timedelta(hours=2) in whole_hours,
            timedelta(hours=1) in whole_hours,
            timedelta(hours=3) in whole_hours,
        ),
        "quadrants_all_grow": all(
            backfill["intervals"][-1][f"reactive_energy_q{q}_kvarh"]
            > backfill["intervals"][0][f"reactive_energy_q{q}_kvarh"]
            for q in range(1, 5)
        ),
        # the two reads lie inside the back-fill, the older one before the newer one, and
        # every whole hour of the back-fill is in one of them
        "reads_inside_backfill": set(ends(early)) | set(ends(late)) <= set(ends(backfill)),
        "early_before_late": max(ends(early)) < min(ends(late)),
        "reads_cover_every_hour": {e for e in ends(backfill) if e.minute == 0}
        <= set(ends(early)) | set(ends(late)),
        "registers_never_go_down": all(
            a[key] <= b[key]
            for batch in every
            for a, b in itertools.pairwise(batch["intervals"])
            for key in REGISTERS
        ),
    }


async def test_the_load_profile_fixture_is_what_the_gateway_publishes(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    meter = history(anchor)
    async with (
        emulator(tmp_path, meter),
        subscriber(mosquitto.port, f"omnipower/{SERIAL}/load_profile") as sub,
        gateway(mosquitto, tmp_path, meter),
    ):
        live = {"backfill": await batch_after(sub, 0)}
        for name, start, end in (
            ("early", anchor - timedelta(hours=6), anchor - timedelta(hours=4)),
            ("late", anchor - timedelta(hours=3), None),
        ):
            seen = len(sub.messages)
            await read_load_profile(mosquitto.port, f"lp-{name}", start, end)
            live[name] = await batch_after(sub, seen)
    schema = json.loads((SCHEMAS / "load_profile.schema.json").read_text())
    for batch in live.values():
        jsonschema.validate(batch, schema)
        assert batch["parts"] == 1
    if os.environ.get("OMNIPOWER_RECORD_FIXTURES"):
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(json.dumps(live, indent=2) + "\n")
    recorded = json.loads(FIXTURE.read_text())
    expected = {
        "messages": ["backfill", "early", "late"],
        "top_level": sorted(schema["required"]),
        "interval_keys": sorted({"start", "end", "status", *REGISTERS}),
        "every_interval_has_every_register": True,
        "interval_s": [900, 900, 900],
        "request_ids": [None, "lp-early", "lp-late"],
        "gap": (False, True, True),
        "quadrants_all_grow": True,
        "reads_inside_backfill": True,
        "early_before_late": True,
        "reads_cover_every_hour": True,
        "registers_never_go_down": True,
    }
    assert structure(live) == expected
    assert structure(recorded) == expected
