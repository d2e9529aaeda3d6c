"""Sans-I/O HDLC framing of a byte stream: chunks in, checked frames and named errors out.

Rules ([GB] 8.4): frames are delimited by their length field, not by flags, because
OMNIPOWER does no octet stuffing. After anything wrong the reader resynchronises on the next
flag, so one bad frame never costs the next. The header check (HCS) runs as soon as the
header has arrived, so a corrupt length cannot make the reader swallow the following frame.
A header whose HCS verifies but whose length runs past where the next frame begins (a
complete frame, HCS and FCS verified, opens at a later flag) is cut there while the reader
would otherwise still be waiting, so the good frame behind it is not lost to the next pause.
The buffer never holds more than one maximal frame.
"""

from __future__ import annotations

from typing import Final

from .crc import crc16_x25
from .errors import (
    FrameTooLong,
    FrameTruncated,
    HcsError,
    InvalidFrameFormat,
    RemoteProtocolError,
)
from .events import FrameReceived, FrameRejected
from .hdlc import FLAG, MIN_FRAME_LENGTH, parse_frame

__all__ = ["DEFAULT_MAX_FRAME_LENGTH", "FrameReader"]

#: 1010-byte information field ([NVE] 2.5.2, [DLMS] 2.5) plus the largest header: anything
#: longer on an OMNIPOWER port means we lost sync.
DEFAULT_MAX_FRAME_LENGTH: Final = 1010 + 20


