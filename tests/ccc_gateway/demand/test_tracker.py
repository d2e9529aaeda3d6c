"""The demand adapter in the service: what it publishes matches the contract, its state survives
a restart, and a meter configured with a rule gets a ``demand`` topic from a real push."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ccc_gateway.config import ConfigError, parse_config
from ccc_gateway.demand.rules import BELGIUM_CAPACITY, NORWAY_CAPACITY
from ccc_gateway.demand.tracker import DemandTracker
from ccc_gateway.service import Gateway
from tests.vectors import RADIUS, frame, key

jsonschema = pytest.importorskip("jsonschema")
SCHEMAS = Path(__file__).parents[3] / "docs" / "schemas"
OSLO = ZoneInfo("Europe/Oslo")


def _validator(name: str) -> Any:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def _run(
    tracker: DemandTracker, start: datetime, hours: list[float]
) -> tuple[list[Any], list[Any]]:
    demand: list[Any] = []
    events: list[Any] = []
    t, register = start, 100.0
    for kw in hours:
        for _ in range(360):
            t += timedelta(seconds=10)
            register += kw * 10 / 3600
            payload, new = tracker.push(
                t.astimezone(OSLO),
                {"active_power_import_w": kw * 1000},
                {"active_energy_import_kwh": register},
            )
            if payload is not None:
                demand.append(payload)
            events += new
    return demand, events


@pytest.mark.parametrize("rule", [NORWAY_CAPACITY, BELGIUM_CAPACITY], ids=lambda r: r.name)
def test_every_payload_matches_the_contract(tmp_path: Path, rule: Any) -> None:
    tracker = DemandTracker(rule, OSLO, state_dir=tmp_path, meter="house")
    demand, events = _run(tracker, datetime(2026, 1, 31, 20, tzinfo=OSLO), [1, 4, 9, 2, 3])
    assert demand
    assert {e["type"] for e in events} >= {"demand_peak"}
    for payload in demand:
        errors = list(_validator("demand").iter_errors(payload))
        assert not errors, errors[0].message
    for event in events:
        errors = list(_validator("events").iter_errors(event))
        assert not errors, errors[0].message
    assert demand[-1]["last_month"]["month"] == "2026-01"  # the run crossed into February
    # One demand message per 60 s of meter time, plus news (closes, peaks, headroom signs).
    assert len(demand) <= 5 * 60 + 2 * len(events) + 5 * 4 * 2
    assert len(demand) >= 5 * 60


def test_the_state_survives_a_restart(tmp_path: Path) -> None:
    start = datetime(2026, 1, 5, 6, tzinfo=OSLO)
    first = DemandTracker(NORWAY_CAPACITY, OSLO, state_dir=tmp_path, meter="house")
    _run(first, start, [6.0, 1.0])
    assert (tmp_path / "demand-house.json").exists()
    second = DemandTracker(NORWAY_CAPACITY, OSLO, state_dir=tmp_path, meter="house")
    demand, _ = _run(second, start + timedelta(hours=2), [2.0])
    assert demand[-1]["peaks"][0]["average_kw"] == pytest.approx(6.0)
    assert demand[-1]["missing_intervals"] == 0


def test_an_unreadable_state_starts_afresh_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "demand-house.json").write_text("{not json")
    tracker = DemandTracker(NORWAY_CAPACITY, OSLO, state_dir=tmp_path, meter="house")
    assert "demand state unreadable" in caplog.text
    demand, _ = _run(tracker, datetime(2026, 1, 5, tzinfo=OSLO), [1.0])
    assert demand


def test_a_keyed_meter_with_a_rule_publishes_demand(tmp_path: Path) -> None:
    ek, ak = key(RADIUS, "encryption_key"), key(RADIUS, "authentication_key")
    assert ek is not None
    assert ak is not None
    config = parse_config(
        {
            "gateway": {"state_dir": str(tmp_path), "timezone": "Europe/Copenhagen"},
            "meters": [
                {
                    "ccc": {"port": "/dev/null"},
                    "encryption_key": ek.hex(),
                    "authentication_key": ak.hex(),
                    "demand": "be-capacity-tariff",
                }
            ],
        }
    )
    gateway = Gateway(config)
    gateway.channels[0].port_data(frame(RADIUS))
    published = {}
    while (message := gateway.publisher.outbox.pop()) is not None:
        published[message.topic.rsplit("/", 1)[-1]] = message.payload
    payload = json.loads(published["demand"])
    assert not list(_validator("demand").iter_errors(payload))
    assert payload["rule"] == "be-capacity-tariff"
    assert payload["billing_kw"] == 2.5  # nothing closed yet: the Flemish minimum


def test_custom_rules_are_tables_and_unknown_names_are_refused(tmp_path: Path) -> None:
    base: dict[str, Any] = {"gateway": {"state_dir": str(tmp_path)}}
    config = parse_config(
        {
            **base,
            "demand_rules": [
                {
                    "name": "my-grid",
                    "peaks": 2,
                    "distinct_days": True,
                    "steps": [[0, 100], [3, 200]],
                    "windows": [{"weekdays": [0, 1, 2, 3, 4], "start": "07:00", "end": "21:00"}],
                    "currency": "NOK",
                }
            ],
            "meters": [{"ccc": {"port": "/dev/null"}, "demand": "my-grid"}],
        }
    )
    rule = config.meters[0].demand
    assert rule is not None
    assert rule.peaks == 2
    assert rule.weight(datetime(2026, 1, 5, 8, tzinfo=OSLO)) == 1.0  # a Monday morning
    assert rule.weight(datetime(2026, 1, 4, 8, tzinfo=OSLO)) == 0.0  # a Sunday
    with pytest.raises(ConfigError, match=r"meters\[0\]\.demand"):
        parse_config({**base, "meters": [{"ccc": {"port": "/dev/null"}, "demand": "nope"}]})
    with pytest.raises(ConfigError, match=r"demand_rules\[0\]\.steps"):
        parse_config(
            {
                **base,
                "demand_rules": [{"name": "bad", "steps": [[1, 100]]}],
                "meters": [{"ccc": {"port": "/dev/null"}}],
            }
        )
    with pytest.raises(ConfigError, match=r"demand_rules\[0\]\.windows\[0\]\.start"):
        parse_config(
            {
                **base,
                "demand_rules": [{"name": "bad", "windows": [{"start": "7 am"}]}],
                "meters": [{"ccc": {"port": "/dev/null"}}],
            }
        )


def test_the_load_profile_fills_what_the_pushes_missed(tmp_path: Path) -> None:
    """A gateway restart left two hours unseen; the optical port's profile fills them."""
    tracker = DemandTracker(NORWAY_CAPACITY, OSLO, state_dir=tmp_path, meter="house")
    start = datetime(2026, 1, 5, 6, tzinfo=OSLO)
    _run(tracker, start, [1.0])
    demand, _ = _run(tracker, start + timedelta(hours=3), [1.0])
    assert demand[-1]["missing_intervals"] == 2  # 07:00 seen only at its start, 08:00 not at all
    intervals = []
    register = 200.0
    for hour, kw in ((6, 1.0), (7, 7.0), (8, 9.0), (9, 2.0)):
        begin = datetime(2026, 1, 5, hour, tzinfo=OSLO)
        register += kw
        intervals.append(
            {
                "start": begin.isoformat(),
                "end": (begin + timedelta(hours=1)).isoformat(),
                "active_energy_import_kwh": register,
                "status": 0,
            }
        )
    payload, events = tracker.load_profile({"interval_s": 3600, "intervals": intervals})
    assert payload is not None
    assert payload["missing_intervals"] == 0
    assert payload["peaks"][0]["average_kw"] == pytest.approx(9.0)
    assert [e["type"] for e in events].count("demand_peak") >= 1
    assert not list(_validator("demand").iter_errors(payload))


