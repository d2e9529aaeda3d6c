"""The DLMS server over the real meter model: values equal the model's (and the push's), writes
are the model's commands, refusals get the DataAccessResult the module docstring promises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccc_gateway.protocol.axdr import CosemDateTime, Data, DataType
from ccc_gateway.protocol.dlms.client import (
    ActionOutcome,
    Associated,
    AttributeValue,
    ClientEvent,
    DlmsClient,
    ExchangeFailed,
    SetOutcome,
)
from ccc_gateway.protocol.dlms.descriptors import (
    AttributeDescriptor,
    CaptureObject,
    MethodDescriptor,
    RangeDescriptor,
)
from ccc_gateway.protocol.dlms.enums import ActionResult, DataAccessResult
from ccc_gateway.protocol.dlms.link import LinkConnected
from ccc_gateway.protocol.hdlc import HdlcAddress
from ccc_gateway.protocol.obis import obis_to_bytes
from ccc_gateway.protocol.omnipower_objects import OBJECTS, Access, by_name
from meter_emulator.dlms.model_provider import ModelProvider, dlms_server_for
from meter_emulator.model import CouplingState, Meter
from meter_emulator.model.logs import ProfileStatus
from meter_emulator.model.tariffs import TariffSource

from ..model.helpers import THREE, config, load, meter, state

#: A three-phase four-quadrant meter with prepayment, on a 1 kW load per phase.
THREE_PHASE: dict[str, Any] = {
    "meter": {"type_number": THREE, "serial": 12345678},
    "prepayment": {"enabled": True, "credit_kwh": 100.0, "alarm_limit_kwh": 5.0},
}
SUMMER = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)  # a Monday: tariff 2 by the default calendar


def three_phase(start: datetime = SUMMER, **overrides: Any) -> Meter:
    tables = {**THREE_PHASE, **overrides}
    return meter(load(1000.0, 200.0, phases=3), start=start, **tables)


def attr(name: str, attribute: int = 2) -> AttributeDescriptor:
    info = by_name(name)
    return AttributeDescriptor(info.class_id, info.logical_name, attribute)


class Client:
    """Our DLMS client against ``dlms_server_for(meter)``, in memory."""

    def __init__(self, m: Meter, *, client: int = 19, password: bytes | None = b"12345") -> None:
        self.meter = m
        self.server = dlms_server_for(m)
        logical = 16 if password is not None else 1
        self.client = DlmsClient(client=client, server=HdlcAddress(logical), password=password)
        self.now = 0.0
        self.client.connect(self.now)
        assert [type(e) for e in self.run()] == [LinkConnected]
        self.client.associate(self.now)
        assert [type(e) for e in self.run()] == [Associated]

    def run(self) -> list[ClientEvent]:
        events: list[ClientEvent] = []
        for _ in range(10_000):
            out = self.client.data_to_send()
            if out:
                self.server.receive_data(out, self.now)
            back = self.server.data_to_send()
            if back:
                events += self.client.receive_data(back, self.now)
            if not out and not back:
                return events
        raise AssertionError("never quiet")

    def get(self, attribute: AttributeDescriptor, access: Any = None) -> Data | DataAccessResult:
        self.client.get(attribute, self.now, access)
        (event,) = self.run()
        assert isinstance(event, AttributeValue), event
        return event.result

    def value(self, name: str, attribute: int = 2) -> Any:
        result = self.get(attr(name, attribute))
        assert isinstance(result, Data), (name, result)
        return result.value

    def set(self, name: str, value: Data, attribute: int = 2) -> DataAccessResult:
        self.client.set(attr(name, attribute), value, self.now)
        (event,) = self.run()
        assert isinstance(event, SetOutcome), event
        return event.result


def u8(value: int) -> Data:
    return Data(DataType.UNSIGNED, value)


def scaler_of(c: Client, name: str) -> tuple[int, int]:
    scaler, unit = c.value(name, 3)
    return scaler.value, unit.value


def test_every_object_the_meter_has_reads_every_attribute() -> None:
    """No attribute of any visible object errs; the three-phase meter has all but current THD."""
    c = Client(three_phase())
    names = {info.name for info in OBJECTS if ModelProvider(c.meter).has(info.name)}
    assert names == {i.name for i in OBJECTS} - {f"current_thd_l{n}" for n in (1, 2, 3)}
    for obj, _rights in c.server.registry.visible("optical"):
        for attribute in range(1, obj.attribute_count + 1):
            if obj.class_id == 15 and attribute == 7:
                continue  # the LLS secret is never read
            result = c.get(AttributeDescriptor(obj.class_id, obj.logical_name, attribute))
            assert isinstance(result, Data), (obj, attribute, result)


def test_a_single_phase_import_meter_lacks_what_it_does_not_measure() -> None:
    provider = ModelProvider(meter(meter={"type_number": "6861111BN212101040"}))
    assert provider.has("voltage_l1")
    assert not provider.has("voltage_l2")
    assert not provider.has("current_l3")
    assert not provider.has("active_energy_export")
    assert not provider.has("reactive_energy_import")


def test_prepayment_objects_exist_only_while_prepayment_is_enabled() -> None:
    """Like the readout's 130.0.x: a meter with prepayment off does not answer them (the
    gateway's ``prepayment.enabled`` is read from this), its breaker objects it does."""
    off = Client(three_phase(prepayment={"enabled": False}))
    assert off.get(attr("prepayment_credit")) == DataAccessResult.OBJECT_UNDEFINED
    assert off.get(attr("prepayment_alarm_limit")) == DataAccessResult.OBJECT_UNDEFINED
    assert isinstance(off.get(attr("coupling_state")), Data)
    assert isinstance(off.get(attr("cutoff_basis")), Data)
    on = Client(three_phase())
    assert isinstance(on.get(attr("prepayment_credit")), Data)


