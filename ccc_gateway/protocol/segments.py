"""Reassembly of HDLC-segmented information fields (the S bit, Green Book 8.4.1.3).

A long APDU travels in several frames: every one but the last has S = 1, and only the first
carries the LLC header. OMNIPOWER pushes are never segmented ([NVE] 2.5.2), but nothing in a
frame promises that, so the push path reassembles too. Bounded: a sender that never clears
the S bit cannot make us buffer without end.
"""

from __future__ import annotations

from typing import Final

from .errors import FrameTooLong, InvalidFrameFormat
from .hdlc import HdlcAddress, HdlcFrame

__all__ = ["MAX_APDU_LENGTH", "Reassembler"]

#: Largest reassembled information field accepted (a profile read rarely exceeds a few kB).
MAX_APDU_LENGTH: Final = 65_535


class Reassembler:
    """Feed checked frames; get each complete information field once its last segment came."""

    def __init__(self, *, max_length: int = MAX_APDU_LENGTH) -> None:
        self._max_length = max_length
        self._parts: list[bytes] = []
        self._size = 0
        self._route: tuple[HdlcAddress, HdlcAddress] | None = None

    @property
    def pending(self) -> bool:
        """Whether segments are waiting for their last one."""
        return bool(self._parts)

    def reset(self) -> None:
        """Drop a half-received APDU (after an error or a timeout)."""
        self._parts.clear()
        self._size = 0
        self._route = None

    def feed(self, frame: HdlcFrame) -> bytes | None:
        """The complete information field, or None while segments are still coming.

        Raises InvalidFrameFormat when a segment comes from another sender than the ones
        before it, and FrameTooLong past the bound; either way the partial APDU is dropped.
        """
        route = (frame.destination, frame.source)
        if self._parts and route != self._route:
            self.reset()
            raise InvalidFrameFormat("a segment from another address interrupted a segmented APDU")
        if not frame.segmented and not self._parts:
            return frame.information
        self._size += len(frame.information)
        if self._size > self._max_length:
            self.reset()
            raise FrameTooLong(f"segmented APDU exceeds {self._max_length} bytes")
        self._parts.append(frame.information)
        self._route = route
        if frame.segmented:
            return None
        complete = b"".join(self._parts)
        self.reset()
        return complete
