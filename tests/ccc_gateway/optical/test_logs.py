"""The meter's logs become events with its time stamps, each entry once, across restarts.

Entries are the shared columns of ``omnipower_logs`` as the DLMS session hands them over
(scaled: durations in s, voltages in V); the optical side is the in-memory fake port.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ccc_gateway.optical.logs import LogCursor, entry_ids, log_events
from ccc_gateway.optical.poller import OpticalPoller
from ccc_gateway.optical.session import LogEntry, MeterClock
from ccc_gateway.protocol.omnipower_logs import EventCode, PowerQualityCode, TariffSource

from .fake_port import FakeMeter
from .test_poller import Sink, poller

ZONE = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
LOCAL = NOW.astimezone(ZONE).replace(tzinfo=None)  # 12:00 CET
SCHEMAS = Path(__file__).parents[3] / "docs" / "schemas"


def valid(event: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(event, json.loads((SCHEMAS / "events.schema.json").read_text()))


def standard(minutes: float, code: EventCode, **values: Any) -> LogEntry:
    clock = MeterClock(LOCAL + timedelta(minutes=minutes), False)
    return LogEntry(clock, {"event_code": int(code), **values})


def quality(minutes: float, code: PowerQualityCode, phase: int, s: float, v: float) -> LogEntry:
    clock = MeterClock(LOCAL + timedelta(minutes=minutes), False)
    values = {
        "pq_event_code": int(code),
        "pq_event_phase": phase,
        "event_duration": s,
        "pq_event_extreme_voltage": v,
    }
    return LogEntry(clock, values)


def events_of(log: str, entries: list[LogEntry], **kwargs: Any) -> list[dict[str, Any]]:
    ids = entry_ids("1", log, entries, ZONE)
    return log_events(log, list(zip(entries, ids, strict=True)), ZONE, **kwargs)


def test_every_logged_kind_becomes_its_event_at_the_meters_time() -> None:
    entries = [
        standard(1, EventCode.TERMINAL_COVER_OPENED),
        standard(3, EventCode.TERMINAL_COVER_CLOSED, event_duration=120.0),
        standard(4, EventCode.POWER_DOWN),
        standard(7, EventCode.POWER_UP, event_duration=180.0),
        standard(8, EventCode.CLOCK_ADJUSTED_OLD),
        standard(10, EventCode.CLOCK_ADJUSTED_NEW),
        standard(11, EventCode.TARIFF_CHANGED, actual_tariff=3, tariff_source=TariffSource.FORCED),
        standard(12, EventCode.TARIFF_CHANGED, actual_tariff=1, tariff_source=TariffSource.INPUT),
    ]
    events = events_of("standard_event_log", entries, last_tariff=2)
    for event in events:
        valid(event)
    assert [e["type"] for e in events] == [
        "tamper",
        "tamper",
        "power_failure",
        "power_failure",
        "clock_adjusted",
        "tariff_changed",
        "tariff_changed",
    ]
    assert events[0]["ts"] == "2026-11-26T12:01:00+01:00"
    assert (events[0]["active"], events[1]["active"], events[1]["duration_s"]) == (
        True,
        False,
        120.0,
    )
    assert events[2]["ended"] is None
    assert events[3]["started"] == "2026-11-26T12:04:00+01:00"
    assert (events[3]["ended"], events[3]["duration_s"]) == ("2026-11-26T12:07:00+01:00", 180.0)
    assert events[4]["old"] == "2026-11-26T12:08:00+01:00"
    assert events[4]["new"] == "2026-11-26T12:10:00+01:00"
    assert events[4]["drift_s"] == 120.0
    assert [(e["from"], e["to"], e["source"]) for e in events[5:]] == [
        (2, 3, "forced"),
        (3, 1, "input"),
    ]


def test_sags_and_swells_carry_phase_duration_and_extreme() -> None:
    entries = [
        quality(1, PowerQualityCode.VOLTAGE_SAG, 2, 2.5, 180.0),
        quality(2, PowerQualityCode.VOLTAGE_SWELL, 1, 1.0, 260.0),
        quality(3, PowerQualityCode.INTERRUPTION, 1, 4.0, 0.0),
    ]
    sag, swell = events_of("power_quality_log", entries)
    valid(sag)
    valid(swell)
    assert (sag["type"], sag["phase"], sag["duration_s"], sag["voltage_v"]) == (
        "voltage_sag",
        2,
        2.5,
        180.0,
    )
    assert sag["ended"] == sag["ts"] == "2026-11-26T12:01:00+01:00"
    assert sag["started"] == "2026-11-26T12:00:57.500000+01:00"
    assert (swell["type"], swell["voltage_v"]) == ("voltage_swell", 260.0)


def test_ids_are_stable_and_distinct_for_entries_of_one_second() -> None:
    entries = [
        standard(5, EventCode.MAGNET_DETECTED),
        standard(5, EventCode.MAGNET_GONE),
        standard(5, EventCode.MAGNET_DETECTED),
    ]
    ids = entry_ids("1", "standard_event_log", entries, ZONE)
    assert len(set(ids)) == 3
    assert ids == entry_ids("1", "standard_event_log", entries, ZONE)
    assert ids[0] == f"1-sel-{int((NOW + timedelta(minutes=5)).timestamp())}-42"


def test_cursor_never_repeats_never_skips_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "1.json"
    log = "standard_event_log"
    cursor = LogCursor(path)
    assert cursor.start(log) is None
    cursor.baseline(log, NOW)
    first = [standard(1, EventCode.MAGNET_DETECTED)]
    ids = entry_ids("1", log, first, ZONE)
    assert cursor.new(log, first, ids, ZONE) == [0]
    cursor.advance(log, first, ids, ZONE)
    # The next range starts at that entry's stamp (inclusive): it comes back, a new entry of
    # the same second with it, and after a restart both are known.
    again = [*first, standard(1, EventCode.MAGNET_GONE)]
    ids = entry_ids("1", log, again, ZONE)
    restarted = LogCursor(path)
    assert restarted.start(log) == NOW + timedelta(minutes=1)
    assert restarted.new(log, again, ids, ZONE) == [1]
    restarted.advance(log, again, ids, ZONE)
    assert LogCursor(path).new(log, again, ids, ZONE) == []


def poll_with_logs(meter: FakeMeter, sink: Sink, tmp_path: Path) -> OpticalPoller:
    p = poller(meter, sink, tmp_path)
    p.log_dir = tmp_path / "logs"
    return p


async def test_a_cover_opened_and_closed_between_two_polls_is_two_events_once(
    tmp_path: Path,
) -> None:
    meter, sink = FakeMeter(LOCAL), Sink()
    meter.logs = {"standard_event_log": [standard(-30, EventCode.TERMINAL_COVER_OPENED)]}
    p = poll_with_logs(meter, sink, tmp_path)
    await p.poll_once()
    assert sink.events == []  # the first poll is a baseline: the meter's past is not news
    meter.logs["standard_event_log"] += [
        standard(1, EventCode.TERMINAL_COVER_OPENED),
        standard(2, EventCode.TERMINAL_COVER_CLOSED, event_duration=60.0),
    ]
    meter.clock = MeterClock(LOCAL + timedelta(minutes=3), False)
    await p.poll_once()
    await p.poll_once()
    assert [(e["type"], e["active"], e["ts"]) for e in sink.events] == [
        ("tamper", True, "2026-11-26T12:01:00+01:00"),
        ("tamper", False, "2026-11-26T12:02:00+01:00"),
    ]
    # A restart (a new poller on the same state directory) publishes none of them again.
    again = Sink()
    await poll_with_logs(meter, again, tmp_path).poll_once()
    assert again.events == []


async def test_with_the_log_a_changed_poll_raises_no_second_event(tmp_path: Path) -> None:
    meter, sink = FakeMeter(LOCAL), Sink()
    meter.logs = {"standard_event_log": [], "power_quality_log": []}
    p = poll_with_logs(meter, sink, tmp_path)
    await p.poll_once()
    meter.values["actual_tariff"] = 3
    meter.logs["standard_event_log"] = [
        standard(1, EventCode.TARIFF_CHANGED, actual_tariff=3, tariff_source=TariffSource.FORCED)
    ]
    meter.clock = MeterClock(LOCAL + timedelta(minutes=2), False)
    await p.poll_once()
    assert [(e["type"], e["from"], e["to"], e["source"]) for e in sink.events] == [
        ("tariff_changed", 1, 3, "forced")
    ]
    assert sink.events[0]["ts"] == "2026-11-26T12:01:00+01:00"  # when it happened, not polled


async def test_a_meter_without_logs_keeps_the_poll_differences(tmp_path: Path) -> None:
    meter, sink = FakeMeter(LOCAL), Sink()
    p = poll_with_logs(meter, sink, tmp_path)
    await p.poll_once()
    meter.values["actual_tariff"] = 3
    await p.poll_once()
    assert [e["type"] for e in sink.events] == ["tariff_changed"]


async def test_billing_is_published_on_change_with_the_last_closed_period(tmp_path: Path) -> None:
    meter, sink = FakeMeter(LOCAL), Sink()
    meter.values |= {
        "max_active_power_import": 3120.0,
        "max_active_power_import_t1": 0.0,
        "accumulated_max_active_power_import": 46210.0,
        "debiting_stop_counter": 12,
        "hour_counter": 8760.0,
    }
    peak = MeterClock(LOCAL - timedelta(hours=3), False)
    meter.capture_times = {"max_active_power_import": peak, "max_active_power_import_t1": None}
    ended = MeterClock(LOCAL - timedelta(days=1), False)
    meter.logs = {
        "billing_log_2": [
            LogEntry(
                ended,
                {
                    "max_active_power_import": 4620.0,
                    "max_active_power_import_time": MeterClock(LOCAL - timedelta(days=9), False),
                    "debiting_stop_counter": 12,
                },
            )
        ]
    }
    p = poller(meter, sink, tmp_path)
    await p.poll_once()
    await p.poll_once()  # nothing changed: not sent again
    billing = [payload for name, payload in sink.states if name == "billing"]
    assert len(billing) == 1
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(billing[0], json.loads((SCHEMAS / "billing.schema.json").read_text()))
    current = billing[0]["current"]
    assert current["max_active_power_import_w"] == 3120.0
    assert current["max_active_power_import_at"] == "2026-11-26T09:00:00+01:00"
    assert current["max_active_power_import_t1_at"] is None
    assert billing[0]["counters"] == {"debiting_stops": 12, "hour_counter_h": 8760.0}
    last = billing[0]["last_period"]
    assert last["ended"] == "2026-11-25T12:00:00+01:00"
    assert last["max_active_power_import_w"] == 4620.0
    assert last["max_active_power_import_at"] == "2026-11-17T12:00:00+01:00"


async def test_quality_carries_the_last_sag_and_the_phases_the_meter_answers(
    tmp_path: Path,
) -> None:
    meter, sink = FakeMeter(LOCAL), Sink()
    meter.values |= {"voltage_l1": 230.0, "voltage_l2": 225.0, "voltage_l3": 235.0}
    meter.values["coupling_feedback"] = 0x19  # valid, L1 only: L2/L3 lost on a 3-phase meter
    meter.logs = {"power_quality_log": []}
    p = poll_with_logs(meter, sink, tmp_path)  # built with phases=1, as before any push
    await p.poll_once()
    meter.logs["power_quality_log"] = [quality(1, PowerQualityCode.VOLTAGE_SAG, 2, 2.5, 180.0)]
    meter.clock = MeterClock(LOCAL + timedelta(minutes=2), False)
    await p.poll_once()
    states = [payload for name, payload in sink.states if name == "quality"]
    assert states[-1]["last_voltage_sag"] == {
        "at": "2026-11-26T12:00:57.500000+01:00",
        "phase": 2,
        "duration_s": 2.5,
        "voltage_v": 180.0,
    }
    assert "voltage_unbalance_pct" in states[-1]
    valid_quality = pytest.importorskip("jsonschema")
    valid_quality.validate(states[-1], json.loads((SCHEMAS / "quality.schema.json").read_text()))
    status = [payload for name, payload in sink.states if name == "status"][-1]
    assert status["power_failure"] is True  # L2/L3 without voltage: seen although phases=1
