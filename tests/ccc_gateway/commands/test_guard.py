"""The command guard: only fresh, allowed, signed, well-formed, first-seen commands pass."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccc_gateway.commands.envelope import canonical_bytes, sign
from ccc_gateway.commands.guard import CommandGuard, CommandRejected, MeterCommandPolicy

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
METER = "28046399"
TOPIC = f"omnipower/{METER}/cmd/breaker"
SECRET = b"correct horse battery staple"
ALL = frozenset(
    {
        "breaker",
        "relay",
        "tariff",
        "prepayment_top_up",
        "prepayment_alarm_limit",
        "clock_sync",
        "read_load_profile",
        "refresh",
    }
)


def guard(secret: bytes | None = None, allowed: frozenset[str] = ALL) -> CommandGuard:
    return CommandGuard({METER: MeterCommandPolicy(allowed)}, secret=secret)


def body(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "c-1",
        "expires_at": (NOW + timedelta(seconds=30)).isoformat(),
        "args": {"action": "disconnect"},
    }
    return base | overrides


def payload(data: dict[str, Any], topic: str = TOPIC, secret: bytes | None = None) -> bytes:
    if secret is not None:
        data = data | {"sig": sign(topic, data, secret)}
    return json.dumps(data).encode()


def reject(
    g: CommandGuard, raw: bytes, *, topic: str = TOPIC, retained: bool = False, now: datetime = NOW
) -> CommandRejected:
    with pytest.raises(CommandRejected) as info:
        g.check(topic=topic, payload=raw, retained=retained, now=now)
    return info.value


def test_a_good_command_is_accepted_once() -> None:
    g = guard()
    accepted = g.check(topic=TOPIC, payload=payload(body()), retained=False, now=NOW)
    assert (accepted.meter, accepted.name, accepted.args) == (
        METER,
        "breaker",
        {"action": "disconnect"},
    )
    assert reject(g, payload(body())).reason == "duplicate"


def test_retained_never_runs() -> None:
    assert reject(guard(), payload(body()), retained=True).reason == "retained"


def test_expired() -> None:
    rejected = reject(guard(), payload(body(expires_at=(NOW - timedelta(seconds=1)).isoformat())))
    assert (rejected.reason, rejected.status, rejected.command_id) == ("expired", "expired", "c-1")


def test_expiry_far_ahead_is_refused() -> None:
    later = (NOW + timedelta(hours=2)).isoformat()
    assert reject(guard(), payload(body(expires_at=later))).reason == "expiry_too_far"


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        json.dumps({"expires_at": NOW.isoformat()}).encode(),
        json.dumps(body(id="")).encode(),
        json.dumps(body(expires_at="tomorrow")).encode(),
        json.dumps(body(expires_at="2026-11-24T12:00:30")).encode(),  # no offset
        json.dumps(body(args=[1])).encode(),
        json.dumps(body(extra=1)).encode(),
        b"{" + b" " * 5000 + b"}",
    ],
)
def test_malformed(raw: bytes) -> None:
    assert reject(guard(), raw).reason == "malformed"


def test_unknown_meter_and_bad_topic() -> None:
    assert (
        reject(
            guard(), payload(body(), "omnipower/999/cmd/breaker"), topic="omnipower/999/cmd/breaker"
        ).reason
        == "unknown_meter"
    )
    assert reject(guard(), payload(body()), topic="omnipower/x/breaker").reason == "malformed"


def test_commands_are_off_unless_enabled() -> None:
    rejected = reject(guard(allowed=frozenset({"refresh"})), payload(body()))
    assert rejected.reason == "not_allowed"
    assert "gateway configuration" in str(rejected)


def test_signature_required_when_a_secret_is_configured() -> None:
    g = guard(secret=SECRET)
    assert reject(g, payload(body())).reason == "unsigned"
    assert reject(g, payload(body(), secret=b"wrong")).reason == "bad_signature"
    g.check(topic=TOPIC, payload=payload(body(), secret=SECRET), retained=False, now=NOW)


def test_signature_binds_the_topic() -> None:
    """A command signed for one meter's breaker cannot be replayed on another topic."""
    other = "omnipower/11111111/cmd/breaker"
    g = CommandGuard(
        {METER: MeterCommandPolicy(ALL), "11111111": MeterCommandPolicy(ALL)}, secret=SECRET
    )
    signed_for_meter = payload(body(), secret=SECRET)
    assert reject(g, signed_for_meter, topic=other).reason == "bad_signature"