def test_registers_are_the_push_values_at_the_configured_resolution() -> None:
    m = three_phase(push={"voltage_scaler": -2})
    m.advance_to(SUMMER + timedelta(hours=3))
    c = Client(m)
    push = m.push_snapshot()
    assert m.config.energy_scaler == 1  # display 7.2 → 10 Wh
    for name, obis in (
        ("active_energy_import", "1.1.1.8.0.255"),
        ("reactive_energy_import", "1.1.3.8.0.255"),
        ("active_power_import", "1.1.1.7.0.255"),
        ("voltage_l2", "1.1.52.7.0.255"),
        ("current_l3", "1.1.71.7.0.255"),
        ("frequency", "1.1.14.7.0.255"),
        ("power_factor", "1.1.13.7.0.255"),
    ):
        assert c.value(name) == push[obis], name
    assert scaler_of(c, "active_energy_import") == (1, 30)  # 10 Wh
    assert scaler_of(c, "reactive_energy_import") == (1, 32)
    assert scaler_of(c, "voltage_l1") == (-2, 35)
    assert scaler_of(c, "current_l1") == (-2, 33)
    assert c.value("voltage_l1") == 23000
    # 3 h at 3 kW in tariff 2 (06:00-17:00 local on a weekday): 9 kWh = 900 x 10 Wh.
    assert c.value("active_energy_import") == 900
    assert c.value("active_energy_import_t2") == 900
    assert c.value("active_energy_import_t1") == 0


def test_energy_in_wh_when_the_push_says_so() -> None:
    m = three_phase(push={"energy_scaler": 0})
    m.advance_to(SUMMER + timedelta(hours=1))
    c = Client(m)
    assert scaler_of(c, "active_energy_import") == (0, 30)
    assert c.value("active_energy_import") == m.energy.wh("a_plus") == 3000


def test_peak_power_has_its_capture_time() -> None:
    m = three_phase()
    c = Client(m)
    assert c.value("max_active_power_import") == 0
    assert CosemDateTime.from_bytes(c.value("max_active_power_import", 5)).year == 0xFFFF
    m.advance_to(SUMMER + timedelta(minutes=30))
    assert c.value("max_active_power_import") == 3000
    captured = CosemDateTime.from_bytes(c.value("max_active_power_import", 5))
    assert (captured.hour, captured.minute, captured.dst) == (10, 15, True)  # CEST = UTC+2