class FrameReader:
    """Feed arbitrary chunks; get every complete frame or error, in stream order."""

    def __init__(self, *, max_length: int = DEFAULT_MAX_FRAME_LENGTH) -> None:
        self._buffer = bytearray()
        self._max_length = max_length
        #: Bytes thrown away outside any frame (line noise, a reader started mid-frame).
        self.discarded_bytes = 0

    @property
    def buffered(self) -> int:
        """Bytes waiting for the rest of a frame."""
        return len(self._buffer)

    def receive_data(self, data: bytes) -> list[FrameReceived | FrameRejected]:
        """Every frame and error completed by *data*."""
        self._buffer += data
        events: list[FrameReceived | FrameRejected] = []
        buf = self._buffer
        while True:
            start = buf.find(FLAG)
            if start < 0:
                self.discarded_bytes += len(buf)
                buf.clear()
                break
            if start:
                self.discarded_bytes += start
                del buf[:start]
            if len(buf) < 3:
                break
            if buf[1] == FLAG:  # idle flags, or the previous frame's closing flag
                del buf[0]
                continue
            if buf[1] >> 4 != 0xA:  # a 0x7E that does not open a type-3 frame
                self.discarded_bytes += 1
                del buf[0]
                continue
            length = ((buf[1] & 0x07) << 8) | buf[2]
            if length > self._max_length:
                events.append(
                    self._reject(
                        FrameTooLong(
                            f"frame announces {length} bytes, over the {self._max_length} allowed"
                        ),
                        3,
                    )
                )
                continue
            if length < MIN_FRAME_LENGTH:
                events.append(
                    self._reject(
                        InvalidFrameFormat(f"frame length {length} is below the minimum of 7"), 3
                    )
                )
                continue
            header_error = self._check_header(length)
            if header_error is None:
                break  # header incomplete
            if isinstance(header_error, RemoteProtocolError):
                events.append(self._reject(header_error, min(len(buf), length + 2)))
                continue
            need = length + 2
            if len(buf) < need:
                restart = self._complete_frame_inside(buf)
                if restart is None:
                    break
                events.append(
                    FrameRejected(
                        FrameTruncated(
                            f"frame announced {need} bytes, a complete frame began after {restart}"
                        ),
                        bytes(buf[:restart]),
                    )
                )
                del buf[:restart]
                continue
            candidate = bytes(buf[:need])
            try:
                frame = parse_frame(candidate, max_length=self._max_length)
            except RemoteProtocolError as error:
                restart = self._next_frame_start(candidate)
                if restart is not None:
                    events.append(
                        FrameRejected(
                            FrameTruncated(
                                f"frame announced {need} bytes, a new one began after {restart}"
                            ),
                            candidate[:restart],
                        )
                    )
                    del buf[:restart]
                else:
                    events.append(self._reject(error, need))
                continue
            events.append(FrameReceived(frame, candidate))
            del buf[: need - 1]  # keep the closing flag: it may open the next frame
        return events

    def flush(self) -> list[FrameRejected]:
        """The stream paused or ended: a partial frame left in the buffer is truncated."""
        buf = self._buffer
        start = buf.find(FLAG)
        pending = bytes(buf[start:]) if start >= 0 else b""
        buf.clear()
        if len(pending) > 1 and pending[1] >> 4 == 0xA:
            return [
                FrameRejected(
                    FrameTruncated(f"stream paused after {len(pending)} bytes of a frame"), pending
                )
            ]
        self.discarded_bytes += len(pending)
        return []

    def _reject(self, error: RemoteProtocolError, size: int) -> FrameRejected:
        """Report the bytes from the opening flag and resume the search after that flag."""
        raw = bytes(self._buffer[:size])
        del self._buffer[0]
        return FrameRejected(error, raw)

    def _check_header(self, length: int) -> RemoteProtocolError | bool | None:
        """HCS check once the header is in: True if fine, an error if not, None if waiting."""
        buf = self._buffer
        pos = 3
        for _ in range(2):  # destination, then source address
            for size in range(1, 5):
                if pos + size > len(buf):
                    return None
                if buf[pos + size - 1] & 1:
                    if size == 3:
                        return InvalidFrameFormat("HDLC address of 3 bytes")
                    pos += size
                    break
            else:
                return InvalidFrameFormat("HDLC address longer than 4 bytes")
        header_end = pos + 1  # control byte
        if length <= header_end + 1:  # no information field, so no HCS
            return True
        if length < header_end + 4:
            return InvalidFrameFormat("frame too short for its HCS and FCS")
        if len(buf) < header_end + 2:
            return None
        received = buf[header_end] | (buf[header_end + 1] << 8)
        computed = crc16_x25(memoryview(buf)[1:header_end])
        if computed != received:
            return HcsError(computed=computed, received=received)
        return True

    def _complete_frame_inside(self, buf: bytearray) -> int | None:
        """Where a complete, checked frame begins inside a frame still waiting for its bytes.

        Both the HCS and the FCS of the inner frame must verify, so a 0x7E in the body of a
        frame that is merely slow to arrive is not taken for a frame start.
        """
        pos = buf.find(FLAG, 1)
        while 0 < pos < len(buf) - 2:
            if buf[pos + 1] >> 4 == 0xA:
                length = ((buf[pos + 1] & 0x07) << 8) | buf[pos + 2]
                end = pos + length + 2
                if MIN_FRAME_LENGTH <= length <= self._max_length and end <= len(buf):
                    try:
                        parse_frame(bytes(buf[pos:end]), max_length=self._max_length)
                    except RemoteProtocolError:
                        pass
                    else:
                        return pos
            pos = buf.find(FLAG, pos + 1)
        return None

    @staticmethod
    def _next_frame_start(candidate: bytes) -> int | None:
        """Where a new frame begins inside a failed one: a truncated frame.

        Only a flag followed by a header whose HCS verifies counts, so a 0x7E inside a
        corrupted body (OMNIPOWER does no octet stuffing) is not taken for a frame start.
        """
        pos = candidate.find(FLAG, 1)
        while 0 < pos < len(candidate) - 2:
            if candidate[pos + 1] >> 4 == 0xA and _header_verifies(candidate, pos):
                return pos
            pos = candidate.find(FLAG, pos + 1)
        return None


def _header_verifies(data: bytes, start: int) -> bool:
    """Whether a frame header with a correct HCS begins at data[start] (a flag)."""
    pos = start + 3
    for _ in range(2):
        end = next((i + 1 for i in range(pos, min(pos + 4, len(data))) if data[i] & 1), None)
        if end is None:
            return False
        pos = end
    header_end = pos + 1
    if header_end + 2 > len(data):
        return False
    received = data[header_end] | (data[header_end + 1] << 8)
    return crc16_x25(data[start + 1 : header_end]) == received
