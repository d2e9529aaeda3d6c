"""Registers, logs and the invocation counter survive a restart; the IC is never reused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from meter_emulator.model import Meter, parse_config
from meter_emulator.model.state import StateMismatch, dump_state
from meter_emulator.persistence import IC_BLOCK, MeterStore, atomic_write_json
from meter_emulator.scenarios import Household

START = datetime(2024, 3, 1, tzinfo=UTC)


def _meter(serial: int = 28046399) -> Meter:
    config = parse_config(
        {"meter": {"serial": serial}, "prepayment": {"enabled": True, "credit_kwh": 50.0}}
    )
    return Meter(config, start=START, source=Household(seed=4))


def test_restart_keeps_registers_logs_and_state(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    m = _meter()
    m.advance_to(START + timedelta(days=2))
    m.set_cover(True)
    m.write_coupling(1)
    m.force_tariff(3)
    store = MeterStore(path, m)
    store.save()
    restarted = _meter()
    assert MeterStore(path, restarted).load()
    assert dump_state(restarted) == dump_state(m)
    assert restarted.breaker.state.value == 1  # bistable
    assert restarted.tariff == 3
    restarted.advance_to(START + timedelta(days=3))
    m.advance_to(START + timedelta(days=3))
    assert restarted.energy.nj == m.energy.nj
    assert list(restarted.load_profile.entries) == list(m.load_profile.entries)


def test_invocation_counter_is_never_reused_after_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    m = _meter()
    store = MeterStore(path, m)
    used = [store.next_invocation_counter() for _ in range(IC_BLOCK + 5)]
    assert used == list(range(1, IC_BLOCK + 6))
    # crash: nothing saved since the last reservation
    again = _meter()
    second = MeterStore(path, again)
    assert second.load()
    assert second.next_invocation_counter() > max(used)


def test_no_state_file_and_a_foreign_one(tmp_path: Path) -> None:
    assert not MeterStore(tmp_path / "none.json", _meter()).load()
    path = tmp_path / "state.json"
    MeterStore(path, _meter(11111111)).save()
    with pytest.raises(StateMismatch, match="11111111"):
        MeterStore(path, _meter()).load()


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.json"
    atomic_write_json(path, {"a": 1})
    atomic_write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]

    class Boom:
        pass

    with pytest.raises(TypeError):
        atomic_write_json(path, {"a": Boom()})
    assert json.loads(path.read_text()) == {"a": 2}  # the old state is intact
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]
