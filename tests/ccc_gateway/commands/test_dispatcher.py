"""The dispatcher answers every command exactly once and never runs a stale one.

The executor here is scripted: the real one is the optical DLMS client against the emulator,
tested end to end elsewhere; these tests pin the ordering, expiry and answer rules.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ccc_gateway.commands.dispatcher import CommandDispatcher, CommandFailed, CommandResult
from ccc_gateway.commands.guard import AcceptedCommand, CommandGuard, MeterCommandPolicy

METER = "28046399"
TOPIC = f"omnipower/{METER}/cmd/breaker"


class Clock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment


class ScriptedMeter:
    """Executes breaker commands; can be told to refuse, to hang, or to block until released."""

    def __init__(self) -> None:
        self.executed: list[str] = []
        self.refuse = False
        self.hang = False
        self.gate: asyncio.Event | None = None

    async def execute(self, command: AcceptedCommand) -> Mapping[str, Any]:
        if self.gate is not None:
            await self.gate.wait()
        if self.hang:
            await asyncio.sleep(3600)
        if self.refuse:
            raise CommandFailed("meter_error", "the meter answered read-write-denied")
        self.executed.append(command.id)
        return {"state": "disconnected", "coupling_state": 5}


def make(
    meter: ScriptedMeter, clock: Clock, executors: bool = True
) -> tuple[CommandDispatcher, list[CommandResult]]:
    answers: list[CommandResult] = []
    guard = CommandGuard({METER: MeterCommandPolicy(frozenset({"breaker"}))})
    dispatcher = CommandDispatcher(
        guard, {METER: meter} if executors else {}, answers.append, now=clock
    )
    return dispatcher, answers


def command(clock: Clock, command_id: str = "c-1", seconds: float = 30) -> bytes:
    expires = clock.moment + timedelta(seconds=seconds)
    return json.dumps(
        {"id": command_id, "expires_at": expires.isoformat(), "args": {"action": "disconnect"}}
    ).encode()


async def settle(dispatcher: CommandDispatcher) -> None:
    for _ in range(20):
        await asyncio.sleep(0)
    await dispatcher.aclose()


async def test_accepted_then_done_with_the_read_back_state() -> None:
    meter, clock = ScriptedMeter(), Clock()
    dispatcher, answers = make(meter, clock)
    dispatcher.receive(TOPIC, command(clock), retained=False)
    await settle(dispatcher)
    assert [a.status for a in answers] == ["accepted", "done"]
    assert answers[1].state == {"state": "disconnected", "coupling_state": 5}
    assert answers[1].payload(clock.moment)["status"] == "done"
    assert meter.executed == ["c-1"]


async def test_a_repeated_id_runs_once() -> None:
    meter, clock = ScriptedMeter(), Clock()
    dispatcher, answers = make(meter, clock)
    dispatcher.receive(TOPIC, command(clock), retained=False)
    dispatcher.receive(TOPIC, command(clock), retained=False)
    await settle(dispatcher)
    assert meter.executed == ["c-1"]
    assert [(a.status, a.reason) for a in answers] == [
        ("accepted", None),
        ("rejected", "duplicate"),
        ("done", None),
    ]


async def test_retained_is_answered_and_never_executed() -> None:
    meter, clock = ScriptedMeter(), Clock()
    dispatcher, answers = make(meter, clock)
    dispatcher.receive(TOPIC, command(clock), retained=True)
    await settle(dispatcher)
    assert meter.executed == []
    assert [(a.status, a.reason, a.meter) for a in answers] == [("rejected", "retained", METER)]


async def test_expired_while_queued_never_reaches_the_meter() -> None:
    meter, clock = ScriptedMeter(), Clock()
    meter.gate = asyncio.Event()
    dispatcher, answers = make(meter, clock)
    dispatcher.receive(TOPIC, command(clock, "first", seconds=60), retained=False)
    dispatcher.receive(TOPIC, command(clock, "second", seconds=5), retained=False)
    await asyncio.sleep(0)
    clock.moment += timedelta(seconds=10)  # "second" expires while "first" holds the port
    meter.gate.set()
    await settle(dispatcher)
    assert meter.executed == ["first"]
    final = {a.id: (a.status, a.reason) for a in answers if a.status != "accepted"}
    assert final == {"first": ("done", None), "second": ("expired", "expired")}


async def test_refusal_and_timeout_are_failures_with_reasons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    meter, clock = ScriptedMeter(), Clock()
    meter.refuse = True
    dispatcher, answers = make(meter, clock)
    dispatcher.receive(TOPIC, command(clock, "refused"), retained=False)
    await settle(dispatcher)
    assert (answers[-1].status, answers[-1].reason) == ("failed", "meter_error")

    monkeypatch.setattr("ccc_gateway.commands.dispatcher.EXECUTION_TIMEOUT", 0.01)
    meter.refuse, meter.hang = False, True
    dispatcher.receive(TOPIC, command(clock, "hangs"), retained=False)
    await asyncio.sleep(0.1)
    await settle(dispatcher)
    assert (answers[-1].id, answers[-1].status, answers[-1].reason) == (
        "hangs",
        "failed",
        "timeout",
    )


async def test_no_executor_means_port_unavailable() -> None:
    meter, clock = ScriptedMeter(), Clock()
    dispatcher, answers = make(meter, clock, executors=False)
    dispatcher.receive(TOPIC, command(clock), retained=False)
    await settle(dispatcher)
    assert (answers[-1].status, answers[-1].reason) == ("failed", "port_unavailable")


async def test_own_results_are_ignored_and_garbage_is_answered() -> None:
    meter, clock = ScriptedMeter(), Clock()
    dispatcher, answers = make(meter, clock)
    dispatcher.receive(f"omnipower/{METER}/cmd/result", b'{"status": "done"}', retained=False)
    dispatcher.receive(TOPIC, b"\xff not json", retained=False)
    await settle(dispatcher)
    assert [(a.status, a.reason) for a in answers] == [("rejected", "malformed")]
    assert dispatcher.counters == {"rejected": 1, "rejected:malformed": 1}


async def test_shutdown_answers_queued_commands() -> None:
    meter, clock = ScriptedMeter(), Clock()
    meter.gate = asyncio.Event()
    dispatcher, answers = make(meter, clock)
    dispatcher.receive(TOPIC, command(clock, "a"), retained=False)
    dispatcher.receive(TOPIC, command(clock, "b"), retained=False)
    await asyncio.sleep(0)
    await dispatcher.aclose()
    assert meter.executed == []
    final = [(a.id, a.status, a.reason) for a in answers if a.status != "accepted"]
    assert sorted(final) == [("a", "failed", "shutdown"), ("b", "failed", "shutdown")]


async def test_a_command_queued_at_shutdown_may_be_resent_with_its_id() -> None:
    """ "b" never reached the meter, so its id is not spent; "a" was running: it stays spent."""
    meter, clock = ScriptedMeter(), Clock()
    meter.gate = asyncio.Event()
    dispatcher, answers = make(meter, clock)
    dispatcher.receive(TOPIC, command(clock, "a"), retained=False)
    dispatcher.receive(TOPIC, command(clock, "b"), retained=False)
    await asyncio.sleep(0)
    await dispatcher.aclose()
    meter.gate.set()
    dispatcher.receive(TOPIC, command(clock, "a"), retained=False)
    dispatcher.receive(TOPIC, command(clock, "b"), retained=False)
    await settle(dispatcher)
    assert meter.executed == ["b"]
    assert [(a.id, a.reason) for a in answers[-3:]] == [
        ("a", "duplicate"),
        ("b", None),
        ("b", None),
    ]


def test_every_answer_matches_the_contract() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(
        (Path(__file__).parents[3] / "docs" / "schemas" / "cmd_result.schema.json").read_text()
    )
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    reasons = (None, "meter_error", "readback_mismatch", "port_unavailable", "timeout")
    reasons += ("shutdown", "internal_error", "busy", "expired", "malformed")
    for reason in reasons:
        status = "done" if reason is None else "failed"
        result = CommandResult(METER, "c-1", "breaker", status, reason, "text", {"state": "x"})
        jsonschema.validate(result.payload(now), schema)


async def test_answers_are_counted_per_meter_for_its_diagnostics() -> None:
    meter, clock = ScriptedMeter(), Clock()
    dispatcher, _ = make(meter, clock)
    dispatcher.receive(TOPIC, command(clock), retained=False)
    dispatcher.receive(TOPIC, command(clock), retained=False)
    dispatcher.receive(TOPIC, b"{", retained=False)
    await settle(dispatcher)
    assert dispatcher.meter_counters == {
        METER: {"done": 1, "rejected": 2, "rejected:duplicate": 1, "rejected:malformed": 1}
    }
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(
        (Path(__file__).parents[3] / "docs" / "schemas" / "diagnostics.schema.json").read_text()
    )
    jsonschema.validate(dispatcher.meter_counters[METER], schema["properties"]["commands"])