def test_power_quality_counters_and_thd() -> None:
    m = three_phase()
    m.set_override(load(1000.0, voltage_v=190.0, phases=3), seconds=2)
    m.advance_to(SUMMER + timedelta(seconds=10))
    c = Client(m)
    assert c.value("voltage_sag_count_l1") == m.quality.counters["sag_l1"] == 1
    assert c.value("voltage_swell_count_l2") == 0
    assert c.value("voltage_thd_l1") == round(m.quality.thd_pct * 10)
    assert scaler_of(c, "voltage_thd_l3") == (-1, 56)
    assert c.get(attr("current_thd_l1")) == DataAccessResult.OBJECT_UNDEFINED


def test_coupling_state_follows_the_models_state_machine() -> None:
    m = three_phase()
    c = Client(m)
    assert c.value("coupling_state") == 4
    assert c.set("coupling_state", u8(3)) == DataAccessResult.TEMPORARY_FAILURE  # not from 4
    assert c.set("coupling_state", u8(1)) == DataAccessResult.SUCCESS
    assert state(m) is CouplingState.DISCONNECTED
    assert m.push_snapshot()["1.1.1.7.0.255"] == 0  # the next push shows no import
    assert c.value("coupling_state") == 1
    assert c.set("coupling_state", u8(3)) == DataAccessResult.TEMPORARY_FAILURE  # not from 1
    assert c.set("coupling_state", u8(2)) == DataAccessResult.SUCCESS
    assert c.value("coupling_state") == 8
    assert c.set("coupling_state", u8(3)) == DataAccessResult.SUCCESS
    assert state(m) is CouplingState.CONNECTED
    assert c.set("coupling_state", u8(7)) == DataAccessResult.OTHER_REASON
    assert c.set("coupling_state", Data(DataType.LONG_UNSIGNED, 1)) == (
        DataAccessResult.TYPE_UNMATCHED
    )
    assert state(m) is CouplingState.CONNECTED


def test_breaker_configuration_objects() -> None:
    m = three_phase(breaker={"cutoff_bases": ["prepayment", "overvoltage"]})
    c = Client(m)
    assert c.value("cutoff_basis") == 0x42
    assert c.value("coupling_mode") == 0
    assert c.value("coupling_feedback") == 0x1F  # L1-L3 present, valid, communication OK
    assert c.set("coupling_mode", u8(1)) == DataAccessResult.SUCCESS
    assert m.breaker.config.automatic_reconnect
    assert c.set("cutoff_basis", u8(0)) == DataAccessResult.READ_WRITE_DENIED  # optical: R(W)
    primary = Client(m, client=18)
    assert primary.set("cutoff_basis", u8(0x03)) == DataAccessResult.SUCCESS
    assert m.breaker.config.cutoff_bases == {"load_controlled", "prepayment"}


def test_actual_tariff_write_forces_and_zero_returns_to_the_calendar() -> None:
    m = three_phase()
    c = Client(m)
    assert c.value("actual_tariff") == 2
    assert c.set("actual_tariff", u8(3)) == DataAccessResult.SUCCESS
    assert (m.tariff, m.tariffs.source) == (3, TariffSource.FORCED)
    assert c.value("actual_tariff") == 3
    assert c.set("actual_tariff", u8(0)) == DataAccessResult.SUCCESS
    assert (m.tariff, m.tariffs.source) == (2, TariffSource.CALENDAR)
    assert c.set("actual_tariff", u8(5)) == DataAccessResult.OTHER_REASON
    assert m.tariff == 2


def test_relays() -> None:
    m = three_phase()
    c = Client(m)
    assert (c.value("relay_1"), c.value("relay_2")) == (0, 0)
    assert c.set("relay_2", u8(1)) == DataAccessResult.SUCCESS
    assert m.relays.relay2
    assert c.value("relay_2") == 1
    assert c.set("relay_1", u8(2)) == DataAccessResult.OTHER_REASON


