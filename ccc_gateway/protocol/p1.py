"""The Swedish "HAN P1" ASCII telegram some OMNIPOWER meters push instead of DLMS.

DSMR-like ([HAN]; vector se_3ph_han_p1_telegram): ``/KAM5`` identification line,
blank line, ``1-0:1.8.0(00009621.983*kWh)`` data lines, then ``!`` and a CRC-16 in four hex
digits. The CRC is CRC-16/ARC (reflected polynomial 0xA001, init 0) over ``/`` .. ``!``.
"""

from __future__ import annotations

import re
from typing import Final

from .cosem_time import CLOCK_STATUS_DST, CosemDateTime
from .crc import reflected_table
from .errors import (
    FcsError,
    FrameTooLong,
    FrameTruncated,
    InvalidFrameFormat,
    MalformedData,
    RemoteProtocolError,
)
from .obis import quantity_of
from .push import ListKind, Push, Reading

__all__ = ["MAX_TELEGRAM_LENGTH", "P1TelegramReader", "crc16_arc", "parse_telegram"]

#: A telegram with every OBIS line the meter knows is about 1 kB; far more means lost sync.
MAX_TELEGRAM_LENGTH: Final = 4096

_LINE: Final = re.compile(
    rb"^(\d{1,3})-(\d{1,3}):(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\*(\d{1,3}))?\((.*)\)$"
)
_NUMBER: Final = re.compile(rb"^[-+]?\d+(?:\.\d+)?$")


_TABLE: Final = reflected_table(0xA001)


def crc16_arc(data: bytes) -> int:
    """CRC-16/ARC as DSMR P1 uses it: check("123456789") = 0xBB3D."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc


def _timestamp(text: str) -> CosemDateTime | None:
    """``YYMMDDhhmmssX`` with X = S (summer) or W (winter)."""
    if len(text) != 13 or not text[:12].isdigit() or text[12] not in "SW":
        return None
    y, mo, d, h, mi, s = (int(text[i : i + 2]) for i in range(0, 12, 2))
    return CosemDateTime(
        2000 + y, mo, d, 0xFF, h, mi, s, clock_status=CLOCK_STATUS_DST if text[12] == "S" else 0
    )


def parse_telegram(telegram: bytes) -> Push:
    """Check the CRC and read every line of one telegram (``/`` through ``!XXXX``)."""
    if not telegram.startswith(b"/"):
        raise InvalidFrameFormat("a P1 telegram starts with '/'")
    bang = telegram.rfind(b"!")
    if bang < 0:
        raise FrameTruncated("P1 telegram has no '!' trailer")
    trailer = telegram[bang + 1 :].strip()
    if len(trailer) != 4:
        raise FrameTruncated("P1 telegram trailer lacks its 4-digit CRC")
    try:
        received = int(trailer, 16)
    except ValueError:
        raise MalformedData(f"P1 CRC {trailer!r} is not hexadecimal") from None
    computed = crc16_arc(telegram[: bang + 1])
    if computed != received:
        raise FcsError(computed=computed, received=received)
    lines = telegram[:bang].split(b"\r\n")
    identification = lines[0][1:].decode("ascii", "replace").strip()
    readings: dict[str, Reading] = {}
    when: CosemDateTime | None = None
    for line in lines[1:]:
        if not line:
            continue
        match = _LINE.match(line)
        if match is None:
            raise MalformedData(f"P1 line {line[:40]!r} is not 'A-B:C.D.E(value)'")
        a, b, c, d, e = (int(g) for g in match.groups()[:5])
        f = int(match.group(6)) if match.group(6) else 255
        code = f"{a}.{b}.{c}.{d}.{e}.{f}"
        content = match.group(7).split(b")(")[0].decode("ascii", "replace")
        number, _, unit = content.partition("*")
        quantity = quantity_of(code)
        if _NUMBER.match(number.encode()):
            readings[code] = Reading(
                code, quantity.name, content, None, unit or None, float(number)
            )
        else:
            readings[code] = Reading(code, quantity.name, content, None, unit or None, content)
            if when is None and c == 1 and d == 0 and e == 0:
                when = _timestamp(content)
    phases = 3 if any(k.split(".")[2] in ("51", "52", "71", "72") for k in readings) else 1
    return Push(
        list_version=identification,
        list_kind=ListKind.HAN_P1,
        phases=phases,
        apdu_datetime=when,
        readings=readings,
    )


class P1TelegramReader:
    """Sans-I/O splitter of a P1 byte stream into telegrams; bounded, resynchronises on '/'.

    A '/' before the '!' and its four CRC digits starts the next telegram: the one before it
    was cut short (a line dropout) and is reported as truncated, not glued to the next one.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def receive_data(self, data: bytes) -> list[bytes | RemoteProtocolError]:
        """Complete telegrams (or errors) found so far, in order."""
        self._buffer += data
        out: list[bytes | RemoteProtocolError] = []
        while True:
            start = self._buffer.find(b"/")
            if start < 0:
                self._buffer.clear()
                break
            del self._buffer[:start]
            bang = self._buffer.find(b"!")
            restart = self._buffer.find(b"/", 1, None if bang < 0 else bang + 5)
            if restart > 0:
                out.append(FrameTruncated("P1 telegram cut off before its '!' and CRC"))
                del self._buffer[:restart]
                continue
            if bang < 0 or len(self._buffer) < bang + 5:
                if len(self._buffer) > MAX_TELEGRAM_LENGTH:
                    out.append(FrameTooLong("P1 telegram longer than 4096 bytes: lost sync"))
                    del self._buffer[:1]
                    continue
                break
            end = bang + 5
            if self._buffer[end : end + 2] == b"\r\n":
                end += 2
            out.append(bytes(self._buffer[:end]))
            del self._buffer[:end]
        return out
