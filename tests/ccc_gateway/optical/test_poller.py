"""A poll publishes what was read and nothing else; history is back-filled from the cursor."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ccc_gateway.optical.poller import LoadProfileCursor, OpticalPoller, profile_batches
from ccc_gateway.optical.session import MeterClock, OpticalError, ProfileRow

from .fake_port import FakeMeter

ZONE = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
SCHEMAS = Path(__file__).parents[3] / "docs" / "schemas"


def _valid(topic: str, payload: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(payload, json.loads((SCHEMAS / f"{topic}.schema.json").read_text()))


class Sink:
    def __init__(self) -> None:
        self.states: list[tuple[str, dict[str, Any]]] = []
        self.events: list[dict[str, Any]] = []
        self.energy: list[dict[str, float]] = []
        self.profiles: list[dict[str, Any]] = []
        self.errors: list[OpticalError] = []
        self.oks = 0


def poller(
    meter: FakeMeter, sink: Sink, tmp_path: Path, meter_id: str | None = "1"
) -> OpticalPoller:
    return OpticalPoller(
        meter,
        ZONE,
        60,
        meter_id=lambda: meter_id,
        publish_state=lambda name, payload: sink.states.append((name, payload)),
        publish_event=sink.events.append,
        publish_energy=lambda values, ts: sink.energy.append(values),
        publish_profile=sink.profiles.append,
        on_error=sink.errors.append,
        on_ok=lambda: setattr(sink, "oks", sink.oks + 1),
        now=lambda: NOW,
        cursor=LoadProfileCursor(tmp_path / "load_profile.json"),
    )


def hourly(start: datetime, count: int, kwh: float = 100.0) -> list[ProfileRow]:
    return [
        ProfileRow(
            MeterClock(start + timedelta(hours=i), False),
            0,
            {"active_energy_import": kwh + i * 0.5, "active_energy_export": 0.0},
        )
        for i in range(count)
    ]


async def test_a_poll_publishes_valid_state_energy_and_clock(tmp_path: Path) -> None:
    meter, sink = FakeMeter(datetime(2026, 11, 26, 12, 0, 30)), Sink()
    published = await poller(meter, sink, tmp_path).poll_once()
    assert published is not None
    names = [name for name, _ in sink.states]
    assert sorted(names) == [
        "breaker",
        "clock",
        "prepayment",
        "quality",
        "relays",
        "status",
        "tariff",
    ]
    for name, payload in sink.states:
        _valid(name, payload)
    clock = dict(sink.states)["clock"]
    assert clock["drift_s"] == 30.0
    assert clock["meter_time"] == "2026-11-26T12:00:30+01:00"
    assert sink.energy == [
        {"active_energy_import_kwh": 1234.5, "active_energy_import_t1_kwh": 1000.0}
    ]
    assert sink.events == []  # the first poll is the baseline


async def test_changes_between_polls_are_events(tmp_path: Path) -> None:
    meter, sink = FakeMeter(datetime(2026, 11, 26, 12, 0)), Sink()
    p = poller(meter, sink, tmp_path)
    await p.poll_once()
    meter.values["actual_tariff"] = 2
    meter.values["coupling_state"] = 7
    await p.poll_once()
    assert sorted(e["type"] for e in sink.events) == ["breaker_changed", "tariff_changed"]
    for event in sink.events:
        _valid("events", event)


async def test_a_poll_hands_the_meters_scaler_units_to_the_service(tmp_path: Path) -> None:
    meter, sink = FakeMeter(NOW.astimezone(ZONE).replace(tzinfo=None)), Sink()
    meter.scaler_units = {"active_energy_import": (1, 30), "voltage_l1": (-1, 35)}
    learnt: list[dict[str, tuple[int, int]]] = []
    p = poller(meter, sink, tmp_path)
    p.on_scalers = learnt.append
    await p.poll_once()
    assert learnt == [{"active_energy_import": (1, 30), "voltage_l1": (-1, 35)}]
    meter.available = False
    await p.poll_once()
    assert len(learnt) == 1  # a failed poll learns nothing


async def test_a_failed_poll_publishes_nothing_and_is_counted(tmp_path: Path) -> None:
    meter, sink = FakeMeter(datetime(2026, 11, 26, 12, 0)), Sink()
    meter.available = False
    p = poller(meter, sink, tmp_path)
    assert await p.poll_once() is None
    assert (sink.states, sink.energy, p.failures) == ([], [], 1)
    assert [e.code for e in sink.errors] == ["optical_unavailable"]


async def test_no_meter_id_means_nothing_published(tmp_path: Path) -> None:
    meter, sink = FakeMeter(datetime(2026, 11, 26, 12, 0)), Sink()
    assert await poller(meter, sink, tmp_path, meter_id=None).poll_once() is not None
    assert sink.states == []


async def test_backfill_resumes_from_the_cursor_across_restarts(tmp_path: Path) -> None:
    meter, sink = FakeMeter(datetime(2026, 11, 26, 12, 0)), Sink()
    meter.profile = hourly(datetime(2026, 11, 24, 12, 0), 48)
    count = await poller(meter, sink, tmp_path).read_profile(NOW - timedelta(days=7), None, None)
    assert count == 48
    (batch,) = sink.profiles
    _valid("load_profile", batch)
    assert batch["interval_s"] == 3600
    assert batch["intervals"][0]["start"] == "2026-11-24T11:00:00+01:00"
    assert batch["intervals"][-1]["end"] == "2026-11-26T11:00:00+01:00"

    meter.profile += hourly(datetime(2026, 11, 26, 12, 0), 1, kwh=124.0)
    sink2 = Sink()
    restarted = poller(meter, sink2, tmp_path)
    await restarted._backfill()
    (batch,) = sink2.profiles
    assert [i["end"] for i in batch["intervals"]] == ["2026-11-26T12:00:00+01:00"]


def test_batches_split_and_dst_fold() -> None:
    rows = hourly(datetime(2026, 10, 20, 0, 0), 200)
    batches = profile_batches(rows, zone=ZONE, meter="1", read_at=NOW, request_id="r")
    assert [b["parts"] for b in batches] == [3, 3, 3]
    assert [len(b["intervals"]) for b in batches] == [96, 96, 8]
    for batch in batches:
        _valid("load_profile", batch)
    # The repeated hour of 25 October: the DST bit tells the two 02:00 apart.
    summer = ProfileRow(MeterClock(datetime(2026, 10, 25, 2, 0), True), 0, {})
    winter = ProfileRow(MeterClock(datetime(2026, 10, 25, 2, 0), False), 0, {})
    (batch,) = profile_batches(
        [winter, summer], zone=ZONE, meter="1", read_at=NOW, request_id=None, interval_s=3600
    )
    assert [i["end"] for i in batch["intervals"]] == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
    ]
