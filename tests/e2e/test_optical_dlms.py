"""The gateway's DLMS optical port against the emulated meter, end to end.

Real parts throughout: the emulator's meter model, run in real time by its runtime, pushing on
a CCC pty, with its optical port (the mux, the DLMS server over the model) on a second pty; the
real :class:`~ccc_gateway.service.Gateway` with ``[meters.ccc]`` and ``[meters.optical]`` on
those ptys; a real Mosquitto. A poll must publish the state topics, valid against their
schemas and equal to the model; the load profile's back-fill must equal the model's logger; a
breaker command over MQTT must open the model's breaker, be confirmed by read-back, and the
next CCC push must show no import.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
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
from meter_emulator.model import CouplingState, Meter, PhaseSupply, Supply
from meter_emulator.model import parse_config as parse_meter_config
from meter_emulator.model.clock import from_us
from meter_emulator.model.logs import ProfileStatus
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
ZONE = ZoneInfo("Europe/Copenhagen")  # the meter's own table: GMT+1 with EU summer time
SCHEMAS = Path(__file__).parents[2] / "docs" / "schemas"
FAST = Backoff(initial=0.05, maximum=0.3)
#: The optical line and the DLMS server's timers run this much faster than real time.
OPTICAL_SPEED = 10.0
#: A day of history before the test starts: 96 load-profile entries to back-fill.
HISTORY = timedelta(days=1)


def validate(topic: str, payload: dict[str, Any]) -> None:
    schema = json.loads((SCHEMAS / f"{topic}.schema.json").read_text())
    jsonschema.validate(payload, schema)


def payload(message: aiomqtt.Message) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(message.payload)
    return value


@dataclass
class Emulator:
    meter: Meter
    ccc: PtyLink
    optical: PtyLink


@contextlib.asynccontextmanager
async def emulator(tmp_path: Path) -> AsyncIterator[Emulator]:
    """A three-phase meter with prepayment on 1 kW per phase, a day of history behind it."""
    config = parse_meter_config(
        {
            "meter": {"type_number": "6841131BN243101040", "serial": int(SERIAL)},
            "prepayment": {"enabled": True, "credit_kwh": 500.0, "alarm_limit_kwh": 5.0},
            "push": {"list": "han_nve_list_2"},
        }
    )
    supply = Supply(tuple(PhaseSupply(230.0, 1000.0, 150.0) for _ in range(3)), thd_pct=2.4)
    now = datetime.now(UTC).replace(microsecond=0)
    meter = Meter(config, start=now - HISTORY, source=ConstantLoad(supply))
    # Twenty minutes with the breaker open, half a day ago: entries flagged BREAKER_OPEN.
    meter.advance_to(now - HISTORY / 2)
    meter.write_coupling(1)
    meter.advance_to(now - HISTORY / 2 + timedelta(minutes=20))
    meter.write_coupling(2)
    meter.write_coupling(3)
    meter.advance_to(now)
    server = dlms_server_for(meter, inactivity_timeout=20.0 * OPTICAL_SPEED)
    mux = OpticalMux(Iec62056Server(ModelOpticalMeter(meter)), DlmsServerEndpoint(server))
    ccc_link = PtyLink(baudrate=2400, symlink=tmp_path / "ttyCCC")
    optical_link = PtyLink(baudrate=9600, speed=OPTICAL_SPEED, symlink=tmp_path / "ttyOPT")
    ccc = CccPush(push_config(config), next_invocation_counter=meter.next_invocation_counter)
    runtime = EmulatorRuntime(meter, SimClock(from_us(meter.now_us)), ccc, [ccc_link])
    async with ccc_link, optical_link, OpticalPort(mux, optical_link, reaction_time=0.0):
        task = asyncio.create_task(runtime.run())
        try:
            yield Emulator(meter, ccc_link, optical_link)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def gateway(
    broker: Mosquitto, tmp_path: Path, emulated: Emulator, *, association: str = "optical"
) -> AsyncIterator[None]:
    data = {
        "gateway": {"id": "dlms-e2e", "state_dir": str(tmp_path / "state"), "timezone": str(ZONE)},
        "mqtt": {"host": "127.0.0.1", "port": broker.port},
        "meters": [
            {
                "name": "house",
                "serial": SERIAL,
                "ccc": {"port": str(tmp_path / "ttyCCC")},
                "resolution": {"energy_scaler": emulated.meter.config.energy_scaler},
                "optical": {
                    "port": str(tmp_path / "ttyOPT"),
                    "password": "12345",
                    "association": association,
                    "poll_interval": 10,
                },
                "commands": [
                    "breaker",
                    "tariff",
                    "relay",
                    "clock_sync",
                    "prepayment_top_up",
                    "prepayment_alarm_limit",
                    "refresh",
                    "read_load_profile",
                ],
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


async def latest(sub: Subscriber, topic: str, *, after: int = 0, within: float = 30) -> Any:
    message = await sub.wait_for(
        lambda m: m.topic.value == f"omnipower/{SERIAL}/{topic}", after=after, within=within
    )
    return payload(message)


async def push_after(sub: Subscriber, meter_local: datetime) -> dict[str, Any]:
    """The first ``power`` message of a push the meter built after *meter_local* (its own
    clock): frames built earlier may still be on the 2400-baud line."""

    def built_after(message: aiomqtt.Message) -> bool:
        if message.topic.value != f"omnipower/{SERIAL}/power":
            return False
        stamp = datetime.fromisoformat(payload(message)["ts"])
        return stamp.astimezone(ZONE).replace(tzinfo=None) > meter_local

    return payload(await sub.wait_for(built_after, within=30))


async def send_command(port: int, name: str, command_id: str, **args: Any) -> None:
    body = {
        "id": command_id,
        "expires_at": (datetime.now(UTC) + timedelta(seconds=30)).isoformat(),
        "args": args,
    }
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.publish(f"omnipower/{SERIAL}/cmd/{name}", json.dumps(body), qos=1)


async def test_a_poll_publishes_the_models_state(mosquitto: Mosquitto, tmp_path: Path) -> None:
    async with (
        emulator(tmp_path) as emulated,
        subscriber(mosquitto.port, f"omnipower/{SERIAL}/#") as sub,
        gateway(mosquitto, tmp_path, emulated),
    ):
        meter = emulated.meter
        topics = ("breaker", "tariff", "relays", "prepayment", "status", "quality", "clock")
        state = {topic: await latest(sub, topic) for topic in topics}
        energy = await sub.wait_for(
            lambda m: (
                m.topic.value == f"omnipower/{SERIAL}/energy"
                and "active_energy_import_t1_kwh" in payload(m)
            ),
            within=30,
        )
    for topic, value in state.items():
        validate(topic, value)
    validate("energy", payload(energy))

    assert state["breaker"]["state"] == "connected"
    assert state["breaker"]["coupling_state"] == 4
    assert state["breaker"]["coupling_mode"] == "manual"
    assert state["breaker"]["cutoff_basis"] == ["prepayment"]
    assert state["breaker"]["feedback"]["voltage_l3"] is True
    assert state["tariff"]["active_tariff"] == meter.tariff
    assert (state["relays"]["relay_1_on"], state["relays"]["relay_2_on"]) == (False, False)
    prepayment = state["prepayment"]
    assert prepayment["enabled"] is True
    # Credit counts down by 3 kW x the seconds since the poll: a few Wh.
    assert prepayment["credit_kwh"] == pytest.approx(meter.prepayment.credit_kwh, abs=0.05)
    assert prepayment["alarm_limit_kwh"] == 5.0
    assert state["status"]["cover_open"] is False
    assert state["status"]["power_failure"] is False
    quality = state["quality"]
    assert quality["voltage_thd_l1_pct"] == pytest.approx(2.4)
    assert quality["frequency_hz"] == pytest.approx(50.0)
    assert quality["voltage_sag_count_l2"] == 0
    clock = state["clock"]
    assert abs(clock["drift_s"]) < 3
    assert clock["dst"] == meter.dst()
    registers = payload(energy)
    for key, register in (
        ("active_energy_import_kwh", "a_plus"),
        ("active_energy_export_kwh", "a_minus"),
        ("reactive_energy_import_kvarh", "r_plus"),
        *((f"active_energy_import_t{t}_kwh", f"a_plus_t{t}") for t in range(1, 5)),
    ):
        # 10 Wh resolution; the model runs on while the test reads it (3 kW: 1 Wh in 1.2 s).
        assert registers[key] == pytest.approx(meter.energy.wh(register) / 1000, abs=0.05), key


async def test_load_profile_back_fill_equals_the_models_logger(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    async with (
        emulator(tmp_path) as emulated,
        subscriber(mosquitto.port, f"omnipower/{SERIAL}/load_profile") as sub,
        gateway(mosquitto, tmp_path, emulated),
    ):
        first = await latest(sub, "load_profile", within=60)
        batches = [first]
        while len(batches) < first["parts"]:
            batches.append(await latest(sub, "load_profile", after=len(batches), within=30))
        entries = list(emulated.meter.load_profile.entries)
    for batch in batches:
        validate("load_profile", batch)
        assert batch["interval_s"] == 900
        assert batch["request_id"] is None
    intervals = [i for b in batches for i in b["intervals"]]
    assert len(intervals) == len(entries) >= 95  # a day at 15 minutes
    assert any(i["status"] & ProfileStatus.BREAKER_OPEN for i in intervals)
    for interval, entry in zip(intervals, entries, strict=True):
        end = datetime.fromisoformat(interval["end"])
        assert end.astimezone(ZONE).replace(tzinfo=None) == entry.local
        assert interval["status"] == int(entry.status)
        values = dict(zip(emulated.meter.load_profile.channels, entry.values, strict=True))
        assert interval["active_energy_import_kwh"] == values["a_plus"] // 10 * 10 / 1000
        assert interval["reactive_energy_export_kvarh"] == values["r_minus"] // 10 * 10 / 1000


async def test_breaker_disconnect_over_mqtt_opens_the_models_breaker(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    async with (
        emulator(tmp_path) as emulated,
        subscriber(mosquitto.port, f"omnipower/{SERIAL}/#") as sub,
        gateway(mosquitto, tmp_path, emulated),
    ):
        meter = emulated.meter
        assert (await latest(sub, "breaker"))["state"] == "connected"
        power = await latest(sub, "power")
        assert power["active_power_import_w"] == 3000

        await send_command(mosquitto.port, "breaker", "off-1", action="disconnect")
        result = await sub.wait_for(
            lambda m: (
                m.topic.value.endswith("/cmd/result")
                and payload(m)["id"] == "off-1"
                and payload(m)["status"] != "accepted"
            ),
            within=30,
        )
        assert meter.breaker.state is CouplingState.DISCONNECTED
        after = await push_after(sub, meter.local())
        event = await sub.wait_for(lambda m: m.topic.value.endswith("/events"), within=30)
    outcome = payload(result)
    validate("cmd_result", outcome)
    assert outcome["status"] == "done", outcome
    assert (outcome["state"]["state"], outcome["state"]["coupling_state"]) == ("disconnected", 1)
    assert after["active_power_import_w"] == 0  # the next push: no import
    assert (payload(event)["type"], payload(event)["command_id"]) == ("breaker_changed", "off-1")


async def run_command(
    sub: Subscriber, port: int, name: str, command_id: str, **args: Any
) -> dict[str, Any]:
    """Send a command and return its final ``cmd/result`` (validated against its schema)."""
    seen = len(sub.messages)
    await send_command(port, name, command_id, **args)
    message = await sub.wait_for(
        lambda m: (
            m.topic.value.endswith("/cmd/result")
            and payload(m)["id"] == command_id
            and payload(m)["status"] != "accepted"
        ),
        after=seen,
        within=30,
    )
    result = payload(message)
    validate("cmd_result", result)
    return result


async def test_commands_change_the_model_and_are_confirmed(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Breaker round trip, tariff force and auto, a relay, clock sync, an asked-for profile."""
    async with (
        emulator(tmp_path) as emulated,
        subscriber(mosquitto.port, f"omnipower/{SERIAL}/#") as sub,
        gateway(mosquitto, tmp_path, emulated),
    ):
        meter = emulated.meter
        meter.shift_time(120)  # the meter runs two minutes ahead
        await latest(sub, "breaker")
        port = mosquitto.port

        steps = [("disconnect", 1), ("release", 8), ("reconnect", 4)]
        for action, coupling_state in steps:
            result = await run_command(sub, port, "breaker", f"b-{action}", action=action)
            assert result["status"] == "done", result
            assert result["state"]["coupling_state"] == coupling_state
            assert int(meter.breaker.state) == coupling_state
        refused = await run_command(sub, port, "breaker", "b-again", action="reconnect")
        assert (refused["status"], refused["reason"]) == ("failed", "meter_error")
        assert (await push_after(sub, meter.local()))["active_power_import_w"] == 3000

        calendar_tariff = meter.tariff
        forced = 4 if calendar_tariff != 4 else 3
        result = await run_command(sub, port, "tariff", "t-force", mode="force", tariff=forced)
        assert (result["status"], result["state"]["active_tariff"]) == ("done", forced)
        assert (meter.tariff, meter.tariffs.source.value) == (forced, "forced")
        result = await run_command(sub, port, "tariff", "t-auto", mode="auto")
        assert result["status"] == "done", result
        assert (meter.tariff, meter.tariffs.source.value) == (calendar_tariff, "calendar")

        result = await run_command(sub, port, "relay", "r-on", relay=2, on=True)
        assert (result["status"], result["state"]["relay_2_on"]) == ("done", True)
        assert meter.relays.relay2

        result = await run_command(sub, port, "clock_sync", "c-sync")
        assert result["status"] == "done", result
        local_now = datetime.now(ZONE).replace(tzinfo=None)
        assert abs((meter.local() - local_now).total_seconds()) < 3

        start = datetime.now(UTC) - timedelta(hours=2)
        seen = len(sub.messages)
        lp_result = await run_command(
            sub, port, "read_load_profile", "lp-1", **{"from": start.isoformat()}
        )
        assert lp_result["status"] == "done", lp_result
        batch = await latest(sub, "load_profile", after=seen)
        # The refused top-up: A14_Prepayment is written by the primary module only.
        top_up = await run_command(sub, port, "prepayment_top_up", "p-1", energy_kwh=10)
    validate("load_profile", batch)
    assert batch["request_id"] == "lp-1"
    ends = [datetime.fromisoformat(i["end"]) for i in batch["intervals"]]
    assert len(ends) == lp_result["state"]["intervals"] in (7, 8, 9)
    assert all(end >= start for end in ends)
    assert (top_up["status"], top_up["reason"]) == ("failed", "meter_error")
    assert "read-write-denied" in top_up["text"]


async def test_prepayment_commands_through_the_primary_module_association(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    async with (
        emulator(tmp_path) as emulated,
        subscriber(mosquitto.port, f"omnipower/{SERIAL}/#") as sub,
        gateway(mosquitto, tmp_path, emulated, association="primary_module"),
    ):
        meter = emulated.meter
        await latest(sub, "prepayment")
        before = meter.prepayment.credit_kwh
        top_up = await run_command(sub, mosquitto.port, "prepayment_top_up", "p-1", energy_kwh=25)
        after = meter.prepayment.credit_kwh
        limit = await run_command(
            sub, mosquitto.port, "prepayment_alarm_limit", "p-2", energy_kwh=12
        )
    assert top_up["status"] == "done", top_up
    assert after == pytest.approx(before + 25, abs=0.05)
    assert top_up["state"]["credit_kwh"] == pytest.approx(after, abs=0.05)
    assert meter.prepayment.last_top_up_kwh == pytest.approx(25, abs=0.05)
    assert (limit["status"], limit["state"]["alarm_limit_kwh"]) == ("done", 12)
    assert meter.prepayment.alarm_limit_nj == 12 * 3_600_000_000_000_000