def test_canonical_form_matches_the_contract() -> None:
    data = {"id": "x", "args": {"b": 1, "a": 2}, "expires_at": "2026-01-01T00:00:00Z", "sig": "f"}
    assert canonical_bytes("t/cmd/relay", data) == (
        b't/cmd/relay\n{"args":{"a":2,"b":1},"expires_at":"2026-01-01T00:00:00Z","id":"x"}'
    )


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("breaker", {"action": "explode"}),
        ("breaker", {}),
        ("relay", {"relay": 3, "on": True}),
        ("relay", {"relay": 1, "on": "yes"}),
        ("relay", {"relay": True, "on": True}),
        ("tariff", {"mode": "force", "tariff": 5}),
        ("tariff", {"mode": "auto", "tariff": 1}),
        ("prepayment_top_up", {"energy_kwh": -1}),
        ("prepayment_top_up", {"energy_kwh": float("nan")}),
        ("prepayment_top_up", {"energy_kwh": 1e9}),
        ("prepayment_alarm_limit", {}),
        ("clock_sync", {"now": 1}),
        (
            "read_load_profile",
            {"from": "2026-01-02T00:00:00+00:00", "to": "2026-01-01T00:00:00+00:00"},
        ),
        ("refresh", {"x": 1}),
    ],
)
def test_invalid_arguments(name: str, args: dict[str, Any]) -> None:
    topic = f"omnipower/{METER}/cmd/{name}"
    raw = json.dumps(body(args=args), allow_nan=True).encode()
    assert reject(guard(), raw, topic=topic).reason == "invalid_arguments"


def test_rejected_command_may_be_corrected_and_resent() -> None:
    g = guard()
    reject(g, payload(body(args={"action": "explode"})))
    g.check(topic=TOPIC, payload=payload(body()), retained=False, now=NOW)


def test_memory_of_ids_is_bounded_by_time() -> None:
    g = guard()
    g.check(topic=TOPIC, payload=payload(body()), retained=False, now=NOW)
    much_later = NOW + timedelta(hours=1)
    fresh = body(expires_at=(much_later + timedelta(seconds=30)).isoformat(), id="c-2")
    g.check(topic=TOPIC, payload=payload(fresh), retained=False, now=much_later)
    assert len(g.seen) == 1  # the first id was forgotten after its window


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 255))
def test_a_tampered_signed_command_never_passes_as_something_else(
    position: int, value: int
) -> None:
    original = body(args={"action": "release"})
    raw = bytearray(payload(original, secret=SECRET))
    raw[position % len(raw)] = value
    try:
        accepted = guard(secret=SECRET).check(
            topic=TOPIC, payload=bytes(raw), retained=False, now=NOW
        )
    except CommandRejected:
        return
    # Only an edit that leaves the meaning intact (e.g. white space) may still verify.
    assert (accepted.id, accepted.args) == ("c-1", {"action": "release"})


@pytest.mark.parametrize(
    "sig",
    ["é" * 64, "\u20ac", "ab\x00cd", "A" * 64, "", "ff" * 33],
    ids=["non-ascii", "euro", "nul", "upper-hex", "empty", "too-long"],
)
def test_a_signature_that_is_not_lowercase_hex_is_bad_not_a_crash(sig: str) -> None:
    """compare_digest raises TypeError on non-ASCII str: the guard must answer instead."""
    rejected = reject(guard(secret=SECRET), payload(body(sig=sig)))
    assert (rejected.reason, rejected.command_id) == ("bad_signature", "c-1")