def test_closes_are_journaled_and_replayed_after_a_restart(tmp_path: Path) -> None:
    """A day of quarter hours appends lines; a restart replays them to the same peaks, and a
    line cut short by a crash costs only itself."""
    start = datetime(2026, 2, 2, tzinfo=OSLO)
    straight = DemandTracker(BELGIUM_CAPACITY, OSLO, state_dir=tmp_path / "a", meter="m")
    _run(straight, start, [1.0, 6.0, 2.0, 1.5])
    journaled = DemandTracker(BELGIUM_CAPACITY, OSLO, state_dir=tmp_path / "b", meter="m")
    demand, _ = _run(journaled, start, [1.0, 6.0, 2.0, 1.5])
    journal = tmp_path / "b" / "demand-m.journal"
    assert len(journal.read_text().splitlines()) >= 12  # a line per quarter hour since the save
    restored = DemandTracker(BELGIUM_CAPACITY, OSLO, state_dir=tmp_path / "b", meter="m")
    assert restored.calculator.to_state() == straight.calculator.to_state()
    with journal.open("a") as handle:
        handle.write('{"closed": [[17')  # the crash
    again = DemandTracker(BELGIUM_CAPACITY, OSLO, state_dir=tmp_path / "b", meter="m")
    assert again.calculator.to_state() == straight.calculator.to_state()
    assert demand[-1]["peaks"][0]["average_kw"] == pytest.approx(6.0)


def test_the_headroom_turning_negative_is_published_at_once(tmp_path: Path) -> None:
    """An automation sheds load on a negative headroom: that message may not wait 30 s."""
    tracker = DemandTracker(NORWAY_CAPACITY, OSLO, state_dir=tmp_path, meter="house")
    start = datetime(2026, 1, 5, tzinfo=OSLO)
    _run(tracker, start, [3.0] * 24 + [3.0] * 24 + [3.0] * 24)  # three days: 3 kW, step 2-5
    t = start + timedelta(days=3)
    register = 1000.0
    payload, _ = tracker.push(
        t, {"active_power_import_w": 1000}, {"active_energy_import_kwh": register}
    )
    sent = []
    for second in range(10, 120, 10):  # a kettle, an oven and a sauna: 10 kW from now on
        register += 10 * 10 / 3600
        payload, _ = tracker.push(
            t + timedelta(seconds=second),
            {"active_power_import_w": 10000},
            {"active_energy_import_kwh": register},
        )
        sent.append(payload)
    first = next(p for p in sent if p is not None)
    assert first["headroom_kw"] < 0  # (3 + 3 + x) / 3 >= 5 needs x >= 9 kW
    assert sent[0] is first  # the very first push at 10 kW published