def test_prepayment_credit_is_written_only_by_the_primary_module() -> None:
    m = three_phase()
    optical = Client(m)
    assert optical.value("prepayment_credit") == 100_000  # Wh
    assert scaler_of(optical, "prepayment_credit") == (0, 30)  # kWh at scaler -3 = Wh
    assert optical.value("prepayment_alarm_limit") == 5
    new_credit = Data(DataType.DOUBLE_LONG_UNSIGNED, 150_000)
    assert optical.set("prepayment_credit", new_credit) == DataAccessResult.READ_WRITE_DENIED
    primary = Client(m, client=18)
    assert primary.set("prepayment_credit", new_credit) == DataAccessResult.SUCCESS
    assert m.prepayment.credit_kwh == pytest.approx(150.0)
    assert m.prepayment.last_top_up_kwh == pytest.approx(50.0)
    assert primary.value("prepayment_last_top_up") == 50_000
    lower = Data(DataType.DOUBLE_LONG_UNSIGNED, 1_000)
    assert primary.set("prepayment_credit", lower) == DataAccessResult.OTHER_REASON
    assert optical.set("prepayment_alarm_limit", Data(DataType.LONG_UNSIGNED, 20)) == (
        DataAccessResult.SUCCESS
    )
    assert m.prepayment.alarm_limit_nj == 20 * 3_600_000_000_000_000


def test_prepayment_exception_window() -> None:
    m = three_phase()
    c = Client(m)
    assert c.value("prepayment_exception_start") == 0xFFFFFFFF
    start, end = (
        Data(DataType.DOUBLE_LONG_UNSIGNED, 9 * 3600),
        Data(DataType.DOUBLE_LONG_UNSIGNED, 12 * 3600),
    )
    assert c.set("prepayment_exception_start", start) == DataAccessResult.SUCCESS
    assert c.set("prepayment_exception_end", end) == DataAccessResult.SUCCESS
    assert c.value("prepayment_time_remaining") == 120  # local 10:00, window to 12:00


def test_status_words_and_event_status_b_clears() -> None:
    m = three_phase()
    m.set_cover(True)
    c = Client(m)
    assert c.value("meter_status") == 0x40
    assert c.value("event_status_a") & 0x04  # cover opened (latched)
    assert c.set("event_status_b", Data(DataType.DOUBLE_LONG_UNSIGNED, 0x04)) == (
        DataAccessResult.SUCCESS
    )
    assert not c.value("event_status_a") & 0x04


def test_clock_reads_sets_and_shifts_with_the_dst_bit() -> None:
    m = three_phase()
    c = Client(m)
    now = CosemDateTime.from_bytes(c.value("clock"))
    assert (now.hour, now.minute, now.dst, now.day_of_week) == (10, 0, True, 1)
    assert c.value("clock", 4) == 0x80
    wanted = CosemDateTime.from_datetime(datetime(2024, 6, 3, 11, 30, 15), dst=True)
    assert c.set("clock", Data(DataType.OCTET_STRING, wanted.to_bytes())) == (
        DataAccessResult.SUCCESS
    )
    assert m.local() == datetime(2024, 6, 3, 11, 30, 15)
    shift = MethodDescriptor.of(8, "0.1.1.0.0.255", 6)
    c.client.action(shift, c.now, Data(DataType.LONG, -15))
    assert c.run() == [ActionOutcome(shift, ActionResult.SUCCESS, None)]
    assert m.local() == datetime(2024, 6, 3, 11, 30)
    c.client.action(shift, c.now, Data(DataType.LONG, 3600))
    assert c.run() == [ActionOutcome(shift, ActionResult.OTHER_REASON, None)]
    without_dst = CosemDateTime.from_datetime(datetime(2024, 6, 3, 12, 0), dst=False)
    assert c.set("clock", Data(DataType.OCTET_STRING, without_dst.to_bytes())) == (
        DataAccessResult.OTHER_REASON  # inside the DST window bit 7 must be set
    )
    assert m.local() == datetime(2024, 6, 3, 11, 30)
    skipped = CosemDateTime.from_datetime(datetime(2024, 3, 31, 2, 30), dst=True)
    assert c.set("clock", Data(DataType.OCTET_STRING, skipped.to_bytes())) == (
        DataAccessResult.OTHER_REASON  # the spring change skips 02:00-03:00
    )
    winter = CosemDateTime.from_datetime(datetime(2024, 12, 1, 12, 0), dst=False)
    assert c.set("clock", Data(DataType.OCTET_STRING, winter.to_bytes())) == (
        DataAccessResult.SUCCESS
    )
    assert (m.local(), m.dst()) == (datetime(2024, 12, 1, 12, 0), False)
    unspecified = CosemDateTime(2024, 6, 3, 0xFF, 0xFF, 0, 0, 0xFF, -0x8000, 0x80)
    assert c.set("clock", Data(DataType.OCTET_STRING, unspecified.to_bytes())) == (
        DataAccessResult.OTHER_REASON
    )


