"""HDLC frame format type 3 (Green Book 8.4), as used on both OMNIPOWER ports.

The Construct declaration :data:`HdlcFrameStruct` is the definition; the emulator builds frames
with it. The gateway's hot path uses :func:`parse_frame`, a specialised routine that the tests
hold to agree with the declaration on every vector and on hypothesis-generated frames.

No octet stuffing: the length field delimits the frame ([GB] 8.4; the Radius frame carries
0x7E inside its body). A frame without information field has no HCS, only the FCS.
"""

from __future__ import annotations

from typing import Any, Final, TypeAlias

from ._record import record
from .crc import crc16_x25
from .errors import FcsError, FrameTooLong, FrameTruncated, HcsError, InvalidFrameFormat

_LAZY_LAYOUTS: Final = frozenset({"FrameFormat", "HdlcFrameStruct"})

__all__ = [
    "FLAG",
    "MAX_FRAME_LENGTH",
    "MIN_FRAME_LENGTH",
    "HdlcAddress",
    "HdlcFrame",
    "HdlcRoute",
    "encode_frame",
    "parse_frame",
]

FLAG: Final = 0x7E
#: Format (2) + destination (1) + source (1) + control (1) + FCS (2): the shortest frame body.
MIN_FRAME_LENGTH: Final = 7
#: The 11-bit length field's maximum (Green Book 8.4.1.3).
MAX_FRAME_LENGTH: Final = 0x7FF


@record
class HdlcAddress:
    """An HDLC address: the upper (logical device / client SAP) and optional lower (physical) part.

    ``size`` is 1, 2 or 4 bytes on the wire. Client addresses are always one byte.
    """

    logical: int
    physical: int | None = None
    size: int = 1

    def encode(self) -> bytes:
        """The address bytes with the extension bit set on the last one only."""
        if self.size == 1:
            if not 0 <= self.logical <= 0x7F or self.physical is not None:
                raise ValueError("a 1-byte HDLC address holds one value 0..127")
            return bytes([(self.logical << 1) | 1])
        physical = self.physical or 0
        if self.size == 2:
            if not (0 <= self.logical <= 0x7F and 0 <= physical <= 0x7F):
                raise ValueError("a 2-byte HDLC address holds two values 0..127")
            return bytes([self.logical << 1, (physical << 1) | 1])
        if self.size == 4:
            if not (0 <= self.logical <= 0x3FFF and 0 <= physical <= 0x3FFF):
                raise ValueError("a 4-byte HDLC address holds two values 0..16383")
            return bytes(
                [
                    (self.logical >> 7) << 1,
                    (self.logical & 0x7F) << 1,
                    (physical >> 7) << 1,
                    ((physical & 0x7F) << 1) | 1,
                ]
            )
        raise ValueError("HDLC addresses are 1, 2 or 4 bytes")

    @classmethod
    def decode(cls, raw: bytes) -> HdlcAddress:
        """Read an address from its wire bytes (1, 2 or 4 of them)."""
        values = [b >> 1 for b in raw]
        if len(raw) == 1:
            return cls(values[0])
        if len(raw) == 2:
            return cls(values[0], values[1], 2)
        if len(raw) == 4:
            return cls((values[0] << 7) | values[1], (values[2] << 7) | values[3], 4)
        raise InvalidFrameFormat(f"an HDLC address is 1, 2 or 4 bytes, not {len(raw)}")


@record
class HdlcFrame:
    """One checked HDLC frame. ``information`` is empty for frames without an information field."""

    destination: HdlcAddress
    source: HdlcAddress
    control: int
    information: bytes = b""
    segmented: bool = False


#: Destination, source and control byte: what identifies a sender's frames on the line.
HdlcRoute: TypeAlias = tuple[HdlcAddress, HdlcAddress, int]


def route_of(frame: HdlcFrame) -> HdlcRoute:
    """The frame's destination, source and control byte."""
    return (frame.destination, frame.source, frame.control)


def _address_end(frame: bytes | bytearray, start: int, end: int) -> int:
    """Index just past the address starting at *start* (bit 0 set on its last byte)."""
    for i in range(start, min(start + 4, end)):
        if frame[i] & 1:
            if i - start == 2:  # 3-byte addresses do not exist
                break
            return i + 1
    raise InvalidFrameFormat("HDLC address is not 1, 2 or 4 bytes long")


