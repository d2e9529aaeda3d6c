"""HDLC control field, link parameters and FRMR, for the connection-oriented DLMS profile.

IEC 62056-46 / Green Book 8.4.3: normal response mode, modulo 8. Control byte, bit 0 first:
I-frame ``RRR P SSS 0``; S-frames ``RRR P ss 01`` (RR 00, RNR 01); U-frames SNRM 83, DISC 43,
UA 63, DM 0F, FRMR 87, UI 03, each with P/F = 0x10. The vendor example session of [DLMS] §4
2.3.3 shows SNRM 93, UA 73, DISC 53 and I-frames 10, 32, 54 / 30, 52.

The SNRM and UA information field negotiates the link (Green Book 8.4.5.3.2): format 81,
group 80, then parameters 05 max info TX, 06 max info RX, 07 window TX, 08 window RX, each
from the sender's point of view. Absent parameters take the defaults (128 bytes, window 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final, Self

from ..errors import MalformedData

__all__ = [
    "DEFAULT_MAX_INFO",
    "Control",
    "FrameKind",
    "FrmrReason",
    "LinkParameters",
    "frmr_information",
]

#: Default maximum information field length, both directions (Green Book 8.4.5.3.2).
DEFAULT_MAX_INFO: Final = 128
POLL: Final = 0x10

_FORMAT_ID: Final = 0x81
_GROUP_ID: Final = 0x80
_MAX_INFO_TX: Final = 0x05
_MAX_INFO_RX: Final = 0x06
_WINDOW_TX: Final = 0x07
_WINDOW_RX: Final = 0x08


class FrameKind(Enum):
    """What a control byte says the frame is."""

    I = "I"  # noqa: E741 - the standard's name for an information frame
    RR = "RR"
    RNR = "RNR"
    SNRM = "SNRM"
    DISC = "DISC"
    UA = "UA"
    DM = "DM"
    FRMR = "FRMR"
    UI = "UI"
    UNKNOWN = "UNKNOWN"


_UNNUMBERED: Final = {
    0x83: FrameKind.SNRM,
    0x43: FrameKind.DISC,
    0x63: FrameKind.UA,
    0x0F: FrameKind.DM,
    0x87: FrameKind.FRMR,
    0x03: FrameKind.UI,
}
_UNNUMBERED_CODES: Final = {kind: code for code, kind in _UNNUMBERED.items()}


@dataclass(frozen=True, slots=True)
class Control:
    """One decoded control byte. ``ns``/``nr`` are None where the frame kind has none."""

    kind: FrameKind
    poll: bool = True
    ns: int | None = None
    nr: int | None = None

    @classmethod
    def information(cls, ns: int, nr: int, *, poll: bool = True) -> Self:
        """An I-frame's control."""
        return cls(FrameKind.I, poll, ns % 8, nr % 8)

    @classmethod
    def supervisory(cls, kind: FrameKind, nr: int, *, poll: bool = True) -> Self:
        """RR or RNR."""
        return cls(kind, poll, None, nr % 8)

    def to_byte(self) -> int:
        """The control byte."""
        poll = POLL if self.poll else 0
        if self.kind is FrameKind.I:
            return ((self.nr or 0) << 5) | poll | ((self.ns or 0) << 1)
        if self.kind is FrameKind.RR:
            return ((self.nr or 0) << 5) | poll | 0x01
        if self.kind is FrameKind.RNR:
            return ((self.nr or 0) << 5) | poll | 0x05
        code = _UNNUMBERED_CODES.get(self.kind)
        if code is None:
            raise ValueError(f"{self.kind} has no control byte")
        return code | poll

    @classmethod
    def from_byte(cls, byte: int) -> Self:
        """Decode a control byte; unknown ones decode as :attr:`FrameKind.UNKNOWN`."""
        poll = bool(byte & POLL)
        if byte & 0x01 == 0:
            return cls(FrameKind.I, poll, (byte >> 1) & 7, byte >> 5)
        if byte & 0x03 == 0x01:
            kind = {0x01: FrameKind.RR, 0x05: FrameKind.RNR}.get(byte & 0x0F, FrameKind.UNKNOWN)
            return cls(kind, poll, None, byte >> 5 if kind is not FrameKind.UNKNOWN else None)
        return cls(_UNNUMBERED.get(byte & ~POLL & 0xFF, FrameKind.UNKNOWN), poll)


