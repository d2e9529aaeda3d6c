"""The command guard: every rule of docs/mqtt.md, Commands before a command may reach the meter.

Order of checks, each with its own rejection reason: retained → malformed → unknown meter →
command not enabled for this meter → expired (or too far ahead) → signature → duplicate id →
arguments. An accepted id is remembered (:mod:`.seen_ids`, on disk in the service) until
MAX_LIFETIME after its expiry: by then a resend is refused as expired anyway (and a signed
command cannot change its expiry), so memory stays bounded by the commands live at one time.

:meth:`CommandGuard.check` raises :class:`CommandRejected` and nothing else, whatever the bytes:
every message is answered, with its id whenever the id could be read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from ..protocol.errors import OmnipowerError
from .arguments import ArgumentInvalid, validate_arguments
from .envelope import CommandEnvelope, EnvelopeError, parse_envelope, verify
from .seen_ids import SeenIds, SeenIdsUnavailable

__all__ = ["AcceptedCommand", "CommandGuard", "CommandRejected", "MeterCommandPolicy"]

#: A command valid for longer than this is refused: a long-lived command is a replay waiting.
MAX_LIFETIME: Final = timedelta(minutes=10)
#: Live ids remembered at most; past this, new commands are refused rather than forgetting.
MAX_LIVE_IDS: Final = 10_000


_LOGGER = logging.getLogger(__name__)


class CommandRejected(OmnipowerError):
    """A command that must not run. ``status`` is "rejected" or "expired"."""

    def __init__(
        self,
        reason: str,
        text: str,
        *,
        status: str = "rejected",
        command_id: str | None = None,
        command: str | None = None,
        meter: str | None = None,
    ) -> None:
        super().__init__(text)
        self.reason = reason
        self.code = reason
        self.status = status
        self.command_id = command_id
        self.command = command
        self.meter = meter


@dataclass(frozen=True, slots=True)
class MeterCommandPolicy:
    """What a meter allows: commands are off unless listed here (gateway config)."""

    allowed: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class AcceptedCommand:
    """A command that passed every check; the service executes and confirms it."""

    meter: str
    name: str
    id: str
    expires_at: datetime
    args: dict[str, Any]


@dataclass(slots=True)
class CommandGuard:
    """Validates and de-duplicates commands. Pure: *now* is passed in; *seen* is the record of
    accepted ids (in memory by default; the service passes a :class:`.FileSeenIds`)."""

    policies: Mapping[str, MeterCommandPolicy]
    secret: bytes | None = None
    base_topic: str = "omnipower"
    seen: SeenIds = field(default_factory=SeenIds)

    def check(
        self, *, topic: str, payload: bytes, retained: bool, now: datetime
    ) -> AcceptedCommand:
        """The accepted command, or :class:`CommandRejected` with the reason (never another
        exception: a bug here still becomes an answer, ``internal_error``)."""
        try:
            return self._check(topic=topic, payload=payload, retained=retained, now=now)
        except CommandRejected:
            raise
        except Exception as exc:
            _LOGGER.exception("the command guard failed on %s; please report it", topic)
            raise CommandRejected("internal_error", type(exc).__name__) from None

    def _check(
        self, *, topic: str, payload: bytes, retained: bool, now: datetime
    ) -> AcceptedCommand:
        if retained:
            # Never executed; the id is still worth naming so the sender can match the answer.
            try:
                stale = parse_envelope(topic, payload, base_topic=self.base_topic)
            except EnvelopeError as exc:
                raise CommandRejected(
                    "retained",
                    "retained commands are never executed",
                    command_id=exc.command_id,
                    command=exc.command,
                    meter=exc.meter,
                ) from None
            raise CommandRejected(
                "retained",
                "retained commands are never executed",
                command_id=stale.id,
                command=stale.name,
                meter=stale.meter,
            )
        try:
            envelope = parse_envelope(topic, payload, base_topic=self.base_topic)
        except EnvelopeError as exc:
            raise CommandRejected(
                exc.reason,
                str(exc),
                command_id=exc.command_id,
                command=exc.command,
                meter=exc.meter,
            ) from None
        ids = {"command_id": envelope.id, "command": envelope.name, "meter": envelope.meter}
        policy = self.policies.get(envelope.meter)
        if policy is None:
            raise CommandRejected("unknown_meter", f"no meter {envelope.meter} here", **ids)
        if envelope.name not in policy.allowed:
            raise CommandRejected(
                "not_allowed",
                f"{envelope.name!r} is not enabled for meter {envelope.meter} in the gateway "
                "configuration",
                **ids,
            )
        self.seen.forget_expired(now)
        if envelope.expires_at <= now:
            raise CommandRejected(
                "expired", "the command expired before it arrived", status="expired", **ids
            )
        if envelope.expires_at - now > MAX_LIFETIME:
            raise CommandRejected(
                "expiry_too_far", f"expires_at may be at most {MAX_LIFETIME} ahead", **ids
            )
        self._check_signature(envelope, ids)
        key = (envelope.meter, envelope.id)
        if key in self.seen:
            raise CommandRejected("duplicate", "this command id was already received", **ids)
        refused_until = self.seen.refused_until()
        if refused_until is not None and envelope.expires_at < refused_until:
            raise CommandRejected(
                "state_unavailable",
                "the record of earlier command ids was damaged, so this one may have run "
                f"before; commands expiring before {refused_until.isoformat()} are refused",
                **ids,
            )
        if len(self.seen) >= MAX_LIVE_IDS:
            raise CommandRejected("busy", "too many live commands; retry later", **ids)
        try:
            args = validate_arguments(envelope.name, envelope.args)
        except ArgumentInvalid as exc:
            raise CommandRejected("invalid_arguments", str(exc), **ids) from None
        # Remember the id only once accepted (a rejected attempt may be corrected and resent),
        # and before the command can run: on disk first, then executed.
        try:
            self.seen.remember(envelope.meter, envelope.id, envelope.expires_at + MAX_LIFETIME)
        except SeenIdsUnavailable as exc:
            raise CommandRejected("state_unavailable", str(exc), **ids) from None
        return AcceptedCommand(
            envelope.meter, envelope.name, envelope.id, envelope.expires_at, args
        )

    def release(self, command: AcceptedCommand) -> None:
        """*command* was answered without reaching the meter: its id may be used again."""
        self.seen.forget(command.meter, command.id)

    def _check_signature(self, envelope: CommandEnvelope, ids: dict[str, Any]) -> None:
        if self.secret is None:
            return
        if envelope.signature is None:
            raise CommandRejected("unsigned", "this gateway requires signed commands", **ids)
        if not verify(envelope, self.secret):
            raise CommandRejected("bad_signature", "the signature does not verify", **ids)
