"""Our client, the emulator's server and the real meter model end to end (docs/emulator.md).

The binding itself (``model_provider.ModelProvider``) has its own tests; these hold the whole
stack to show the push's registers and to carry writes into the model.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from ccc_gateway.protocol.axdr import CosemDateTime, Data, DataType
from ccc_gateway.protocol.dlms.client import Associated, AttributeValue, DlmsClient, SetOutcome
from ccc_gateway.protocol.dlms.descriptors import AttributeDescriptor, EntryDescriptor
from ccc_gateway.protocol.dlms.enums import DataAccessResult
from ccc_gateway.protocol.omnipower_objects import OBJECTS, CouplingState
from meter_emulator.dlms.model_provider import ModelProvider
from meter_emulator.dlms.provider import build_omnipower_registry, omnipower_associations
from meter_emulator.dlms.server import DlmsServer
from meter_emulator.model import Meter
from tests.meter_emulator.model.helpers import START, THREE, load, meter

COUPLING = AttributeDescriptor.of(1, "1.1.128.0.0.255", 2)
TARIFF = AttributeDescriptor.of(1, "1.1.129.0.0.255", 2)
CLOCK = AttributeDescriptor.of(8, "0.1.1.0.0.255", 2)
PROFILE = AttributeDescriptor.of(7, "1.1.99.1.0.255", 2)


class Optical:
    """Our client, associated over LLS with the server on *model*."""

    def __init__(self, model: Meter) -> None:
        associations = omnipower_associations()
        registry = build_omnipower_registry(ModelProvider(model), associations)
        self.server = DlmsServer(registry, associations)
        self.client = DlmsClient(client=19, password=b"12345")
        self.client.connect(0)
        self.run()
        self.client.associate(0)
        assert isinstance(self.run()[0], Associated)

    def run(self) -> list[object]:
        events: list[object] = []
        while out := self.client.data_to_send():
            self.server.receive_data(out, 0)
            events += self.client.receive_data(self.server.data_to_send(), 0)
        return events

    def get(self, attribute: AttributeDescriptor, access: object = None) -> object:
        self.client.get(attribute, 0, access)  # type: ignore[arg-type]
        (event,) = self.run()
        assert isinstance(event, AttributeValue)
        return event.result

    def set(self, attribute: AttributeDescriptor, value: Data) -> DataAccessResult:
        self.client.set(attribute, value, 0)
        (event,) = self.run()
        assert isinstance(event, SetOutcome)
        return event.result


@pytest.fixture
def three_phase() -> Meter:
    return meter(load(1150.0, 100.0, phases=3), meter={"type_number": THREE})


def test_registers_are_the_push_registers(three_phase: Meter) -> None:
    """Every register the push carries reads the same raw value, with the push's scaler."""
    three_phase.advance_to(START + timedelta(hours=2))
    optical = Optical(three_phase)
    snapshot = three_phase.push_snapshot()
    checked = 0
    for info in OBJECTS:
        if info.class_id == 3 and info.obis in snapshot:
            value = optical.get(AttributeDescriptor.of(3, info.obis, 2))
            assert isinstance(value, Data), info.name
            assert value.value == snapshot[info.obis], info.name
            checked += 1
    assert checked >= 15  # energies, powers, currents, voltages, PF, frequency
    current_unit = optical.get(AttributeDescriptor.of(3, "1.1.31.7.0.255", 3))
    assert current_unit == Data(
        DataType.STRUCTURE, (Data(DataType.INTEGER, -2), Data(DataType.ENUM, 33))
    )
    energy_unit = optical.get(AttributeDescriptor.of(3, "1.1.1.8.0.255", 3))
    assert isinstance(energy_unit, Data)
    assert energy_unit.value[0].value == three_phase.config.energy_scaler


def test_a_breaker_write_reaches_the_model(three_phase: Meter) -> None:
    optical = Optical(three_phase)
    assert optical.get(COUPLING) == Data(DataType.UNSIGNED, CouplingState.CONNECTED)
    assert optical.set(COUPLING, Data(DataType.UNSIGNED, 1)) == DataAccessResult.SUCCESS
    assert int(three_phase.breaker.state) == CouplingState.DISCONNECTED
    assert optical.get(COUPLING) == Data(DataType.UNSIGNED, CouplingState.DISCONNECTED)
    # reconnect (3) is only allowed from ready-for-reconnection (8): not now, maybe later
    assert optical.set(COUPLING, Data(DataType.UNSIGNED, 3)) == DataAccessResult.TEMPORARY_FAILURE


def test_tariff_relays_and_clock(three_phase: Meter) -> None:
    optical = Optical(three_phase)
    assert optical.set(TARIFF, Data(DataType.UNSIGNED, 2)) == DataAccessResult.SUCCESS
    assert three_phase.tariff == 2
    relay = AttributeDescriptor.of(1, "1.1.96.52.1.255", 2)
    assert optical.set(relay, Data(DataType.UNSIGNED, 1)) == DataAccessResult.SUCCESS
    assert three_phase.relays.relay1
    clock = optical.get(CLOCK)
    assert isinstance(clock, Data)
    assert CosemDateTime.from_bytes(clock.value).to_naive() == three_phase.local()
    moment = three_phase.local().replace(microsecond=0) + timedelta(hours=3)
    new = CosemDateTime.from_datetime(moment, dst=False)
    assert optical.set(CLOCK, Data(DataType.OCTET_STRING, new.to_bytes())) == (
        DataAccessResult.SUCCESS
    )
    assert abs(three_phase.local() - moment) < timedelta(seconds=1)


def test_the_load_profile_in_kamstrups_layout(three_phase: Meter) -> None:
    three_phase.advance_to(START + timedelta(hours=1, minutes=1))
    optical = Optical(three_phase)
    rows = optical.get(PROFILE)
    assert isinstance(rows, Data)
    entries = three_phase.load_profile.entries
    assert len(rows.value) == len(entries) == 4  # every 15 minutes
    first = rows.value[0].value
    assert [d.type for d in first[:4]] == [
        DataType.OCTET_STRING,
        DataType.LONG_UNSIGNED,
        DataType.DOUBLE_LONG_UNSIGNED,
        DataType.INTEGER,
    ]
    assert CosemDateTime.from_bytes(first[0].value).to_naive() == entries[0].local
    last_two = optical.get(PROFILE, EntryDescriptor(3, 4).to_access())
    assert isinstance(last_two, Data)
    assert last_two.value == rows.value[2:]
