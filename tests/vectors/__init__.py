"""Load the copied vector set (see README.md beside this file for provenance)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


@cache
def vectors() -> dict[str, dict[str, Any]]:
    """Every vector by name."""
    entries = json.loads((HERE / "kamstrup_frames.json").read_text())
    return {entry["name"]: entry for entry in entries}


def frame(name: str) -> bytes:
    """The wire bytes of vector *name*."""
    return bytes.fromhex(vectors()[name]["hex"])


def key(name: str, which: str) -> bytes | None:
    """``encryption_key`` or ``authentication_key`` of a vector, if published."""
    value = vectors()[name][which]
    return bytes.fromhex(value) if value else None


def names(*kinds: str) -> list[str]:
    """Vector names whose kind starts with one of *kinds*."""
    return [n for n, v in vectors().items() if v["kind"].startswith(kinds)]


PUSH_VECTORS = names("ccc_push", "vendor_example")
HDLC_VECTORS = [n for n in PUSH_VECTORS + names("dlms_hdlc") if frame(n)[:1] == b"\x7e"]
PLAIN_HDLC_PUSHES = names("ccc_push_plain", "vendor_example")
RADIUS = "dk_radius_3ph_dlms_push1_gcm"
