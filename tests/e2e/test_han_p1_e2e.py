"""HAN P1 end to end: the emulator's telegrams → pty at 115200 → gateway (p1) → real Mosquitto.

Nothing is mocked: the emulated meter runs its model and builds each telegram at its trigger
time; the gateway reads the pty with ``p1 = true`` and publishes in the contract units.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from meter_emulator.cli import push_config
from meter_emulator.model import Meter
from meter_emulator.model.clock import from_us
from meter_emulator.ports.ccc_push import CccPush
from meter_emulator.ports.faults import Fault
from meter_emulator.ports.push_schedule import DuePush, PushKind
from meter_emulator.scenarios import Household
from tests.e2e.conftest import Mosquitto, PtyMeter, subscriber
from tests.e2e.test_gateway_e2e import eventually, port_open, running
from tests.meter_emulator.model.helpers import THREE, config

pytestmark = pytest.mark.slow
SERIAL = "7350000001"
START = datetime(2024, 6, 21, 10, tzinfo=UTC)


def gateway_config(broker: Mosquitto, port: Path, state_dir: Path) -> dict[str, Any]:
    return {
        "gateway": {"id": "test", "state_dir": str(state_dir), "timezone": "Europe/Stockholm"},
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "base_topic": "omnipower"},
        "meters": [
            {
                "name": "p1",
                "serial": SERIAL,
                "p1": True,
                "ccc": {"port": str(port), "baudrate": 115_200},
            }
        ],
    }


def topic(name: str) -> str:
    return f"omnipower/{SERIAL}/{name}"


def payload(message: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(message.payload)
    return result


async def test_emulated_han_p1_telegrams_are_published_with_the_models_values(
    mosquitto: Mosquitto, pty_meter: PtyMeter, tmp_path: Path
) -> None:
    cfg = config(meter={"type_number": THREE}, push={"list": "han_p1", "energy_scaler": 0})
    m = Meter(cfg, start=START, source=Household(seed=5, phases=3))
    ccc = CccPush(push_config(cfg), next_invocation_counter=m.next_invocation_counter)

    def push(fault: Fault | None = None) -> bytes:
        m.advance_to(from_us(m.now_us) + timedelta(seconds=10))
        if fault is not None:
            ccc.inject(fault)
        trigger = m.meter_clock().replace(microsecond=0)
        return ccc.build(DuePush(PushKind.INTERVAL, trigger), m.push_snapshot())

    async with (
        subscriber(mosquitto.port, "omnipower/#") as sub,
        running(gateway_config(mosquitto, pty_meter.link, tmp_path)) as gateway,
    ):
        await port_open(gateway)
        await pty_meter.send(push(Fault.BAD_FCS))
        await pty_meter.send(push(Fault.TRUNCATED))
        await pty_meter.send(push())
        power = payload(await sub.wait_for(lambda msg: msg.topic.matches(topic("power"))))
        energy = payload(await sub.wait_for(lambda msg: msg.topic.matches(topic("energy"))))
        view = gateway.channels[0].view
        await eventually(lambda: view.frames_ok == 1)
        errors = dict(view.errors)
    measured = m.measured
    assert power["active_power_import_w"] == max(round(measured.active_mw / 1000), 0)
    assert power["active_power_export_w"] == max(round(-measured.active_mw / 1000), 0)
    for index, phase in enumerate(measured.phases, start=1):
        assert power[f"voltage_l{index}_v"] == round(phase.voltage_v)  # 1 V resolution
    assert energy["active_energy_import_kwh"] == m.energy.wh("a_plus") / 1000
    assert energy["active_energy_export_kwh"] == m.energy.wh("a_minus") / 1000
    local = m.meter_clock().replace(microsecond=0)
    assert power["ts"] == local.isoformat() + "+02:00"  # Swedish summer time
    assert errors == {"fcs_error": 1, "frame_truncated": 1}  # each fault by its named error