def test_clock_set_in_the_repeated_autumn_hour_follows_the_dst_bit() -> None:
    m = three_phase(start=datetime(2024, 10, 26, 12, 0, tzinfo=UTC))
    c = Client(m)
    for dst in (True, False):
        stamp = CosemDateTime.from_datetime(datetime(2024, 10, 27, 2, 30), dst=dst)
        assert c.set("clock", Data(DataType.OCTET_STRING, stamp.to_bytes())) == (
            DataAccessResult.SUCCESS
        )
        assert m.dst() is dst
        assert CosemDateTime.from_bytes(c.value("clock")).dst is dst


def test_load_profile_has_the_kamstrup_layout_and_the_models_entries() -> None:
    m = three_phase(push={"energy_scaler": 0})
    m.advance_to(SUMMER + timedelta(hours=2))
    c = Client(m)
    columns = [CaptureObject.from_data(d) for d in c.value("load_profile", 3)]
    assert [(col.class_id, col.attribute) for col in columns] == [
        (8, 2),
        (7, -1),  # Kamstrup's attributes 255 and 254, as Integer8
        (7, -2),
        (1, 2),
        (3, 2),
        (3, 2),
        (3, 2),
        (3, 2),
    ]
    assert [col.instance for col in columns[4:]] == [
        obis_to_bytes(f"1.1.{c_}.8.0.255") for c_ in (1, 2, 3, 4)
    ]
    assert c.value("load_profile", 4) == 900
    rows = c.value("load_profile")
    entries = list(m.load_profile.entries)
    assert len(rows) == len(entries) == 8
    for row, entry in zip(rows, entries, strict=True):
        stamp = CosemDateTime.from_bytes(row.value[0].value)
        assert stamp.to_naive() == entry.local
        assert stamp.dst
        assert row.value[1].value == int(entry.status)
        assert tuple(cell.value for cell in row.value[4:]) == entry.values
    assert entries[-1].values[0] == 6000  # 2 h at 3 kW, in Wh
    # A range on the clock column: the entries ending 10:30 to 11:00 local.
    low = CosemDateTime.from_datetime(datetime(2024, 6, 3, 10, 30), dst=True)
    high = CosemDateTime.from_datetime(datetime(2024, 6, 3, 11, 0), dst=True)
    access = RangeDescriptor(
        columns[0],
        Data(DataType.OCTET_STRING, low.to_bytes()),
        Data(DataType.OCTET_STRING, high.to_bytes()),
    ).to_access()
    selected = c.get(attr("load_profile"), access)
    assert isinstance(selected, Data)
    assert [CosemDateTime.from_bytes(r.value[0].value).minute for r in selected.value] == [
        30,
        45,
        0,
    ]
    assert c.set("load_profile", Data(DataType.DOUBLE_LONG_UNSIGNED, 900), 4) == (
        DataAccessResult.SUCCESS
    )
    assert c.set("load_profile", Data(DataType.DOUBLE_LONG_UNSIGNED, 300), 4) == (
        DataAccessResult.OTHER_REASON
    )


def test_load_profile_status_flags_an_open_breaker() -> None:
    m = three_phase()
    m.write_coupling(1)
    m.advance_to(SUMMER + timedelta(minutes=15))
    rows = Client(m).value("load_profile")
    assert rows[-1].value[1].value & ProfileStatus.BREAKER_OPEN


def test_cutoff_log_and_billing_loggers() -> None:
    m = three_phase(start=datetime(2024, 5, 31, 20, 0, tzinfo=UTC))
    m.write_coupling(1)
    m.write_coupling(2)
    m.write_coupling(3)
    m.advance_to(datetime(2024, 6, 1, 0, 0, tzinfo=UTC))  # the debiting stop at 00:00 local
    c = Client(m)
    cutoffs = c.value("cutoff_log")
    assert [row.value[1].value for row in cutoffs] == [1, 8, 4]
    assert CosemDateTime.from_bytes(cutoffs[0].value[0].value).hour == 22  # CEST
    (billing,) = c.value("billing_log_1")
    stamp = CosemDateTime.from_bytes(billing.value[0].value)
    assert (stamp.month, stamp.day, stamp.hour) == (6, 1, 0)
    assert billing.value[1].value == 1  # the first debiting stop
    assert billing.value[2].value == 600  # A+ after 2 h at 3 kW, in 10 Wh (display 7.2)
    (maxima,) = c.value("billing_log_2")
    assert maxima.value[1].value == 3000
    # Issue 11: logger 2 holds every "Power register" of the data sheet (it held 4 columns):
    # clock, 7 maxima with their times, 4 accumulated maxima, the debiting-stop counter.
    assert len(c.value("billing_log_2", 3)) == 1 + 2 * 8 + 4 + 1


