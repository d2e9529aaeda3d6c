"""Whatever arrives on a command topic is answered exactly once, and nothing raises.

Hypothesis builds JSON-ish command payloads (envelope-shaped objects with wrong, huge, non-ASCII,
non-finite or missing values, extra fields, lone surrogates) and raw bytes, and feeds them to the
real guard and dispatcher with a scripted meter. Invariant: ``receive`` never raises, every
message gets exactly one final answer (after ``accepted`` when it was accepted), every answer
encodes as UTF-8 JSON valid against the cmd_result schema, and a readable id is echoed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from ccc_gateway.commands.dispatcher import CommandDispatcher, CommandFailed, CommandResult
from ccc_gateway.commands.envelope import sign
from ccc_gateway.commands.guard import AcceptedCommand, CommandGuard, MeterCommandPolicy
from ccc_gateway.mqtt.payloads import dumps

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
METER = "28046399"
SECRET = b"correct horse battery staple"
NAMES = (
    "breaker",
    "relay",
    "tariff",
    "prepayment_top_up",
    "prepayment_alarm_limit",
    "clock_sync",
    "read_load_profile",
    "refresh",
    "explode",
)
SCHEMA = json.loads(
    (Path(__file__).parents[3] / "docs" / "schemas" / "cmd_result.schema.json").read_text()
)
FINAL = {"done", "rejected", "failed", "expired"}

odd_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["\ud800", "é" * 64, "\x00", "A" * 64, "ff" * 32, "9" * 400, ""]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**64, 1.0, 7.5, 0.05]),
    st.floats(allow_nan=True, allow_infinity=True),
    odd_text,
)
json_ish = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=12,
)
good_args = st.sampled_from(
    [
        {"action": "disconnect"},
        {"action": "reconnect"},
        {"relay": 1, "on": True},
        {"relay": 1.0, "on": True},
        {"mode": "auto"},
        {"mode": "force", "tariff": 3},
        {"energy_kwh": 7},
        {"energy_kwh": 7.5},
        {"from": "2026-11-26T00:00:00+01:00"},
        {},
    ]
)
times = st.sampled_from(
    [
        (NOW + timedelta(seconds=30)).isoformat(),
        (NOW - timedelta(seconds=30)).isoformat(),
        (NOW + timedelta(hours=3)).isoformat(),
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "2026-11-26T12:00:30",
        "tomorrow",
    ]
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.sampled_from(["c-1", "c-2"]), scalars),
        "expires_at": st.one_of(times, scalars),
        "args": st.one_of(good_args, json_ish),
        "sig": st.one_of(st.just("<sign>"), scalars),
        "extra": json_ish,
    },
)

#: Mostly right, so that the accepted path (and the executor's answers) is exercised too.
near_valid = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["c-1", "fail-1", "xbug-1", "é-1"]),
        "expires_at": times,
        "args": good_args,
    },
    optional={"sig": st.sampled_from(["<sign>", "é" * 64, "0" * 64])},
)
mostly_live = st.sampled_from([False, False, False, True])


class Meter:
    """Succeeds, refuses or crashes by the command's id (a scripted stand-in for the port)."""

    def __init__(self) -> None:
        self.executed: list[str] = []

    async def execute(self, command: AcceptedCommand) -> Mapping[str, Any]:
        self.executed.append(command.id)
        if command.id.startswith("f"):
            raise CommandFailed("meter_error", "refused")
        if command.id.startswith("x"):
            raise RuntimeError("executor bug")
        return {"ok": True}


def encode(body: Any, topic: str) -> bytes:
    if isinstance(body, dict) and body.get("sig") == "<sign>":
        # A lone surrogate has no UTF-8 form to sign: then it is sent with the junk "sig".
        with contextlib.suppress(UnicodeEncodeError):
            body = body | {"sig": sign(topic, body, SECRET)}
    return json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass")


async def feed(topic: str, payload: bytes, *, retained: bool, secret: bool) -> list[CommandResult]:
    answers: list[CommandResult] = []
    guard = CommandGuard(
        {METER: MeterCommandPolicy(frozenset(NAMES))}, secret=SECRET if secret else None
    )
    dispatcher = CommandDispatcher(guard, {METER: Meter()}, answers.append, now=lambda: NOW)
    dispatcher.receive(topic, payload, retained=retained)
    for _ in range(10):
        await asyncio.sleep(0)
    await dispatcher.aclose(grace=1.0)
    return answers


def check_answers(answers: list[CommandResult], readable_id: str | None) -> None:
    statuses = [a.status for a in answers]
    event(" ".join(statuses + [a.reason or "" for a in answers]))
    assert statuses in ([s] for s in FINAL - {"done", "failed"}) or statuses in (
        [["accepted", s] for s in ("done", "failed")]
    ), statuses
    jsonschema = pytest.importorskip("jsonschema")
    for answer in answers:
        payload = json.loads(dumps(answer.payload(NOW)))  # encodes: no lone surrogate left
        jsonschema.validate(payload, SCHEMA)
        assert answer.meter == METER
        if readable_id is not None:
            assert answer.id == readable_id


def readable(body: Any) -> str | None:
    if isinstance(body, dict):
        value = body.get("id")
        if isinstance(value, str) and 0 < len(value) <= 128:
            try:
                value.encode()
            except UnicodeEncodeError:
                return None
            return value
    return None


@settings(max_examples=400, deadline=None)
@given(
    body=st.one_of(near_valid, envelopes, json_ish),
    name=st.sampled_from(NAMES),
    retained=mostly_live,
    secret=st.booleans(),
)
@example(
    body={"id": "c-1", "expires_at": "x", "sig": "é" * 64},
    name="breaker",
    retained=False,
    secret=True,
)
@example(
    body={
        "id": "c-1",
        "expires_at": (NOW + timedelta(seconds=30)).isoformat(),
        "args": {"relay": 10**400, "on": True},
    },
    name="relay",
    retained=False,
    secret=False,
)
def test_any_json_is_answered_exactly_once(
    body: Any, name: str, retained: bool, secret: bool
) -> None:
    topic = f"omnipower/{METER}/cmd/{name}"
    answers = asyncio.run(feed(topic, encode(body, topic), retained=retained, secret=secret))
    check_answers(answers, readable(body))


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(min_size=1, max_size=5000), retained=mostly_live)
@example(payload=b"\xff\xfe{", retained=False)
@example(payload=b"[" * 3000, retained=False)
def test_any_bytes_are_answered_exactly_once(payload: bytes, retained: bool) -> None:
    topic = f"omnipower/{METER}/cmd/breaker"
    answers = asyncio.run(feed(topic, payload, retained=retained, secret=False))
    check_answers(answers, None)


def test_every_accepted_command_is_final_answered_even_when_the_executor_crashes() -> None:
    topic = f"omnipower/{METER}/cmd/refresh"
    for command_id, status in (("ok", "done"), ("fail", "failed"), ("xbug", "failed")):
        body = {"id": command_id, "expires_at": (NOW + timedelta(seconds=30)).isoformat()}
        answers = asyncio.run(feed(topic, encode(body, topic), retained=False, secret=False))
        assert [a.status for a in answers] == ["accepted", status]