def _uint(value: int) -> bytes:
    """*value* in 2 bytes (the vendor sends even 0x0080 so), or 4 when larger."""
    for size in (2, 4):
        if value < 1 << (8 * size):
            return value.to_bytes(size, "big")
    raise ValueError(f"link parameter {value} does not fit 4 bytes")


@dataclass(frozen=True, slots=True)
class LinkParameters:
    """Negotiable link parameters, from the point of view of whoever sends them."""

    max_info_tx: int = DEFAULT_MAX_INFO
    max_info_rx: int = DEFAULT_MAX_INFO
    window_tx: int = 1
    window_rx: int = 1

    def to_bytes(self) -> bytes:
        """The SNRM/UA information field (windows always as 4 bytes, as the vendor sends)."""
        params = bytearray()
        for pid, value in ((_MAX_INFO_TX, self.max_info_tx), (_MAX_INFO_RX, self.max_info_rx)):
            raw = _uint(value)
            params += bytes([pid, len(raw)]) + raw
        for pid, value in ((_WINDOW_TX, self.window_tx), (_WINDOW_RX, self.window_rx)):
            params += bytes([pid, 4]) + value.to_bytes(4, "big")
        return bytes([_FORMAT_ID, _GROUP_ID, len(params)]) + params

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Decode an SNRM/UA information field; empty means every default."""
        if not raw:
            return cls()
        if len(raw) < 3 or raw[0] != _FORMAT_ID or raw[1] != _GROUP_ID:
            raise MalformedData("link parameters do not start with format 81, group 80")
        if raw[2] != len(raw) - 3:
            raise MalformedData(f"link parameter group announces {raw[2]}, {len(raw) - 3} follow")
        values = {_MAX_INFO_TX: DEFAULT_MAX_INFO, _MAX_INFO_RX: DEFAULT_MAX_INFO}
        values |= {_WINDOW_TX: 1, _WINDOW_RX: 1}
        pos = 3
        while pos < len(raw):
            if pos + 2 > len(raw):
                raise MalformedData("link parameter cut short")
            pid, size = raw[pos], raw[pos + 1]
            if size not in (1, 2, 4) or pos + 2 + size > len(raw):
                raise MalformedData(f"link parameter {pid:#04x} has a bad length {size}")
            if pid in values:
                values[pid] = int.from_bytes(raw[pos + 2 : pos + 2 + size], "big")
            pos += 2 + size
        return cls(
            values[_MAX_INFO_TX], values[_MAX_INFO_RX], values[_WINDOW_TX], values[_WINDOW_RX]
        )

    def answer(self, own: LinkParameters) -> LinkParameters:
        """The UA parameters a server with limits *own* answers to these SNRM parameters."""
        return LinkParameters(
            max_info_tx=min(own.max_info_tx, self.max_info_rx),
            max_info_rx=min(own.max_info_rx, self.max_info_tx),
            window_tx=min(own.window_tx, self.window_rx),
            window_rx=min(own.window_rx, self.window_tx),
        )


class FrmrReason(Enum):
    """The W, X, Y, Z bits of an FRMR information field (ISO/IEC 13239 5.5.3.4.2)."""

    INVALID_CONTROL = 0x01  # W: control field undefined or not implemented
    INFORMATION_NOT_PERMITTED = 0x03  # X (with W): an information field where none is allowed
    INFORMATION_TOO_LONG = 0x04  # Y: longer than the negotiated maximum
    INVALID_NR = 0x08  # Z: N(R) does not acknowledge a sent, unacknowledged frame


def frmr_information(rejected_control: int, vs: int, vr: int, reason: FrmrReason) -> bytes:
    """The 3-byte FRMR information field: rejected control, V(S)/V(R), reason bits."""
    return bytes([rejected_control, ((vs % 8) << 1) | ((vr % 8) << 5), reason.value])