def test_meter_number_is_reprogrammable_and_shows_in_the_push() -> None:
    m = three_phase()
    c = Client(m)
    assert c.value("meter_number") == 12345678
    assert c.value("meter_type") == THREE
    assert c.set("meter_number", Data(DataType.DOUBLE_LONG_UNSIGNED, 87654321)) == (
        DataAccessResult.SUCCESS
    )
    assert m.push_snapshot()["1.1.0.0.1.255"] == 87654321


def test_public_association_reads_the_model_but_writes_nothing() -> None:
    m = three_phase()
    c = Client(m, client=16, password=None)
    assert c.value("meter_number") == 12345678
    c.client.set(attr("coupling_state"), u8(1), c.now)
    (refused,) = c.run()
    assert isinstance(refused, ExchangeFailed)  # no SET in the public conformance
    assert state(m) is CouplingState.CONNECTED


def test_a_meter_without_breaker_has_no_breaker_objects() -> None:
    m = Meter(config(meter={"type_number": "6861111BN240101040"}), start=SUMMER)
    assert not m.breaker.present
    c = Client(m)
    assert c.get(attr("coupling_state")) == DataAccessResult.OBJECT_UNDEFINED
    assert c.get(attr("prepayment_credit")) == DataAccessResult.OBJECT_UNDEFINED


def test_a_dlms_write_shows_on_every_port_at_once() -> None:
    """docs/emulator.md: the push, the 1107 port and the display read the same model."""
    from meter_emulator.ports.iec62056_21_model import ModelOpticalMeter

    m = three_phase()
    c = Client(m)
    readout = ModelOpticalMeter(m)
    assert c.set("actual_tariff", u8(4)) == DataAccessResult.SUCCESS
    assert c.set("coupling_state", u8(1)) == DataAccessResult.SUCCESS
    tariff = readout.read_register("129.0.0")
    assert tariff is not None
    assert tariff.value == 4
    assert "T4" in m.display_text()
    assert "breaker:disconnected" in m.display_text()
    assert m.push_snapshot()["1.1.1.7.0.255"] == 0
    assert m.readings()["128.0.0"][0] == 1


_WRITABLE = sorted(i.name for i in OBJECTS if i.access is not Access.READ and i.class_id != 8)
_INTEGER_TYPES = (
    DataType.UNSIGNED,
    DataType.LONG_UNSIGNED,
    DataType.DOUBLE_LONG_UNSIGNED,
    DataType.INTEGER,
)


@settings(max_examples=200, deadline=None)
@given(
    writes=st.lists(
        st.tuples(
            st.sampled_from(_WRITABLE),
            st.sampled_from(_INTEGER_TYPES),
            st.integers(0, 0xFFFFFFFF),
        ),
        max_size=12,
    ),
    stamp=st.binary(min_size=12, max_size=12),
)
def test_any_write_is_answered_and_leaves_a_readable_meter(
    writes: list[tuple[str, DataType, int]], stamp: bytes
) -> None:
    """Whatever the primary module writes, the answer is a DataAccessResult and every object
    still reads (the model's own invariants are its tests' business)."""
    m = three_phase()
    provider = ModelProvider(m)
    for name, kind, value in writes:
        assert isinstance(provider.write(name, Data(kind, value)), DataAccessResult)
    assert isinstance(provider.set_clock(CosemDateTime.from_bytes(stamp)), DataAccessResult)
    for info in OBJECTS:
        if provider.has(info.name) and info.class_id in (1, 3, 4):
            assert isinstance(provider.value(info.name), Data), info.name