def parse_frame(frame: bytes | bytearray, *, max_length: int = MAX_FRAME_LENGTH) -> HdlcFrame:
    """Check and split one complete frame, flags included.

    The checks run in wire order (flags, format, length, HCS, FCS) so the error names the
    first thing that is wrong. Agrees with :data:`HdlcFrameStruct` on every well-formed frame.
    """
    size = len(frame)
    if size < MIN_FRAME_LENGTH + 2 or frame[0] != FLAG:
        if size >= 1 and frame[0] == FLAG and size >= 3:
            raise FrameTruncated(f"frame of {size} bytes is shorter than any HDLC frame")
        raise InvalidFrameFormat("a frame starts with the flag 0x7E and has at least 9 bytes")
    fmt = (frame[1] << 8) | frame[2]
    if fmt >> 12 != 0xA:
        raise InvalidFrameFormat(f"frame format {fmt >> 12:#x} is not HDLC type 3 (0xA)")
    length = fmt & 0x7FF
    if length > max_length:
        raise FrameTooLong(f"frame announces {length} bytes, more than the {max_length} allowed")
    if length < MIN_FRAME_LENGTH:
        raise InvalidFrameFormat(f"frame length {length} is below the minimum of 7")
    if size < length + 2:
        raise FrameTruncated(f"frame announces {length + 2} bytes, only {size} arrived")
    if size > length + 2:
        raise InvalidFrameFormat(f"{size - length - 2} bytes follow the announced frame end")
    end = length + 1  # index of the closing flag
    dst_end = _address_end(frame, 3, end)
    src_end = _address_end(frame, dst_end, end)
    control = frame[src_end]
    header_end = src_end + 1
    information = b""
    if length > header_end + 1:  # header + FCS is all a frame without information holds
        if length < header_end + 4:
            raise InvalidFrameFormat("frame too short for its HCS and FCS")
        hcs_received = frame[header_end] | (frame[header_end + 1] << 8)
        hcs = crc16_x25(memoryview(frame)[1:header_end])
        if hcs != hcs_received:
            raise HcsError(computed=hcs, received=hcs_received)
        information = bytes(frame[header_end + 2 : end - 2])
    fcs_received = frame[end - 2] | (frame[end - 1] << 8)
    fcs = crc16_x25(memoryview(frame)[1 : end - 2])
    if fcs != fcs_received:
        raise FcsError(computed=fcs, received=fcs_received)
    if frame[end] != FLAG:
        raise InvalidFrameFormat("closing flag 0x7E missing")
    return HdlcFrame(
        destination=HdlcAddress.decode(bytes(frame[3:dst_end])),
        source=HdlcAddress.decode(bytes(frame[dst_end:src_end])),
        control=control,
        information=information,
        segmented=bool(fmt & 0x0800),
    )


def encode_frame(frame: HdlcFrame) -> bytes:
    """The frame on the wire, flags included, built through :data:`HdlcFrameStruct`."""
    destination = frame.destination.encode()
    source = frame.source.encode()
    header_length = 3 + len(destination) + len(source)
    has_information = bool(frame.information)
    length = header_length + 2 + (len(frame.information) + 2 if has_information else 0)
    if length > MAX_FRAME_LENGTH:
        raise ValueError(f"frame of {length} bytes exceeds the 11-bit length field")
    fmt = bytes([0xA0 | (0x08 if frame.segmented else 0) | (length >> 8), length & 0xFF])
    header = fmt + destination + source + bytes([frame.control])
    hcs = crc16_x25(header) if has_information else None
    body_without_fcs = header + (
        hcs.to_bytes(2, "little") + frame.information if hcs is not None else b""
    )
    from .layouts import HdlcFrameStruct

    built = HdlcFrameStruct.build(
        {
            "format": {"segmented": frame.segmented, "length": length},
            "destination": list(destination),
            "source": list(source),
            "control": frame.control,
            "hcs": hcs,
            "information": frame.information if has_information else None,
            "fcs": crc16_x25(body_without_fcs),
        }
    )
    return bytes([FLAG]) + built + bytes([FLAG])


def __getattr__(name: str) -> Any:
    """The Construct declarations, loaded on first use (see :mod:`.layouts`)."""
    if name in _LAZY_LAYOUTS:
        from . import layouts

        return getattr(layouts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
