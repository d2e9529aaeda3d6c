"""Commands become writes confirmed by read-back; the breaker follows its state machine."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ccc_gateway.commands.dispatcher import CommandFailed
from ccc_gateway.commands.guard import AcceptedCommand
from ccc_gateway.optical.commands import OpticalCommandExecutor

from .fake_port import FakeMeter

ZONE = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
SCHEMAS = Path(__file__).parents[3] / "docs" / "schemas"


class Harness:
    def __init__(self) -> None:
        self.meter = FakeMeter(NOW.astimezone(ZONE).replace(tzinfo=None))
        self.changes: list[tuple[dict[str, Any], str]] = []
        self.profile_requests: list[tuple[datetime, datetime | None, str]] = []
        self.executor = OpticalCommandExecutor(
            self.meter,
            ZONE,
            now=lambda: NOW,
            after_change=lambda payloads, cid: self.changes.append((dict(payloads), cid)),
            refresh=self._refresh,
            read_load_profile=self._profile,
        )

    async def _refresh(self) -> Mapping[str, Any]:
        return {"polled": True}

    async def _profile(self, start: datetime, end: datetime | None, request: str) -> int:
        self.profile_requests.append((start, end, request))
        return 24

    async def run(self, name: str, **args: Any) -> Mapping[str, Any]:
        command = AcceptedCommand("1", name, f"id-{name}", NOW + timedelta(seconds=30), args)
        return await self.executor.execute(command)


def _valid(topic: str, payload: Mapping[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(dict(payload), json.loads((SCHEMAS / f"{topic}.schema.json").read_text()))


async def test_breaker_round_trip_follows_the_state_machine() -> None:
    h = Harness()
    state = await h.run("breaker", action="disconnect")
    assert (state["state"], state["coupling_state"]) == ("disconnected", 1)
    _valid("breaker", state)
    state = await h.run("breaker", action="release")
    assert state["state"] == "ready_for_reconnection"
    state = await h.run("breaker", action="reconnect")
    assert state["state"] == "connected"
    assert h.meter.writes == [
        ("coupling_state", 1),
        ("coupling_state", 2),
        ("coupling_state", 3),
    ]
    assert [cid for _, cid in h.changes] == ["id-breaker"] * 3


async def test_reconnect_from_connected_is_refused_before_the_meter() -> None:
    h = Harness()
    with pytest.raises(CommandFailed) as failed:
        await h.run("breaker", action="reconnect")
    assert failed.value.reason == "meter_error"
    assert "ready_for_reconnection" in str(failed.value)
    assert failed.value.state is not None
    assert failed.value.state["state"] == "connected"
    assert h.meter.writes == []


async def test_a_write_the_meter_ignores_is_a_readback_mismatch() -> None:
    h = Harness()
    h.meter.ignore_writes = True
    with pytest.raises(CommandFailed) as failed:
        await h.run("breaker", action="disconnect")
    assert failed.value.reason == "readback_mismatch"
    with pytest.raises(CommandFailed) as failed:
        await h.run("relay", relay=1, on=True)
    assert failed.value.reason == "readback_mismatch"
    assert h.changes == []


async def test_relay_tariff_alarm_limit_and_top_up() -> None:
    h = Harness()
    relays = await h.run("relay", relay=2, on=True)
    assert (relays["relay_1_on"], relays["relay_2_on"]) == (False, True)
    _valid("relays", relays)
    tariff = await h.run("tariff", mode="force", tariff=3)
    assert (tariff["active_tariff"], tariff["source"]) == (3, "forced")
    tariff = await h.run("tariff", mode="auto")
    assert (tariff["active_tariff"], tariff["source"]) == (2, "calendar")
    _valid("tariff", tariff)
    limit = await h.run("prepayment_alarm_limit", energy_kwh=5)
    assert limit["alarm_limit_kwh"] == 5.0
    top_up = await h.run("prepayment_top_up", energy_kwh=25.5)
    assert top_up["credit_kwh"] == 75.5
    _valid("prepayment", top_up)


async def test_a_refused_write_is_a_meter_error() -> None:
    h = Harness()
    h.meter.values["coupling_state"] = 4
    with pytest.raises(CommandFailed) as failed:
        await h.run("breaker", action="release")
    assert failed.value.reason == "meter_error"


async def test_unplugged_head_is_port_unavailable() -> None:
    h = Harness()
    h.meter.available = False
    with pytest.raises(CommandFailed) as failed:
        await h.run("relay", relay=1, on=True)
    assert failed.value.reason == "port_unavailable"
    assert "optical head" in str(failed.value)


async def test_clock_sync_sets_local_time_and_confirms_it() -> None:
    h = Harness()
    h.meter.clock = h.meter.clock.__class__(datetime(2026, 11, 26, 12, 5), False)  # 5 min ahead
    clock = await h.run("clock_sync")
    _valid("clock", clock)
    assert clock["drift_s"] == 0.0
    assert h.meter.writes[-1][1].local == datetime(2026, 11, 26, 12, 0)  # 11:00 UTC in winter
    h.meter.ignore_writes = True
    h.meter.clock = h.meter.clock.__class__(datetime(2026, 11, 26, 12, 5), False)
    with pytest.raises(CommandFailed) as failed:
        await h.run("clock_sync")
    assert failed.value.reason == "readback_mismatch"


async def test_refresh_and_profile_requests_are_delegated() -> None:
    h = Harness()
    assert await h.run("refresh") == {"polled": True}
    result = await h.run("read_load_profile", **{"from": "2026-11-25T00:00:00+01:00"})
    assert result == {"intervals": 24}
    ((start, end, request),) = h.profile_requests
    assert (start.isoformat(), end, request) == (
        "2026-11-25T00:00:00+01:00",
        None,
        "id-read_load_profile",
    )


async def test_reconnect_from_disconnected_is_refused_naming_both_states() -> None:
    h = Harness()
    h.meter.values["coupling_state"] = 1
    with pytest.raises(CommandFailed) as failed:
        await h.run("breaker", action="reconnect")
    text = str(failed.value)
    assert "ready_for_reconnection" in text
    assert "the breaker is disconnected" in text
    assert "state 1" not in text
    assert h.meter.writes == []


async def test_a_top_up_the_meter_ignored_is_a_mismatch_however_small() -> None:
    """The old check accepted target - 0.1 kWh, so an ignored 0.05 kWh top-up was "done"."""
    h = Harness()
    h.meter.ignore_writes = True
    with pytest.raises(CommandFailed) as failed:
        await h.run("prepayment_top_up", energy_kwh=0.05)
    assert failed.value.reason == "readback_mismatch"
    assert "50.05" in str(failed.value)
    assert h.changes == []


async def test_a_top_up_is_exact_less_what_the_meter_counted_as_imported() -> None:
    h = Harness()
    real_read = h.meter.values
    # 2 Wh imported between the reads, and the credit counted down by as much.
    h.meter.after_write = lambda: real_read.update(
        prepayment_credit=real_read["prepayment_credit"] - 0.002,
        active_energy_import=real_read["active_energy_import"] + 0.002,
    )
    state = await h.run("prepayment_top_up", energy_kwh=10)
    assert state["credit_kwh"] == pytest.approx(59.998)
    # Counted down by more than was imported: the top-up did not all arrive.
    h.meter.after_write = lambda: real_read.update(
        prepayment_credit=real_read["prepayment_credit"] - 0.005,
        active_energy_import=real_read["active_energy_import"] + 0.002,
    )
    with pytest.raises(CommandFailed) as failed:
        await h.run("prepayment_top_up", energy_kwh=10)
    assert failed.value.reason == "readback_mismatch"


async def test_values_finer_than_the_register_are_refused_before_the_meter() -> None:
    h = Harness()
    h.meter.resolutions["prepayment_credit"] = 1.0  # a register counting whole kWh
    with pytest.raises(CommandFailed) as failed:
        await h.run("prepayment_top_up", energy_kwh=0.05)
    assert failed.value.reason == "invalid_arguments"
    assert "resolution" in str(failed.value)
    h.meter.resolutions["prepayment_alarm_limit"] = 1.0
    with pytest.raises(CommandFailed) as failed:
        await h.run("prepayment_alarm_limit", energy_kwh=7.5)
    assert failed.value.reason == "invalid_arguments"
    assert h.meter.writes == []


async def test_tariff_auto_must_read_back_a_real_tariff() -> None:
    h = Harness()
    h.meter.ignore_writes = True
    h.meter.values["actual_tariff"] = 0
    with pytest.raises(CommandFailed) as failed:
        await h.run("tariff", mode="auto")
    assert failed.value.reason == "readback_mismatch"