def test_a_lone_surrogate_in_the_body_is_a_bad_signature() -> None:
    raw = payload(body(args={"action": "disconnect"}), secret=SECRET)
    raw = raw.replace(b'"disconnect"', b'"\\ud800"')
    assert reject(guard(secret=SECRET), raw).reason == "bad_signature"


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("relay", {"relay": 1.0, "on": True}),
        ("relay", {"relay": 10**400, "on": True}),
        ("tariff", {"mode": "force", "tariff": 3.0}),
        ("tariff", {"mode": "force", "tariff": True}),
        ("prepayment_top_up", {"energy_kwh": 10**400}),
        ("prepayment_top_up", {"energy_kwh": -(10**400)}),
        ("prepayment_alarm_limit", {"energy_kwh": 10**400}),
        ("prepayment_alarm_limit", {"energy_kwh": 7.5}),
        ("prepayment_alarm_limit", {"energy_kwh": True}),
        ("read_load_profile", {"from": "0001-01-01T00:00:00+01:00"}),
        ("read_load_profile", {"from": "9999-12-31T23:59:59-01:00"}),
    ],
)
def test_arguments_never_raise_and_integers_are_integers(name: str, args: dict[str, Any]) -> None:
    topic = f"omnipower/{METER}/cmd/{name}"
    rejected = reject(guard(), json.dumps(body(args=args)).encode(), topic=topic)
    assert (rejected.reason, rejected.command_id, rejected.command) == (
        "invalid_arguments",
        "c-1",
        name,
    )


def test_a_fractional_alarm_limit_names_the_resolution() -> None:
    topic = f"omnipower/{METER}/cmd/prepayment_alarm_limit"
    raw = json.dumps(body(args={"energy_kwh": 7.5})).encode()
    assert "resolution of 1 kWh" in str(reject(guard(), raw, topic=topic))
    accepted = guard().check(
        topic=topic,
        payload=json.dumps(body(args={"energy_kwh": 7.0})).encode(),
        retained=False,
        now=NOW,
    )
    assert accepted.args == {"energy_kwh": 7.0}


@pytest.mark.parametrize(
    "overrides",
    [
        {"extra": 1},
        {"expires_at": "tomorrow"},
        {"expires_at": "0001-01-01T00:00:00+01:00"},
        {"expires_at": "9999-12-31T23:59:59-01:00"},
        {"args": [1]},
        {"sig": 5},
    ],
)
def test_a_malformed_command_with_a_readable_id_echoes_it(overrides: dict[str, Any]) -> None:
    rejected = reject(guard(), json.dumps(body(**overrides)).encode())
    assert (rejected.reason, rejected.command_id, rejected.command, rejected.meter) == (
        "malformed",
        "c-1",
        "breaker",
        METER,
    )


def test_an_unreadable_id_is_not_echoed() -> None:
    for raw in (
        json.dumps(body(id=5)).encode(),
        json.dumps(body(id="x" * 129)).encode(),
        json.dumps(body(id="\ud800")).encode(),
        b"[1]",
        b'{"id": "c-1", "n": ' + b"9" * 5000 + b"}",
    ):
        rejected = reject(guard(), raw)
        assert (rejected.reason, rejected.command_id, rejected.meter) == ("malformed", None, METER)


def test_a_retained_malformed_command_still_names_what_it_can() -> None:
    rejected = reject(guard(), json.dumps(body(extra=1)).encode(), retained=True)
    assert (rejected.reason, rejected.command_id, rejected.meter) == ("retained", "c-1", METER)


def test_a_bug_in_a_check_becomes_internal_error_not_an_exception() -> None:
    class Broken(dict[str, MeterCommandPolicy]):
        def get(self, key: Any, default: Any = None) -> Any:
            raise RuntimeError("boom")

    g = CommandGuard(Broken())
    assert reject(g, payload(body())).reason == "internal_error"
