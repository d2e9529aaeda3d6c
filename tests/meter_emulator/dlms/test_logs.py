"""The event, power-quality, billing and analysis loggers and the maximum-demand registers over
DLMS (issue 11): events are logged by the model at the simulated instant they happen, with the
meter's time; columns are the shared ones; profile_entries is each logger's depth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ccc_gateway.protocol.axdr import CosemDateTime, Data, DataType
from ccc_gateway.protocol.dlms.descriptors import CaptureObject, EntryDescriptor, RangeDescriptor
from ccc_gateway.protocol.obis import obis_to_bytes
from ccc_gateway.protocol.omnipower_logs import (
    BILLING_LOG_1_COLUMNS,
    BILLING_LOG_2_COLUMNS,
    POWER_QUALITY_LOG_COLUMNS,
    STANDARD_EVENT_LOG_COLUMNS,
    EventCode,
    LogColumn,
    PowerQualityCode,
    TariffSource,
)
from meter_emulator.model import Meter
from meter_emulator.model.billing import BILLING_DEPTH
from meter_emulator.model.state import dump_state, restore_state
from meter_emulator.model.status import EventStatus

from ..model.helpers import SINGLE, load, meter
from .test_model_provider import SUMMER, Client, attr, three_phase

#: A three-phase meter that measures A+ only (X9 = 1): no reactive or apparent registers.
A_PLUS_ONLY = "6841131BN213101040"


def columns(c: Client, name: str) -> list[tuple[int, bytes, int]]:
    return [(s.value[0].value, s.value[1].value, s.value[2].value) for s in c.value(name, 3)]


def shared(cols: tuple[LogColumn, ...]) -> list[tuple[int, bytes, int]]:
    return [(col.class_id, obis_to_bytes(col.obis), col.attribute) for col in cols]


def stamp(cell: Data) -> CosemDateTime:
    return CosemDateTime.from_bytes(cell.value)


def rows(c: Client, name: str) -> list[tuple[Any, ...]]:
    return [tuple(cell.value for cell in row.value) for row in c.value(name)]


def test_standard_event_log_records_each_event_at_its_meter_time() -> None:
    m = three_phase()
    m.advance_to(SUMMER + timedelta(minutes=5))
    m.set_cover(True)
    m.advance_to(SUMMER + timedelta(minutes=7))
    m.set_cover(False)  # opened and closed between two polls
    m.set_magnet(True)
    m.advance_to(SUMMER + timedelta(minutes=8))
    m.set_magnet(False)
    m.force_tariff(3)
    m.shift_time(120)
    c = Client(m)
    assert columns(c, "standard_event_log") == shared(STANDARD_EVENT_LOG_COLUMNS)
    got = rows(c, "standard_event_log")
    assert [EventCode(r[1]) for r in got] == [
        EventCode.TERMINAL_COVER_OPENED,
        EventCode.TERMINAL_COVER_CLOSED,
        EventCode.MAGNET_DETECTED,
        EventCode.MAGNET_GONE,
        EventCode.TARIFF_CHANGED,
        EventCode.CLOCK_ADJUSTED_OLD,
        EventCode.CLOCK_ADJUSTED_NEW,
    ]
    times = [CosemDateTime.from_bytes(r[0]) for r in got]
    # 08:00 UTC is 10:00 CEST: every stamp is the meter's local time, with the DST bit.
    assert [t.to_naive().strftime("%H:%M") for t in times] == [
        "10:05",
        "10:07",
        "10:07",
        "10:08",
        "10:08",
        "10:08",
        "10:10",
    ]
    assert all(t.dst for t in times)
    assert got[1][5] == 120_000  # the cover was open 2 minutes (ms)
    assert got[3][5] == 60_000
    assert got[0][2] & EventStatus.COVER_OPENED  # EventStatusA after the event
    assert got[2][2] & EventStatus.MAGNET
    assert got[4][3:5] == (3, TariffSource.FORCED)
    assert got[0][3:5] == (2, TariffSource.CALENDAR)  # Monday 10:00: tariff 2 by calendar
    assert c.value("standard_event_log", 7) == 7  # entries_in_use
    assert c.value("standard_event_log", 8) == 500  # profile_entries: the depth, not the fill
    assert c.value("event_code") == EventCode.CLOCK_ADJUSTED_NEW
    assert c.value("tariff_source") == TariffSource.FORCED
    assert c.value("standard_event_log", 4) == 0  # event-driven: no capture period


def test_a_power_failure_on_a_single_phase_meter_is_read_back_after_it() -> None:
    m = meter(load(500.0), start=SUMMER, meter={"type_number": SINGLE, "serial": 7})
    m.set_override(load(0.0, voltage_v=0.0), seconds=180)  # the meter loses its own supply
    m.advance_to(SUMMER + timedelta(minutes=10))
    c = Client(m)
    down, up = rows(c, "standard_event_log")
    assert (EventCode(down[1]), EventCode(up[1])) == (EventCode.POWER_DOWN, EventCode.POWER_UP)
    assert CosemDateTime.from_bytes(down[0]).to_naive() == datetime(2024, 6, 3, 10, 0)
    assert CosemDateTime.from_bytes(up[0]).to_naive() == datetime(2024, 6, 3, 10, 3)
    assert up[5] == 180_000
    assert c.value("event_duration") == 180_000
    assert down[2] & EventStatus.POWER_FAILURE


def test_a_new_tariff_source_alone_is_logged() -> None:
    """Forcing the tariff the calendar already gives changes only the source: still logged,
    so a reader learns the tariff is forced."""
    m = three_phase()
    m.force_tariff(2)
    m.force_tariff(0)
    ((_, code, _, tariff, forced, _), (_, _, _, _, back, _)) = rows(Client(m), "standard_event_log")
    assert (EventCode(code), tariff, forced, back) == (
        EventCode.TARIFF_CHANGED,
        2,
        TariffSource.FORCED,
        TariffSource.CALENDAR,
    )


def test_power_quality_log_holds_sags_swells_and_interruptions_per_phase() -> None:
    m = three_phase()
    m.advance_to(SUMMER + timedelta(minutes=1))
    m.set_override(load(1000.0, voltage_v=180.0, phases=3), seconds=2.5)
    m.advance_to(SUMMER + timedelta(minutes=2))
    m.set_override(load(1000.0, voltage_v=260.0, phases=3), seconds=1)
    m.advance_to(SUMMER + timedelta(minutes=3))
    m.set_override(load(0.0, voltage_v=0.0, phases=3), seconds=4)
    m.advance_to(SUMMER + timedelta(minutes=4))
    c = Client(m)
    assert columns(c, "power_quality_log") == shared(POWER_QUALITY_LOG_COLUMNS)
    got = rows(c, "power_quality_log")
    assert [(PowerQualityCode(r[1]), r[2]) for r in got] == [
        (code, phase)
        for code in (
            PowerQualityCode.VOLTAGE_SAG,
            PowerQualityCode.VOLTAGE_SWELL,
            PowerQualityCode.INTERRUPTION,
        )
        for phase in (1, 2, 3)
    ]
    assert [r[3] for r in got] == [2500] * 3 + [1000] * 3 + [4000] * 3  # ms
    assert [r[4] for r in got] == [1800] * 3 + [2600] * 3 + [0] * 3  # 0.1 V, the extreme
    # Stamped when the event ended: 10:01:02.5 → the sag's start is the stamp minus 2.5 s.
    ended = CosemDateTime.from_bytes(got[0][0])
    assert (ended.hour, ended.minute, ended.second) == (10, 1, 2)
    assert c.value("power_quality_log", 8) == 100
    assert (c.value("pq_event_code"), c.value("pq_event_phase")) == (3, 3)
    assert c.value("pq_event_extreme_voltage", 3)[0].value == -1  # 0.1 V
    assert c.value("event_duration", 3)[0].value == -3  # ms


def test_event_logs_read_by_range_and_by_entry() -> None:
    m = three_phase()
    for minute in (1, 2, 3, 4):
        m.advance_to(SUMMER + timedelta(minutes=minute))
        m.set_cover(minute % 2 == 1)
    c = Client(m)
    clock = CaptureObject(8, obis_to_bytes("0.1.1.0.0.255"), 2)
    low = CosemDateTime.from_datetime(datetime(2024, 6, 3, 10, 2), dst=True)
    high = CosemDateTime.from_datetime(datetime(2024, 6, 3, 10, 3), dst=True)
    by_range = RangeDescriptor(
        clock,
        Data(DataType.OCTET_STRING, low.to_bytes()),
        Data(DataType.OCTET_STRING, high.to_bytes()),
    ).to_access()
    selected = c.get(attr("standard_event_log"), by_range)
    assert isinstance(selected, Data)
    assert [r.value[1].value for r in selected.value] == [41, 40]
    by_entry = EntryDescriptor(2, 3, 1, 2).to_access()  # entries 2-3, clock and code only
    selected = c.get(attr("standard_event_log"), by_entry)
    assert isinstance(selected, Data)
    assert [[cell.value for cell in r.value][1] for r in selected.value] == [41, 40]
    assert all(len(r.value) == 2 for r in selected.value)


def debited(type_number: str = "6841131BN243101040") -> Meter:
    """Two hours at 3 kW / 600 var into June, then the monthly debiting stop at 00:00 local."""
    m = three_phase(
        start=datetime(2024, 5, 31, 20, 0, tzinfo=UTC),
        meter={"type_number": type_number, "serial": 12345678},
    )
    m.debiting.pulse_input = 17
    m.advance_to(datetime(2024, 5, 31, 22, 0, 1, tzinfo=UTC))
    return m


def test_billing_logger_1_keeps_every_various_and_energy_value() -> None:
    m = debited()
    (record,) = m.debiting.records
    c = Client(m)
    assert columns(c, "billing_log_1") == shared(BILLING_LOG_1_COLUMNS)
    ((clock, stops, a_plus, *cells),) = rows(c, "billing_log_1")
    assert CosemDateTime.from_bytes(clock).to_naive() == datetime(2024, 6, 1, 0, 0)
    assert stops == 1
    energies = ["a_plus_t1", "a_plus_t2", "a_plus_t3", "a_plus_t4", "a_minus", "r_plus"]
    energies += ["r_minus", "e_plus", "e_minus", "r_plus_t1", "r_plus_t2", "r_plus_t3"]
    energies += ["r_plus_t4"]
    assert a_plus == record.values["a_plus_wh"] // 10 == 600  # 10 Wh at display 7.2
    assert cells[:13] == [record.values[f"{n}_wh"] // 10 for n in energies]
    assert cells[13:] == [2, 0, 17]  # hour counter, power-threshold counter, pulse input
    assert c.value("billing_log_1", 8) == BILLING_DEPTH


def test_billing_logger_2_keeps_every_power_register_with_its_time() -> None:
    m = debited()
    (record,) = m.debiting.records
    c = Client(m)
    assert columns(c, "billing_log_2") == shared(BILLING_LOG_2_COLUMNS)
    (row,) = rows(c, "billing_log_2")
    named = dict(zip((col.name for col in BILLING_LOG_2_COLUMNS), row, strict=True))
    assert named["max_active_power_import"] == record.values["p_plus_max_w"] == 3000
    assert named["max_reactive_power_import"] == 600
    assert named["max_apparent_power_import"] == record.values["s_plus_max_w"] > 3000
    when = CosemDateTime.from_bytes(named["max_active_power_import_time"])
    assert when.to_naive() == datetime.fromisoformat(record.values["p_plus_max_time"])
    assert when.dst
    assert named["accumulated_max_active_power_import"] == 3000
    assert named["debiting_stop_counter"] == 1
    # After the stop the maxima start again; the accumulated ones keep the sum.
    assert c.value("max_active_power_import") == 0
    assert c.value("accumulated_max_active_power_import") == 3000
    assert c.value("debiting_stop_counter") == 1
    assert c.value("billing_log_2", 8) == BILLING_DEPTH


def test_a_plus_only_meter_has_no_reactive_billing_columns_or_maxima() -> None:
    c = Client(debited(A_PLUS_ONLY))
    names = {col.name for col in BILLING_LOG_2_COLUMNS}
    present = {
        name
        for name, col in zip(
            (col.name for col in BILLING_LOG_2_COLUMNS),
            shared(BILLING_LOG_2_COLUMNS),
            strict=True,
        )
        if col in columns(c, "billing_log_2")
    }
    assert names - present == {
        n for n in names if n.startswith(("max_reactive", "max_apparent", "accumulated_max_re"))
    }
    assert len(rows(c, "billing_log_2")[0]) == len(present)
    from ccc_gateway.protocol.dlms.enums import DataAccessResult

    assert c.get(attr("max_reactive_power_import")) is DataAccessResult.OBJECT_UNDEFINED


def test_maximum_demand_registers_per_tariff_with_capture_time() -> None:
    m = three_phase()  # tariff 2 on Monday morning by the default calendar
    m.advance_to(SUMMER + timedelta(minutes=15))
    m.force_tariff(1)
    m.set_override(load(2000.0, 400.0, phases=3))
    m.advance_to(SUMMER + timedelta(minutes=30))
    c = Client(m)
    assert c.value("max_active_power_import") == 6000
    assert c.value("max_active_power_import_t1") == 6000
    assert c.value("max_active_power_import_t2") == 3000
    assert c.value("max_reactive_power_import_t2") == 600
    assert c.value("max_active_power_import_t3") == 0
    when = CosemDateTime.from_bytes(c.value("max_active_power_import_t2", 5))
    assert (when.hour, when.minute, when.dst) == (10, 15, True)
    never = CosemDateTime.from_bytes(c.value("max_active_power_import_t3", 5))
    assert never.year == 0xFFFF  # not yet reached: not specified
    assert c.value("max_active_power_import", 3)[1].value == 27  # W
    assert c.value("hour_counter") == 0
    assert c.value("hour_counter", 3)[1].value == 6  # hour
    assert c.value("power_threshold_counter") == 0


def test_analysis_logger_is_a_profile_of_its_channels() -> None:
    m = three_phase()
    m.advance_to(SUMMER + timedelta(hours=3))
    c = Client(m)
    assert c.value("analysis_log", 4) == 3600
    obis = [s.value[1].value for s in c.value("analysis_log", 3)]
    assert obis[0] == obis_to_bytes("0.1.1.0.0.255")
    assert obis[1:] == [obis_to_bytes(f"1.1.{code}.255") for code in m.analysis.channels]
    got = rows(c, "analysis_log")
    assert len(got) == len(m.analysis.entries) == 3
    # 1.8.0 (kWh, logged) at the register's 10 Wh, 32.7.0 in V, 31.7.0 in 0.01 A, PF 0.01.
    local, values, dst = m.analysis.entries[-1]
    assert CosemDateTime.from_bytes(got[-1][0]).to_naive() == local
    assert dst
    assert got[-1][1] == round(values[0] * 100)
    assert got[-1][3:] == (round(values[2]), round(values[3] * 100), round(values[4] * 100))
    assert c.value("analysis_log", 8) == m.analysis.entries.maxlen


def test_profile_entries_is_every_loggers_depth() -> None:
    m = three_phase()
    m.advance_to(SUMMER + timedelta(hours=1))
    c = Client(m)
    assert c.value("load_profile", 7) == 4
    assert c.value("load_profile", 8) == m.load_profile.depth == 180 * 96  # 4 channels, 15 min
    assert c.value("cutoff_log", 7) == 0
    assert c.value("cutoff_log", 8) == 200


def test_event_logs_survive_a_restart() -> None:
    m = three_phase()
    m.set_cover(True)
    m.set_override(load(1000.0, voltage_v=180.0, phases=3), seconds=1)
    m.advance_to(SUMMER + timedelta(minutes=1))
    saved = dump_state(m)
    again = three_phase()
    restore_state(again, saved)
    assert list(again.event_log.entries) == list(m.event_log.entries)
    assert list(again.pq_log.entries) == list(m.pq_log.entries)
    assert list(again.analysis.entries) == list(m.analysis.entries)
    assert again.event_log.total == 1


def test_voltage_unbalance_and_10_minute_variations_are_readable() -> None:
    from meter_emulator.model import PhaseSupply, Supply

    m = three_phase()
    m.set_override(Supply((PhaseSupply(200.0, 500.0), PhaseSupply(230.0), PhaseSupply(230.0))))
    m.advance_to(SUMMER + timedelta(minutes=10))
    c = Client(m)
    assert c.value("voltage_unbalance") == round((220 - 200) / 220 * 1000)  # 0.1 %
    assert c.value("voltage_unbalance", 3)[0].value == -1
    assert [c.value(f"voltage_variation_count_l{n}") for n in (1, 2, 3)] == [1, 0, 0]
    single = meter(load(500.0), start=SUMMER, meter={"type_number": SINGLE, "serial": 7})
    from ccc_gateway.protocol.dlms.enums import DataAccessResult

    assert Client(single).get(attr("voltage_unbalance")) is DataAccessResult.OBJECT_UNDEFINED


def test_a_full_event_log_drops_its_oldest_entries_and_reads_in_blocks() -> None:
    """600 events in a 500-deep log: the newest 500 remain, read whole (block transfer)."""
    m = three_phase()
    for second in range(300):
        m.advance_to(SUMMER + timedelta(seconds=2 * second + 1))
        m.set_cover(True)
        m.advance_to(SUMMER + timedelta(seconds=2 * second + 2))
        m.set_cover(False)
    assert m.event_log.total == 600
    c = Client(m)
    got = rows(c, "standard_event_log")
    assert len(got) == c.value("standard_event_log", 7) == c.value("standard_event_log", 8) == 500
    first = CosemDateTime.from_bytes(got[0][0]).to_naive()
    assert first == datetime(2024, 6, 3, 10, 1, 41)  # entry 101: the cover opened at 10:01:41
    assert [r[1] for r in got[:2]] == [40, 41]
