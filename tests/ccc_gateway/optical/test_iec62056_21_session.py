"""The IEC 62056-21 readout as an optical port: names and units of the contract, read-only.

The end-to-end test runs the poller against the emulator's 1107 port on a real pty, bound to the
real meter model, so what the gateway publishes is compared with the model's own registers.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ccc_gateway.config import OpticalPortConfig
from ccc_gateway.optical.iec62056_21_client import Iec62056Client, Readout
from ccc_gateway.optical.iec62056_21_port import SerialOpticalPort
from ccc_gateway.optical.iec62056_21_session import (
    READOUT_ONLY,
    Iec62056OpticalPort,
    readout_clock,
    readout_values,
)
from ccc_gateway.optical.poller import OpticalPoller
from ccc_gateway.optical.ports import open_optical_port
from ccc_gateway.optical.session import MeterClock, ObjectRefused, OpticalError
from ccc_gateway.protocol.iec62056_21 import DataSet, DataValue, Identification
from meter_emulator.model import ConstantLoad, Meter, parse_config
from meter_emulator.model.power import PhaseSupply, Supply
from meter_emulator.ports.iec62056_21 import Iec62056Server
from meter_emulator.ports.iec62056_21_link import OpticalPort
from meter_emulator.ports.iec62056_21_model import ModelOpticalMeter
from meter_emulator.ports.links import PtyLink, TcpLink

ZONE = ZoneInfo("Europe/Copenhagen")
SCHEMAS = Path(__file__).parents[3] / "docs" / "schemas"
#: Line times and timers run this much faster than real time on the emulator side.
SPEED = 4.0
START = datetime(2026, 1, 12, 5, 0, tzinfo=UTC)  # Monday 06:00 local
#: A User data 2 list (object 131.0.3) with what the poller reads, up to the 40 allowed.
POLL_LIST = (
    *("0.0.1", "96.1.0", "0.2.0", "97.97.0", "128.0.0", "129.0.0", "96.52.1", "96.52.3"),
    *("1.8.0", "1.8.1", "1.8.2", "1.8.3", "1.8.4", "2.8.0", "3.8.0", "4.8.0"),
    *("13.7.0", "14.7.0", "32.7.124", "32.32.0", "32.36.0", "130.0.0", "130.0.7", "1.0.0"),
)


def _valid(topic: str, payload: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(payload, json.loads((SCHEMAS / f"{topic}.schema.json").read_text()))


def readout(*sets: tuple[str, str, str | None]) -> Readout:
    data = tuple(DataSet(obis, (DataValue(value, unit),)) for obis, value, unit in sets)
    return Readout(Identification("KAM", "5", " 6841131BN243101"), data, 9600)


def test_registers_become_object_names_in_contract_units() -> None:
    values = readout_values(
        readout(
            ("0.0.1", "01234567", None),
            ("1.8.0", "0000586.12", "kWh"),
            ("1.8.1", "0000010", "kwh"),  # Kamstrup's example writes the unit in lower case
            ("2.8.0", "12500", "Wh"),
            ("1.7.0", "00001.234", "kW"),
            ("3.7.0", "00000.200", "kvar"),
            ("32.7.0", "231", "V"),
            ("31.7.0", "5.01", "A"),
            ("129.0.0", "2", None),
            ("128.0.0", "4", None),
            ("13.7.0", "0.98", None),
            ("130.0.7", "5.0", "kWh"),
            ("1.6.0", "00001.500", "kW"),
        )
    )
    assert values == {
        "meter_number": "01234567",
        "meter_type": "6841131BN243101",
        "active_energy_import": 586.12,
        "active_energy_import_t1": 10.0,
        "active_energy_export": 12.5,
        "active_power_import": 1234.0,
        "reactive_power_import": 200.0,
        "voltage_l1": 231.0,
        "current_l1": 5.01,
        "actual_tariff": 2,
        "coupling_state": 4,
        "power_factor": 0.98,
        "prepayment_alarm_limit": 5,
        "max_active_power_import": 1500.0,
    }


def test_unknown_registers_and_unconvertible_units_are_left_out() -> None:
    values = readout_values(
        readout(
            ("0.128.1", "1", None),  # not an object of the table
            ("96.8.0", "49", None),
            ("1.8.0", "586.12", "MJ"),  # a unit we would have to guess
            ("32.7.0", "231", None),  # a voltage without its unit
            ("14.7.0", "fifty", "Hz"),
            ("13.7.0", "0.98", "%"),
        )
    )
    assert values == {"meter_type": "6841131BN243101"}


@pytest.mark.parametrize(
    ("sets", "clock"),
    [
        ((("1.0.0", "01260112110703", None),), MeterClock(datetime(2026, 1, 12, 11, 7, 3), False)),
        ((("1.0.0", "11260712110703", None),), MeterClock(datetime(2026, 7, 12, 11, 7, 3), True)),
        (
            (("0.9.1", "110703", None), ("0.9.2", "260112", None)),
            MeterClock(datetime(2026, 1, 12, 11, 7, 3), None),
        ),
        ((("1.0.0", "01261312110703", None),), None),  # month 13
        ((("1.8.0", "1", "kWh"),), None),
    ],
)
def test_the_clock_comes_from_the_readout(
    sets: tuple[tuple[str, str, str | None], ...], clock: MeterClock | None
) -> None:
    assert readout_clock(readout(*sets)) == clock


def model() -> Meter:
    config = parse_config(
        {
            "meter": {"type_number": "6841131BN243101040", "meter_number": 1234567},
            "prepayment": {"enabled": True, "credit_kwh": 100.0, "alarm_limit_kwh": 5.0},
        }
    )
    supply = Supply(tuple(PhaseSupply(231.0, 1150.0, 200.0) for _ in range(3)))
    m = Meter(config, start=START, source=ConstantLoad(supply))
    m.advance_to(START + timedelta(hours=3, minutes=7))
    return m


class Sink:
    def __init__(self) -> None:
        self.states: list[tuple[str, dict[str, Any]]] = []
        self.events: list[dict[str, Any]] = []
        self.energy: list[dict[str, float]] = []
        self.errors: list[OpticalError] = []
        self.identity: list[dict[str, Any]] = []


def poller(port: Any, sink: Sink, m: Meter) -> OpticalPoller:
    return OpticalPoller(
        port,
        ZONE,
        60,
        meter_id=lambda: "01234567",
        publish_state=lambda name, payload: sink.states.append((name, payload)),
        publish_event=sink.events.append,
        publish_energy=lambda values, ts: sink.energy.append(values),
        publish_profile=lambda batch: None,
        on_error=sink.errors.append,
        on_ok=lambda: None,
        now=m.true_time,
        load_profile=False,
        phases=3,
        on_identity=sink.identity.append,
    )


async def test_the_poller_publishes_the_model_values_read_over_1107(tmp_path: Path) -> None:
    m = model()
    server = Iec62056Server(ModelOpticalMeter(m, user_data_2=POLL_LIST))
    async with (
        PtyLink(baudrate=300, speed=SPEED, symlink=tmp_path / "optical") as link,
        OpticalPort(server, link),
    ):
        port = open_optical_port(
            OpticalPortConfig(kind="serial", protocol="iec62056-21", path=link.description)
        )
        assert isinstance(port, Iec62056OpticalPort)
        sink = Sink()
        p = poller(port, sink, m)
        published = await asyncio.wait_for(p.poll_once(), 30)
        assert published is not None, sink.errors
        states = dict(sink.states)
        for name, payload in sink.states:
            _valid(name, payload)
        assert sorted(states) == [
            "breaker",
            "clock",
            "prepayment",
            "quality",
            "relays",
            "status",
            "tariff",
        ]
        assert sink.identity == [
            {
                "meter_number": "01234567",
                "serial_number": str(m.identity.serial),
                "meter_type": "6841131BN243101",
                "firmware": m.identity.firmware,
            }
        ]
        # Equal to the model's registers: the model did not move during the poll.
        assert states["tariff"]["active_tariff"] == m.tariff == 2
        assert states["breaker"]["coupling_state"] == m.breaker.state.value
        assert states["relays"]["relay_1_on"] is m.relays.relay1
        assert states["prepayment"]["credit_kwh"] == round(m.prepayment.credit_kwh, 3)
        assert states["prepayment"]["alarm_limit_kwh"] == 5.0
        assert states["status"]["meter_status"] == int(m.meter_status)
        assert states["quality"]["frequency_hz"] == round(m.measured.frequency_hz, 2)
        assert states["clock"]["meter_time"] == "2026-01-12T09:07:00+01:00"
        assert states["clock"]["drift_s"] == 0.0
        (energy,) = sink.energy
        expected = {
            "active_energy_import_kwh": m.energy.wh("a_plus") // 10 / 100,
            "active_energy_export_kwh": 0.0,
            "reactive_energy_import_kvarh": m.energy.wh("r_plus") // 10 / 100,
            "reactive_energy_export_kvarh": 0.0,
            **{
                f"active_energy_import_t{t}_kwh": m.energy.wh(f"a_plus_t{t}") // 10 / 100
                for t in range(1, 5)
            },
        }
        assert energy == expected

        # The model moves on (a forced tariff, an hour of energy): the next poll shows it.
        m.force_tariff(4)
        m.advance_to(m.true_time() + timedelta(hours=1))
        assert await asyncio.wait_for(p.poll_once(), 30) is not None, sink.errors
    assert [e["type"] for e in sink.events] == ["tariff_changed"]
    _valid("events", sink.events[0])
    assert sink.energy[-1]["active_energy_import_t4_kwh"] == 3.45


async def test_writes_the_clock_and_the_profile_are_refused(tmp_path: Path) -> None:
    m = model()
    async with (
        PtyLink(baudrate=300, speed=SPEED, symlink=tmp_path / "optical") as link,
        OpticalPort(Iec62056Server(ModelOpticalMeter(m)), link),
    ):
        port = open_optical_port(
            OpticalPortConfig(kind="serial", protocol="iec62056-21", path=link.description)
        )
        async with port.session() as session:
            for call in (
                session.write("actual_tariff", 4),
                session.write_clock(MeterClock(datetime(2026, 1, 1), False)),
                session.read_load_profile(datetime(2026, 1, 1), datetime(2026, 1, 2)),
            ):
                with pytest.raises(ObjectRefused, match="read-only"):
                    await call
            # The default User data 2 has no ActualTariff, but it has the date and time.
            assert await asyncio.wait_for(session.read(["actual_tariff"]), 30) == {}
            assert (await session.read_clock()).local == m.local()
    assert m.tariff == 2
    assert READOUT_ONLY.endswith("(no programming mode)")


async def test_a_missing_head_is_a_failed_poll(tmp_path: Path) -> None:
    m = model()
    port = open_optical_port(
        OpticalPortConfig(kind="serial", protocol="iec62056-21", path=str(tmp_path / "none"))
    )
    sink = Sink()
    p = poller(port, sink, m)
    assert await p.poll_once() is None
    assert [e.code for e in sink.errors] == ["optical_unavailable"]
    assert p.failures == 1


async def test_a_silent_meter_is_a_failed_poll_with_the_readout_hint(tmp_path: Path) -> None:
    m = model()
    async with PtyLink(baudrate=300, speed=SPEED, symlink=tmp_path / "optical") as link:
        port = Iec62056OpticalPort(
            link.description,
            lambda: SerialOpticalPort(link.description),
            client=lambda: Iec62056Client(response_timeout=0.2),
        )
        sink = Sink()
        assert await asyncio.wait_for(poller(port, sink, m).poll_once(), 30) is None
    (error,) = sink.errors
    assert error.code == "optical_unavailable"
    assert "no identification" in str(error)


async def test_a_readout_over_tcp() -> None:
    m = model()
    async with (
        TcpLink(port=0, baudrate=300, speed=50) as link,
        OpticalPort(Iec62056Server(ModelOpticalMeter(m, user_data_2=POLL_LIST)), link),
    ):
        config = OpticalPortConfig(
            kind="tcp", protocol="iec62056-21", host="127.0.0.1", port=link.port
        )
        port = open_optical_port(config)
        assert port.description == f"tcp://127.0.0.1:{link.port} (iec62056-21)"
        async with port.session() as session:
            values = await asyncio.wait_for(session.read(["actual_tariff", "coupling_state"]), 30)
    assert values == {"actual_tariff": m.tariff, "coupling_state": m.breaker.state.value}
