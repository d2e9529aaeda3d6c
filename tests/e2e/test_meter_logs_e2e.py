"""Events from the meter's own logs, end to end: its time stamps, each once across a restart.

Real parts: the emulator's model and runtime (10 x real time) with its control socket, its CCC
push and optical port (mux + DLMS server with the event and power-quality logs) on ptys, the
real gateway service (restarted in the middle on the same state directory), real Mosquitto.
Everything is injected through the emulator's control interface, as a person would, at a
meter time read back from it; ``refresh`` commands make the gateway poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
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
from meter_emulator.control import ControlClient, ControlServer
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
from meter_emulator.session import control_handlers
from tests.e2e.conftest import Mosquitto, Subscriber, subscriber

pytestmark = pytest.mark.slow
jsonschema = pytest.importorskip("jsonschema")

SERIAL = "27581522"
ZONE = ZoneInfo("Europe/Copenhagen")
SCHEMAS = Path(__file__).parents[2] / "docs" / "schemas"
FAST = Backoff(initial=0.05, maximum=0.3)
SPEED = 10.0
#: A single-phase meter with a breaker (X10), DLMS variant.
SINGLE_PHASE = "6861111BN242101040"
#: The meter time an event carries may be this far from when it was injected (the runtime
#: advances the model in steps; the issue allows one simulated minute).
SLACK = timedelta(minutes=1)


@contextlib.asynccontextmanager
async def emulator(
    tmp_path: Path, control: Path, type_number: str = "6841131BN243101040"
) -> AsyncIterator[Meter]:
    config = parse_meter_config(
        {
            "meter": {"type_number": type_number, "serial": int(SERIAL)},
            "push": {"list": "han_nve_list_2"},
        }
    )
    supply = Supply(tuple(PhaseSupply(230.0, 500.0, 50.0) for _ in range(config.phases)))
    start = datetime.now(UTC).replace(microsecond=0)
    meter = Meter(config, start=start - timedelta(hours=1), source=ConstantLoad(supply))
    meter.set_cover(True)  # the meter's past: in its log, never published as news
    meter.advance_to(start - timedelta(minutes=30))
    meter.set_cover(False)
    meter.advance_to(start)
    server = dlms_server_for(meter, inactivity_timeout=20.0 * SPEED)
    mux = OpticalMux(Iec62056Server(ModelOpticalMeter(meter)), DlmsServerEndpoint(server))
    ccc_link = PtyLink(baudrate=2400, speed=SPEED, symlink=tmp_path / "ttyCCC")
    optical_link = PtyLink(baudrate=9600, speed=SPEED, symlink=tmp_path / "ttyOPT")
    ccc = CccPush(push_config(config), next_invocation_counter=meter.next_invocation_counter)
    runtime = EmulatorRuntime(meter, SimClock(from_us(meter.now_us), speed=SPEED), ccc, [ccc_link])
    handlers = control_handlers(meter, runtime, ccc, ccc_link)
    async with (
        ccc_link,
        optical_link,
        OpticalPort(mux, optical_link, reaction_time=0.0),
        ControlServer(control, handlers),
    ):
        task = asyncio.create_task(runtime.run())
        try:
            yield meter
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def gateway(broker: Mosquitto, tmp_path: Path) -> AsyncIterator[None]:
    data = {
        "gateway": {"id": "logs-e2e", "state_dir": str(tmp_path / "state"), "timezone": str(ZONE)},
        "mqtt": {"host": "127.0.0.1", "port": broker.port},
        "meters": [
            {
                "name": "house",
                "serial": SERIAL,
                "ccc": {"port": str(tmp_path / "ttyCCC")},
                "optical": {"port": str(tmp_path / "ttyOPT"), "password": "12345"},
                "commands": ["refresh"],
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


async def refresh(sub: Subscriber, port: int, number: int) -> None:
    """A poll now, and its answer."""
    body = {
        "id": f"poll-{number}",
        "expires_at": (datetime.now(UTC) + timedelta(seconds=30)).isoformat(),
        "args": {},
    }
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.publish(f"omnipower/{SERIAL}/cmd/refresh", json.dumps(body), qos=1)
    await sub.wait_for(
        lambda m: (
            m.topic.value.endswith("/cmd/result")
            and json.loads(m.payload).get("id") == f"poll-{number}"
            and json.loads(m.payload)["status"] in ("done", "failed")
        ),
        within=30,
    )


def events(sub: Subscriber) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in sub.on(f"omnipower/{SERIAL}/events")]


def near(event: dict[str, Any], meter_local: datetime) -> bool:
    stamp = datetime.fromisoformat(event["ts"]).astimezone(ZONE).replace(tzinfo=None)
    return abs(stamp - meter_local) <= SLACK


async def test_logged_events_carry_meter_time_and_come_once_across_a_restart(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    control = Path(tempfile.mkdtemp(prefix="omp-")) / "control.sock"  # a short socket path
    client = ControlClient(control)
    async with (
        emulator(tmp_path, control) as meter,
        subscriber(mosquitto.port, f"omnipower/{SERIAL}/#") as sub,
    ):
        async with gateway(mosquitto, tmp_path):
            await sub.wait_for(lambda m: m.topic.value.endswith("/clock"), within=30)
            assert events(sub) == []  # the cover of half an hour ago is the meter's past
            injected: dict[str, datetime] = {"sag": meter.local()}
            await client.call("sag", voltage_v=180, seconds=2)
            await asyncio.sleep(0.5)
            injected["swell"] = meter.local()
            await client.call("swell", voltage_v=260, seconds=1)
            injected["cover"] = meter.local()
            await client.call("cover", open=True)
            await asyncio.sleep(1.0)  # ten simulated seconds: well inside one poll interval
            await client.call("cover", open=False)
            injected["clock"] = meter.local()
            await client.call("shift_time", seconds=120)
            await asyncio.sleep(0.5)
            await refresh(sub, mosquitto.port, 1)
            await refresh(sub, mosquitto.port, 2)  # a second poll publishes nothing again
        before_restart = len(events(sub))
        injected["magnet"] = meter.local()
        await client.call("magnet", active=True)  # while the gateway is down
        heard = len(sub.messages)
        async with gateway(mosquitto, tmp_path):
            await sub.wait_for(lambda m: m.topic.value.endswith("/clock"), after=heard, within=30)
            await refresh(sub, mosquitto.port, 3)
            await refresh(sub, mosquitto.port, 4)
    got = events(sub)
    schema = json.loads((SCHEMAS / "events.schema.json").read_text())
    for event in got:
        jsonschema.validate(event, schema)
    assert len({e["id"] for e in got}) == len(got)  # each entry once, across the restart
    kinds = [(e["type"], e.get("kind"), e.get("active")) for e in got]
    assert kinds.count(("voltage_sag", None, None)) == 3  # one per phase
    assert kinds.count(("voltage_swell", None, None)) == 3
    assert kinds.count(("tamper", "cover", True)) == 1
    assert kinds.count(("tamper", "cover", False)) == 1
    assert kinds.count(("clock_adjusted", None, None)) == 1
    assert kinds.count(("tamper", "magnet", True)) == 1
    assert len(got) == 10
    assert before_restart == 9
    sags = [e for e in got if e["type"] == "voltage_sag"]
    assert {e["phase"] for e in sags} == {1, 2, 3}
    assert all(e["voltage_v"] == pytest.approx(180.0) for e in sags)
    assert all(e["duration_s"] == pytest.approx(2.0) for e in sags)
    assert all(near(e, injected["sag"]) for e in sags)
    swells = [e for e in got if e["type"] == "voltage_swell"]
    assert all(e["voltage_v"] == pytest.approx(260.0) for e in swells)
    assert all(near(e, injected["swell"]) for e in swells)
    cover = [e for e in got if e.get("kind") == "cover"]
    assert all(near(e, injected["cover"]) for e in cover)
    assert cover[1]["duration_s"] == pytest.approx(10.0, abs=2.0)  # simulated seconds open
    [clock] = [e for e in got if e["type"] == "clock_adjusted"]
    assert clock["drift_s"] == pytest.approx(120.0, abs=1.0)
    assert near({"ts": clock["old"]}, injected["clock"])
    [magnet] = [e for e in got if e.get("kind") == "magnet"]
    assert near(magnet, injected["magnet"])


async def test_a_forced_tariff_survives_a_gateway_restart_with_its_source(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    control = Path(tempfile.mkdtemp(prefix="omp-")) / "control.sock"
    client = ControlClient(control)

    def tariffs(sub: Subscriber, after: int = 0) -> list[dict[str, Any]]:
        return [json.loads(m.payload) for m in sub.on(f"omnipower/{SERIAL}/tariff")[after:]]

    async with (
        emulator(tmp_path, control) as meter,
        subscriber(mosquitto.port, f"omnipower/{SERIAL}/#") as sub,
    ):
        async with gateway(mosquitto, tmp_path):
            await sub.wait_for(lambda m: m.topic.value.endswith("/tariff"), within=30)
            calendar = tariffs(sub)[-1]
            assert calendar["source"] == "calendar"
            forced = 4 if calendar["active_tariff"] != 4 else 3
            at = meter.local()
            await client.call("tariff", tariff=forced)  # at the meter, not by a command
            await refresh(sub, mosquitto.port, 1)
            assert (tariffs(sub)[-1]["active_tariff"], tariffs(sub)[-1]["source"]) == (
                forced,
                "forced",
            )
        seen = len(sub.on(f"omnipower/{SERIAL}/tariff"))
        async with gateway(mosquitto, tmp_path):  # a new process: no memory of the force
            await sub.wait_for(
                lambda m: m.topic.value.endswith("/tariff"), after=len(sub.messages), within=30
            )
            await refresh(sub, mosquitto.port, 2)
            after = tariffs(sub, seen)
    assert after
    assert (after[-1]["active_tariff"], after[-1]["source"]) == (forced, "forced")
    changes = [e for e in events(sub) if e["type"] == "tariff_changed"]
    assert [(e["from"], e["to"], e["source"]) for e in changes] == [
        (calendar["active_tariff"], forced, "forced")
    ]
    assert near(changes[0], at)


async def test_a_debiting_stop_publishes_the_meters_stored_billing_values(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    control = Path(tempfile.mkdtemp(prefix="omp-")) / "control.sock"
    client = ControlClient(control)

    def billing(sub: Subscriber) -> list[dict[str, Any]]:
        return [json.loads(m.payload) for m in sub.on(f"omnipower/{SERIAL}/billing")]

    async with (
        emulator(tmp_path, control) as meter,
        subscriber(mosquitto.port, f"omnipower/{SERIAL}/#") as sub,
        gateway(mosquitto, tmp_path),
    ):
        await sub.wait_for(lambda m: m.topic.value.endswith("/billing"), within=30)
        stops = await client.call("debiting_stop")
        record = meter.debiting.records[-1]
        await refresh(sub, mosquitto.port, 1)
        got = billing(sub)
    schema = json.loads((SCHEMAS / "billing.schema.json").read_text())
    for payload in got:
        jsonschema.validate(payload, schema)
    last = got[-1]["last_period"]
    assert last is not None
    assert last["debiting_stops"] == stops == got[-1]["counters"]["debiting_stops"]
    stored_at = datetime.fromisoformat(record.values["p_plus_max_time"])
    assert last["max_active_power_import_w"] == record.values["p_plus_max_w"] > 0
    assert (
        datetime.fromisoformat(last["max_active_power_import_at"]).replace(tzinfo=None) == stored_at
    )
    ended = datetime.fromisoformat(last["ended"]).replace(tzinfo=None)
    assert ended == record.local.replace(microsecond=0)  # the wire's date-time has seconds
    assert got[0]["last_period"] is None or got[0]["last_period"]["debiting_stops"] < stops


async def test_a_single_phase_outage_is_read_back_from_the_log_when_power_returns(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """The meter's own supply goes: no poll answers; the log tells it afterwards."""
    control = Path(tempfile.mkdtemp(prefix="omp-")) / "control.sock"
    client = ControlClient(control)
    async with (
        emulator(tmp_path, control, type_number=SINGLE_PHASE) as meter,
        subscriber(mosquitto.port, f"omnipower/{SERIAL}/#") as sub,
        gateway(mosquitto, tmp_path),
    ):
        await sub.wait_for(lambda m: m.topic.value.endswith("/clock"), within=30)
        started = meter.local()
        await client.call("fail_supply", seconds=30)  # 3 s of wall time at 10 x
        await asyncio.sleep(4.0)
        ended = meter.local()
        await refresh(sub, mosquitto.port, 1)
        await sub.wait_for(
            lambda m: (
                m.topic.value.endswith("/events") and json.loads(m.payload).get("ended") is not None
            ),
            within=30,
        )
    failures = [e for e in events(sub) if e["type"] == "power_failure"]
    assert [e["ended"] is None for e in failures] == [True, False]
    assert near(failures[0], started)
    back = failures[1]
    assert back["duration_s"] == pytest.approx(30.0, abs=1.0)
    assert near({"ts": back["started"]}, started)
    assert abs(datetime.fromisoformat(back["ended"]).replace(tzinfo=None) - ended) <= SLACK
