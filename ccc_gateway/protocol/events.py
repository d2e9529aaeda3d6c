"""What the sans-I/O readers hand to the adapters: facts about the byte stream."""

from __future__ import annotations

from typing import TypeAlias

from ._record import record
from .errors import RemoteProtocolError
from .hdlc import HdlcFrame
from .push import Push

__all__ = ["Event", "FrameReceived", "FrameRejected", "PushReceived"]


@record
class FrameReceived:
    """A frame whose flags, length, HCS and FCS all checked out."""

    frame: HdlcFrame
    raw: bytes


@record
class FrameRejected:
    """Bytes that failed a check; decoding goes on at the next flag."""

    error: RemoteProtocolError
    raw: bytes


@record
class PushReceived:
    """A push that passed every integrity check (and the replay guard when ciphered)."""

    push: Push
    raw: bytes


Event: TypeAlias = FrameReceived | FrameRejected | PushReceived
