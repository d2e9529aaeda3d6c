"""The command envelope on ``omnipower/<meter>/cmd/<name>`` and its optional HMAC signature.

Payload: ``{"id", "expires_at", "args", "sig"?}``. The signature is the lowercase hex
HMAC-SHA256 over the UTF-8 bytes of ``<topic>\\n<payload JSON without "sig", keys sorted, no
spaces>`` (docs/mqtt.md), so a signed command cannot be replayed on another meter's topic or
with other arguments.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

__all__ = ["CommandEnvelope", "canonical_bytes", "parse_envelope", "sign"]

MAX_ID_LENGTH: Final = 128
MAX_PAYLOAD: Final = 4096


class EnvelopeError(ValueError):
    """The payload is not a well-formed command; ``reason`` is the machine-readable code.

    ``meter``, ``command`` and ``command_id`` are whatever could be read before the fault, so
    the answer names the command its sender is waiting for (``None`` where unreadable).
    """

    def __init__(
        self,
        reason: str,
        text: str,
        *,
        meter: str | None = None,
        command: str | None = None,
        command_id: str | None = None,
    ) -> None:
        super().__init__(text)
        self.reason = reason
        self.meter = meter
        self.command = command
        self.command_id = command_id


@dataclass(frozen=True, slots=True)
class CommandEnvelope:
    """A parsed command message (not yet authorised)."""

    topic: str
    meter: str
    name: str
    id: str
    expires_at: datetime
    args: dict[str, Any]
    signature: str | None
    body: dict[str, Any]


def canonical_bytes(topic: str, body: dict[str, Any]) -> bytes:
    """What the signature covers: the topic, a newline, and the sorted compact JSON."""
    unsigned = {k: v for k, v in body.items() if k != "sig"}
    text = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{topic}\n{text}".encode()


def sign(topic: str, body: dict[str, Any], secret: bytes) -> str:
    """The ``sig`` a client puts in *body* for *topic*."""
    return hmac.new(secret, canonical_bytes(topic, body), hashlib.sha256).hexdigest()


def verify(envelope: CommandEnvelope, secret: bytes) -> bool:
    """Constant-time check of the envelope's signature; False for anything that is not one.

    Compared as bytes: ``hmac.compare_digest`` raises TypeError on a ``str`` with non-ASCII
    characters, and a body holding a lone surrogate has no UTF-8 form to sign.
    """
    if envelope.signature is None:
        return False
    try:
        expected = sign(envelope.topic, envelope.body, secret).encode("ascii")
        given = envelope.signature.encode("utf-8")
    except (UnicodeEncodeError, ValueError, RecursionError):
        return False
    return hmac.compare_digest(expected, given)


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError('"expires_at" must be an ISO 8601 string')
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f'"expires_at" {value[:40]!r} is not ISO 8601') from None
    if moment.tzinfo is None:
        raise ValueError('"expires_at" needs a UTC offset (e.g. "Z" or +01:00)')
    try:
        # In UTC at once: year 1 at +01:00 or year 9999 at -01:00 has no UTC form, and would
        # raise OverflowError at the first comparison with the clock instead of here.
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f'"expires_at" {value[:40]!r} is out of range') from None


def _readable_id(value: Any) -> str | None:
    """The id as a string that survives UTF-8 (to echo it), or None."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a JSON escape
        return None
    return value


def parse_envelope(topic: str, payload: bytes, *, base_topic: str = "omnipower") -> CommandEnvelope:
    """Check the shape of a command message; raises :class:`EnvelopeError` with a reason.

    Never raises anything else, whatever the bytes: a command that cannot be read is still
    answered (docs/mqtt.md), and the id, meter and command name are carried on the error as
    soon as they are known.
    """
    parts = topic.split("/")
    base = base_topic.split("/")
    if parts[: len(base)] != base or len(parts) != len(base) + 3 or parts[-2] != "cmd":
        raise EnvelopeError("malformed", f"{topic!r} is not {base_topic}/<meter>/cmd/<name>")
    meter, name = parts[len(base)], parts[-1]
    if len(payload) > MAX_PAYLOAD:
        raise EnvelopeError(
            "malformed", f"command payload over {MAX_PAYLOAD} bytes", meter=meter, command=name
        )
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError, UnicodeDecodeError and an integer over Python's
        # digit limit; RecursionError a payload nested deeper than the parser goes.
        raise EnvelopeError(
            "malformed", "command payload is not JSON", meter=meter, command=name
        ) from None
    if not isinstance(body, dict):
        raise EnvelopeError(
            "malformed", "command payload must be a JSON object", meter=meter, command=name
        )
    command_id = _readable_id(body.get("id"))

    def malformed(text: str) -> EnvelopeError:
        return EnvelopeError("malformed", text, meter=meter, command=name, command_id=command_id)

    unknown = set(body) - {"id", "expires_at", "args", "sig"}
    if unknown:
        listed = ", ".join(repr(key) for key in sorted(unknown)[:5])
        raise malformed(f"unknown fields: {listed}")
    if command_id is None:
        raise malformed(f'"id" must be a string of 1..{MAX_ID_LENGTH} characters')
    if "expires_at" not in body:
        raise malformed('"expires_at" is required')
    try:
        expires_at = _parse_time(body["expires_at"])
    except ValueError as exc:
        raise malformed(str(exc)) from None
    args = body.get("args", {})
    if not isinstance(args, dict):
        raise malformed('"args" must be an object')
    signature = body.get("sig")
    if signature is not None and not isinstance(signature, str):
        raise malformed('"sig" must be a hex string')
    return CommandEnvelope(topic, meter, name, command_id, expires_at, args, signature, body)
