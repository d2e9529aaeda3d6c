"""A poll publishes what was read and nothing else; history is back-filled from the cursor."""

from __future__ import annotations

import contextlib
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


def quarter_hours(start: datetime, count: int, **extra: float) -> list[ProfileRow]:
    return [
        ProfileRow(
            MeterClock(start + timedelta(minutes=15 * i), False),
            0,
            {"active_energy_import": 100.0 + i, **extra},
            900,
        )
        for i in range(count)
    ]


def test_a_single_row_batch_says_the_profiles_own_period_and_carries_r1_to_r4() -> None:
    quadrants = {f"reactive_energy_q{q}": float(q) for q in range(1, 5)}
    (batch,) = profile_batches(
        quarter_hours(datetime(2026, 11, 26, 11, 45), 1, **quadrants),
        zone=ZONE,
        meter="1",
        read_at=NOW,
        request_id=None,
    )
    _valid("load_profile", batch)
    assert batch["interval_s"] == 900
    (interval,) = batch["intervals"]
    assert interval["start"] == "2026-11-26T11:30:00+01:00"
    assert [interval[f"reactive_energy_q{q}_kvarh"] for q in range(1, 5)] == [1.0, 2.0, 3.0, 4.0]


def test_two_meters_on_one_gateway_keep_their_own_cursors(tmp_path: Path) -> None:
    first = LoadProfileCursor(tmp_path / "load_profile.json")
    second = LoadProfileCursor(tmp_path / "load_profile.json")  # as each channel makes its own
    first.advance("11111111", NOW)
    second.advance("22222222", NOW + timedelta(hours=1))
    first.advance("11111111", NOW + timedelta(hours=2))
    again = LoadProfileCursor(tmp_path / "load_profile.json")
    assert again.get("11111111") == NOW + timedelta(hours=2)
    assert again.get("22222222") == NOW + timedelta(hours=1)


async def test_backfill_runs_again_after_each_capture_period(tmp_path: Path) -> None:
    start = NOW.astimezone(ZONE).replace(tzinfo=None) - timedelta(hours=1)
    meter, sink = FakeMeter(start + timedelta(hours=1)), Sink()
    meter.profile = quarter_hours(start, 5)  # up to the meter's "now"
    p = poller(meter, sink, tmp_path)
    await p.poll_once()
    await p._backfill()
    assert len(sink.profiles) == 1
    assert not p._period_closed()  # nothing new yet
    meter.clock = MeterClock(start + timedelta(hours=1, minutes=15), False)
    meter.profile += quarter_hours(start + timedelta(hours=1, minutes=15), 1)
    await p.poll_once()
    assert p._period_closed()
    await p._backfill()
    ends = [i["end"] for b in sink.profiles for i in b["intervals"]]
    assert len(ends) == len(set(ends)) == 6  # tiles time: no gap, no overlap
    assert sink.profiles[-1]["interval_s"] == 900


async def test_malformed_data_from_the_meter_voids_the_poll_but_never_the_service(
    tmp_path: Path,
) -> None:
    from ccc_gateway.protocol.errors import MalformedData

    meter, sink = FakeMeter(datetime(2026, 11, 26, 12, 0)), Sink()

    async def broken(name: str, start: datetime, end: datetime) -> list[Any]:
        raise MalformedData("date-time ffff… is not a time")

    p = poller(meter, sink, tmp_path)
    p.log_dir = tmp_path / "logs"
    meter.logs = {"standard_event_log": []}
    original = meter.session

    @contextlib.asynccontextmanager
    async def session() -> Any:
        async with original() as opened:
            opened.read_log = broken
            yield opened

    meter.session = session  # type: ignore[method-assign]
    assert await p.poll_once() is None
    assert sink.states == []
    assert [e.code for e in sink.errors] == ["optical_data_rejected"]
