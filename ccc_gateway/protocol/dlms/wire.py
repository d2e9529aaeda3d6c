"""A cursor over APDU bytes: every short read becomes :class:`MalformedData`, nothing else.

The xDLMS APDUs are A-XDR (IEC 61334-6): fixed-width big-endian integers, BER-style lengths for
SEQUENCE OF and OCTET STRING, OPTIONAL fields announced by a 00/01 byte. One cursor type keeps
every decoder in this package held to the same rule: a truncated or inconsistent APDU raises a
named error that says what was being read.
"""

from __future__ import annotations

from ..axdr import Data, decode_ber_length, decode_data, encode_ber_length
from ..errors import MalformedData

__all__ = ["Reader", "octet_string"]


def octet_string(raw: bytes) -> bytes:
    """An A-XDR OCTET STRING: BER length, then the bytes."""
    return encode_ber_length(len(raw)) + raw


class Reader:
    """Reads fields in order from one APDU; :meth:`end` checks nothing is left over."""

    __slots__ = ("buf", "pos", "what")

    def __init__(self, buf: bytes, pos: int = 0, *, what: str = "APDU") -> None:
        self.buf = buf
        self.pos = pos
        self.what = what

    @property
    def remaining(self) -> int:
        """Bytes not read yet."""
        return len(self.buf) - self.pos

    def take(self, count: int, field: str) -> bytes:
        """The next *count* bytes."""
        end = self.pos + count
        if count < 0 or end > len(self.buf):
            raise MalformedData(f"{self.what} ends inside its {field}")
        raw = self.buf[self.pos : end]
        self.pos = end
        return raw

    def u8(self, field: str) -> int:
        """An Unsigned8 (also ENUMERATED, BOOLEAN, Integer8 read unsigned)."""
        return self.take(1, field)[0]

    def i8(self, field: str) -> int:
        """An Integer8."""
        return int.from_bytes(self.take(1, field), "big", signed=True)

    def u16(self, field: str) -> int:
        """An Unsigned16."""
        return int.from_bytes(self.take(2, field), "big")

    def u32(self, field: str) -> int:
        """An Unsigned32."""
        return int.from_bytes(self.take(4, field), "big")

    def boolean(self, field: str) -> bool:
        """A BOOLEAN (any non-zero octet is true)."""
        return self.u8(field) != 0

    def length(self, field: str) -> int:
        """A BER-style length (SEQUENCE OF count, OCTET STRING length)."""
        length, self.pos = decode_ber_length(self.buf, self.pos)
        if length > self.remaining and field != "count":
            raise MalformedData(f"{self.what}'s {field} announces {length} bytes, fewer remain")
        return length

    def octets(self, field: str) -> bytes:
        """An OCTET STRING."""
        return self.take(self.length(field), field)

    def optional(self, field: str) -> bool:
        """The 00/01 presence byte of an OPTIONAL field."""
        flag = self.u8(field)
        if flag > 1:
            raise MalformedData(f"{self.what}'s {field} presence flag is {flag:#04x}, not 0 or 1")
        return flag == 1

    def data(self) -> Data:
        """One A-XDR Data value."""
        value, self.pos = decode_data(self.buf, self.pos)
        return value

    def rest(self) -> bytes:
        """Everything not read yet."""
        raw = self.buf[self.pos :]
        self.pos = len(self.buf)
        return raw

    def end(self) -> None:
        """Raise unless every byte was read."""
        if self.pos != len(self.buf):
            raise MalformedData(
                f"{len(self.buf) - self.pos} bytes follow the end of the {self.what}"
            )
