"""The command signature of the contract (docs/mqtt.md, "Commands").

``sig`` is the lowercase hex HMAC-SHA256 over ``<topic>\\n<payload without sig, keys sorted,
compact>``: the topic is covered, so a signed command cannot be replayed to another meter.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any


def canonical_bytes(topic: str, body: dict[str, Any]) -> bytes:
    """What the signature covers."""
    unsigned = {key: value for key, value in body.items() if key != "sig"}
    text = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{topic}\n{text}".encode()


def sign(topic: str, body: dict[str, Any], secret: bytes) -> str:
    """The ``sig`` of *body* on *topic*."""
    return hmac.new(secret, canonical_bytes(topic, body), hashlib.sha256).hexdigest()
