"""The command envelope on ``omnipower/<meter>/cmd/<name>`` and its optional HMAC signature.

Payload: ``{"id", "expires_at", "args", "sig"?}``. The signature is the lowercase hex
HMAC-SHA256 over the UTF-8 bytes of ``<topic>\\n<payload JSON without "sig", keys sorted, no
spaces>`` (DESIGN.md 4), so a signed command cannot be replayed on another meter's topic or
with other arguments.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

__all__ = ["CommandEnvelope", "canonical_bytes", "parse_envelope", "sign"]

MAX_ID_LENGTH: Final = 128
MAX_PAYLOAD: Final = 4096


class EnvelopeError(ValueError):
    """The payload is not a well-formed command; ``reason`` is the machine-readable code."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(text)
        self.reason = reason


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
    """Constant-time check of the envelope's signature."""
    if envelope.signature is None:
        return False
    expected = sign(envelope.topic, envelope.body, secret)
    return hmac.compare_digest(expected, envelope.signature)


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise EnvelopeError("malformed", '"expires_at" must be an ISO 8601 string')
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise EnvelopeError("malformed", f'"expires_at" {value[:40]!r} is not ISO 8601') from None
    if moment.tzinfo is None:
        raise EnvelopeError("malformed", '"expires_at" needs a UTC offset (e.g. "Z" or +01:00)')
    return moment


def parse_envelope(topic: str, payload: bytes, *, base_topic: str = "omnipower") -> CommandEnvelope:
    """Check the shape of a command message; raises :class:`EnvelopeError` with a reason."""
    parts = topic.split("/")
    base = base_topic.split("/")
    if parts[: len(base)] != base or len(parts) != len(base) + 3 or parts[-2] != "cmd":
        raise EnvelopeError("malformed", f"{topic!r} is not {base_topic}/<meter>/cmd/<name>")
    meter, name = parts[len(base)], parts[-1]
    if len(payload) > MAX_PAYLOAD:
        raise EnvelopeError("malformed", f"command payload over {MAX_PAYLOAD} bytes")
    try:
        body = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise EnvelopeError("malformed", "command payload is not JSON") from None
    if not isinstance(body, dict):
        raise EnvelopeError("malformed", "command payload must be a JSON object")
    unknown = set(body) - {"id", "expires_at", "args", "sig"}
    if unknown:
        raise EnvelopeError("malformed", f"unknown fields: {', '.join(sorted(unknown))}")
    command_id = body.get("id")
    if not isinstance(command_id, str) or not 0 < len(command_id) <= MAX_ID_LENGTH:
        raise EnvelopeError("malformed", f'"id" must be a string of 1..{MAX_ID_LENGTH} characters')
    if "expires_at" not in body:
        raise EnvelopeError("malformed", '"expires_at" is required')
    expires_at = _parse_time(body["expires_at"])
    args = body.get("args", {})
    if not isinstance(args, dict):
        raise EnvelopeError("malformed", '"args" must be an object')
    signature = body.get("sig")
    if signature is not None and not isinstance(signature, str):
        raise EnvelopeError("malformed", '"sig" must be a hex string')
    return CommandEnvelope(topic, meter, name, command_id, expires_at, args, signature, body)
