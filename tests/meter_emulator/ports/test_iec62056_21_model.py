"""The 1107 port on the real meter model: what it shows and changes is the model's, then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ccc_gateway.protocol.iec62056_21 import (
    Ack,
    Command,
    DataMessage,
    Identification,
    Message,
    OptionSelect,
    Request,
    error_code,
    parse_data_block,
)
from meter_emulator.model import ConstantLoad, Meter, parse_config
from meter_emulator.model.display import format_value as lcd_text
from meter_emulator.model.power import PhaseSupply, Supply
from meter_emulator.ports.iec62056_21 import Iec62056Server, OpticalConfig
from meter_emulator.ports.iec62056_21_meter import (
    USER_DATA_1_REGISTERS,
    MeterTime,
    RegisterReading,
    UserData,
    data_set,
)
from meter_emulator.ports.iec62056_21_model import ModelOpticalMeter, identification

from .test_iec62056_21 import Hhu

THREE_PHASE = "6841131BN243101040"
START = datetime(2026, 1, 12, 5, 0, tzinfo=UTC)  # a Monday, 06:00 local: tariff 2 begins


def model(display_format: int = 3, **meter: object) -> Meter:
    config = parse_config(
        {
            "meter": {"type_number": THREE_PHASE, "meter_number": 1234567, **meter},
            "software": {"display_decimals": display_format},
        }
    )
    supply = Supply(tuple(PhaseSupply(231.0, 1150.0, 200.0) for _ in range(3)))
    m = Meter(config, start=START, source=ConstantLoad(supply))
    m.advance_to(START + timedelta(hours=5, minutes=7, seconds=3))
    return m


def refusal(replies: list[Message]) -> str | None:
    """The ``ER`` code of a single reply (None when it is not an error)."""
    (reply,) = replies
    assert isinstance(reply, DataMessage)
    return error_code(reply)


def test_the_identification_is_the_type_number_without_its_country_code() -> None:
    m = model()
    assert identification(THREE_PHASE) == "6841131BN243101"
    hhu = Hhu(Iec62056Server(ModelOpticalMeter(m)))
    (ident,) = hhu.send(Request())
    assert ident == Identification("KAM", "5", " 6841131BN243101")
    assert len(ident.ident) == 16  # the standard's maximum


def test_a_readout_equals_the_model_registers_at_that_instant() -> None:
    m = model()
    hhu = Hhu(Iec62056Server(ModelOpticalMeter(m), OpticalConfig(readout=UserData.USER_DATA_1)))
    hhu.send(Request())
    (message,) = hhu.send(OptionSelect("0", "5", "0"))
    assert isinstance(message, DataMessage)
    sets = {d.address: d for d in parse_data_block(message.block)}
    readings = m.readings()
    assert sets["0.0.1"].value == "01234567"
    for code in ("1.8.0", "1.8.1", "1.8.2", "1.8.3", "1.8.4"):
        value, unit = readings[code]
        assert sets[code].unit == unit == "kWh"
        assert Decimal(sets[code].value) == Decimal(str(value))  # truncated like the display
        assert len(sets[code].value) == 10  # 7.2 digits, zero-padded
    assert Decimal(sets["1.8.0"].value) == Decimal(m.energy.wh("a_plus") // 10) / 100
    assert Decimal(sets["1.8.0"].value) > 0
    peak = m.peaks.maxima["p_plus"]
    assert sets["1.6.0"].values[0].value == f"{Decimal(peak.value) / 1000:09.3f}"
    assert sets["1.6.0"].values[1].value == f"01{peak.local:%y%m%d%H%M%S}"
    assert sets["96.8.0"].value == "5"  # hours with supply
    # 0.128.1 is not a register the model keeps: left out, the rest in the fixed order.
    assert [d for d in USER_DATA_1_REGISTERS if d in sets] == list(sets)
    assert "0.128.1" not in sets


@pytest.mark.parametrize(("display_format", "digits"), [(1, "0000020"), (4, "000020.123")])
def test_energies_follow_the_display_format(display_format: int, digits: str) -> None:
    m = model(display_format)
    reading = ModelOpticalMeter(m).read_register("1.8.0")
    assert reading is not None
    text = lcd_text(m.energy.wh("a_plus") / 1000, "kWh", m.config.display_format)
    assert data_set(reading).value == text
    assert len(text) == len(digits)


def test_r1_reads_registers_by_their_display_code() -> None:
    m = model()
    meter = ModelOpticalMeter(m)
    hhu = Hhu(Iec62056Server(meter))
    hhu.programming()
    (reply,) = hhu.send(Command("R1", "32.7.0()"))
    assert reply == DataMessage("32.7.0(231*V)")
    (reply,) = hhu.send(Command("R1", "129.0.0()"))
    assert reply == DataMessage(f"129.0.0({m.tariff})")
    assert refusal(hhu.send(Command("R1", "0.0.0()"))) == "ER02"  # it is 0.0.1 here
    (reply,) = hhu.send(Command("R1", "1.7.0()"))
    assert reply == DataMessage("1.7.0(00003.450*kW)")


def test_a_tariff_written_over_1107_is_the_model_tariff() -> None:
    m = model()
    assert m.tariff == 2  # the calendar's weekday tariff
    hhu = Hhu(Iec62056Server(ModelOpticalMeter(m)))
    hhu.programming()
    assert hhu.send(Command("W1", "129.0.0(4)")) == [Ack()]
    assert (m.tariff, m.tariffs.source.value) == (4, "forced")
    before = m.energy.wh("a_plus_t4")
    m.advance_to(m.true_time() + timedelta(hours=1))
    assert m.energy.wh("a_plus_t4") - before == 3450  # the forced tariff now counts
    for bad in ("129.0.0(5)", "129.0.0(x)"):
        assert refusal(hhu.send(Command("W1", bad))) == "ER04"
    assert refusal(hhu.send(Command("W1", "1.8.0(0)"))) == "ER03"
    assert hhu.send(Command("W1", "129.0.0(0)")) == [Ack()]  # back to the calendar
    assert (m.tariff, m.tariffs.source.value) == (2, "calendar")


def test_w5_sets_the_model_clock_with_its_summer_time_flag() -> None:
    m = model()
    meter = ModelOpticalMeter(m)
    hhu = Hhu(Iec62056Server(meter))
    hhu.programming()
    assert hhu.send(Command("W5", "1.0.0(0260112120000)")) == [Ack()]
    assert (m.local(), m.dst()) == (datetime(2026, 1, 12, 12, 0), False)
    assert meter.clock() == MeterTime(datetime(2026, 1, 12, 12, 0), summer_time=False)
    # The repeated autumn hour: N picks which 02:30 (summer time first, then normal time).
    assert hhu.send(Command("W5", "1.0.0(1261025023000)")) == [Ack()]
    assert (m.local(), m.dst()) == (datetime(2026, 10, 25, 2, 30), True)
    assert hhu.send(Command("W5", "1.0.0(0261025023000)")) == [Ack()]
    assert (m.local(), m.dst()) == (datetime(2026, 10, 25, 2, 30), False)
    (reply,) = hhu.send(Command("R5", "1.0.0()"))
    assert reply == DataMessage("1.0.0(01261025023000)")
    # 02:30 on the spring night does not exist on this clock: refused, clock unchanged.
    assert refusal(hhu.send(Command("W5", "1.0.0(1260329023000)"))) == "ER04"
    assert m.local() == datetime(2026, 10, 25, 2, 30)


def test_r6_reads_the_load_profile() -> None:
    m = model()
    hhu = Hhu(Iec62056Server(ModelOpticalMeter(m)))
    hhu.programming()
    (first,) = hhu.send(Command("R6", "99.1.0(2601121000;2601121030;10)"))
    assert isinstance(first, DataMessage)
    assert not first.partial
    header, *rows, _ = first.block.split("\r\n")
    assert (
        header
        == "99.1.0(6)(1.0.0)()(96.56.2)()(1.8.0)(kWh)(2.8.0)(kWh)(3.8.0)(kvarh)(4.8.0)(kvarh)"
    )
    entries = [e for e in m.load_profile.entries if e.local.hour == 10 and e.local.minute <= 30]
    assert len(rows) == len(entries) == 3
    for row, entry in zip(rows, entries, strict=True):
        a_plus = lcd_text(entry.values[0] / 1000, "kWh", (7, 2))
        assert row == f"(01{entry.local:%y%m%d%H%M%S})({int(entry.status)})({a_plus})" + (
            "(0000000.00)"
            + f"({lcd_text(entry.values[2] / 1000, 'kvarh', (7, 2))})"
            + "(0000000.00)"
        )
    assert refusal(hhu.send(Command("R6", "98.1.0(;;)"))) == "ER02"


def debited() -> Meter:
    """Two debiting stops (1 February and 1 March 00:00 local) under a constant load."""
    config = parse_config({"meter": {"type_number": THREE_PHASE, "meter_number": 1234567}})
    supply = Supply(tuple(PhaseSupply(231.0, 1150.0, 200.0) for _ in range(3)))
    start = datetime(2026, 1, 31, 20, 0, tzinfo=UTC)
    m = Meter(config, start=start, source=ConstantLoad(supply))
    m.advance_to(datetime(2026, 2, 28, 23, 30, tzinfo=UTC))
    assert [r.local.month for r in m.debiting.records] == [2, 3]
    return m


def test_the_readout_carries_the_last_billing_periods_values_as_star_nn() -> None:
    """Issue 11: C.D.E*NN (IEC 62056-61 F = the billing-period counter) after the list."""
    m = debited()
    hhu = Hhu(Iec62056Server(ModelOpticalMeter(m)))  # User data 2, the default
    hhu.send(Request())
    (message,) = hhu.send(OptionSelect("0", "5", "0"))
    assert isinstance(message, DataMessage)
    sets = {d.address: d for d in parse_data_block(message.block)}  # the gateway's parser
    last = m.debiting.records[-1].values
    assert Decimal(sets["1.8.0*02"].value) == Decimal(last["a_plus_wh"] // 10) / 100
    assert sets["1.8.0*02"].unit == "kWh"
    assert Decimal(sets["1.6.0*02"].value) == Decimal(last["p_plus_max_w"]) / 1000
    when = datetime.fromisoformat(last["p_plus_max_time"])
    assert sets["1.6.0*02"].values[1].value == f"01{when:%y%m%d%H%M%S}"
    assert Decimal(sets["1.2.0*02"].value) == Decimal(last["p_plus_max_accumulated_w"]) / 1000
    assert sets["0.1.0*02"].value == "2"
    assert sets["0.1.2*02"].value == "01260301000000"  # the stop: 1 March 00:00, valid
    assert "1.8.0*01" not in sets  # the readout shows the last period; R1 reads older ones
    current = [d.address for d in parse_data_block(message.block)]
    assert current.index("1.0.0") < current.index("1.8.0*02")  # after the list's registers


def test_r1_reads_every_stored_billing_period() -> None:
    m = debited()
    meter = ModelOpticalMeter(m)
    first = m.debiting.records[0].values
    reading = meter.read_register("1.8.0*01")
    assert reading is not None
    assert Decimal(str(reading.value)) == Decimal(first["a_plus_wh"] // 10) / 100
    assert meter.read_register("96.8.0*01") == RegisterReading("96.8.0*01", 3)  # 21:00-00:00 local
    assert meter.read_register("3.6.0*01") is not None
    assert meter.read_register("1.8.0*03") is None  # no such period
    hhu = Hhu(Iec62056Server(meter))
    hhu.programming()
    (reply,) = hhu.send(Command("R1", "9.6.0*02()"))
    assert isinstance(reply, DataMessage)
    assert reply.block.startswith("9.6.0*02(")
    (reply,) = hhu.send(Command("R1", "1.36.0()"))
    assert reply == DataMessage("1.36.0(0)")  # the power-threshold counter now
