"""IEC 62056-21 ("IEC 1107") messages: typed values, byte encoders, BCC, 7E1 parity, data sets.

Pure code shared by the emulator's optical port (which builds what a meter sends and parses what
a hand-held unit sends) and the gateway's readout client (the other way round). The streaming
parser lives in :mod:`.iec62056_21_reader`.

Facts ([1107] §2 and §7): every character is 7 data bits with even parity and
one stop bit. A pty carries 8 bits, and a UART at 8N1 samples exactly the same 10-bit frame, so
the parity bit travels as bit 7 of each octet (``/`` 0x2F goes out as 0xAF); :func:`add_parity`
and :func:`strip_parity` turn one view into the other. The BCC is the XOR of the 7-bit characters
after the first SOH or STX up to and including ETX or EOT.

The messages are ASCII with delimiters rather than fixed layouts, so they are plain functions
here instead of Construct declarations (STYLE §4 fits binary frames, not this).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum, unique
from typing import Final, TypeAlias

from .errors import (
    ChecksumMismatch,
    FrameTooLong,
    FrameTruncated,
    RemoteProtocolError,
)

__all__ = [
    "ACK",
    "BAUD_CHARS",
    "CR_LF",
    "EOT",
    "ETX",
    "NAK",
    "SOH",
    "STX",
    "Ack",
    "BccError",
    "Command",
    "CommandId",
    "DataMessage",
    "DataSet",
    "DataValue",
    "Identification",
    "MalformedMessage",
    "Message",
    "MessageTooLong",
    "MessageTruncated",
    "Nak",
    "OptionSelect",
    "ParityError",
    "Request",
    "UnexpectedMessage",
    "add_parity",
    "baud_char",
    "baudrate",
    "bcc",
    "encode",
    "error_code",
    "format_data_block",
    "format_data_set",
    "has_even_parity",
    "parse_data_block",
    "strip_parity",
]

SOH: Final = 0x01
STX: Final = 0x02
ETX: Final = 0x03
EOT: Final = 0x04
ACK: Final = 0x06
NAK: Final = 0x15
CR_LF: Final = b"\r\n"

#: Mode C baud-rate characters (IEC 62056-21 §6.3.14). Kamstrup answers '5' (its maximum) in
#: the identification and then follows whatever the HHU selects ([1107] §2.2).
BAUD_CHARS: Final[dict[str, int]] = {
    "0": 300,
    "1": 600,
    "2": 1200,
    "3": 2400,
    "4": 4800,
    "5": 9600,
    "6": 19200,
}


def baudrate(char: str, *, default: int = 300) -> int:
    """The baud rate a mode C character selects; Kamstrup treats any other character as 300."""
    return BAUD_CHARS.get(char, default)


def baud_char(rate: int) -> str:
    """The mode C character for *rate*; :class:`ValueError` for a rate the standard lacks."""
    for char, value in BAUD_CHARS.items():
        if value == rate:
            return char
    raise ValueError(f"no IEC 62056-21 mode C baud character for {rate} baud")


# --- 7E1 on an 8-bit channel -------------------------------------------------------------------


def _parity_bit(value: int) -> int:
    return (value & 0x7F).bit_count() & 1


_WITH_PARITY: Final = bytes((b & 0x7F) | (_parity_bit(b) << 7) for b in range(256))


def add_parity(data: bytes) -> bytes:
    """Set bit 7 of each 7-bit character so every octet has an even number of one bits."""
    return data.translate(_WITH_PARITY)


def has_even_parity(octet: int) -> bool:
    """Whether an octet seen at 8N1 is a valid 7E1 character."""
    return octet.bit_count() % 2 == 0


def strip_parity(data: bytes) -> tuple[bytes, list[int]]:
    """The 7-bit characters, and the positions whose parity was wrong (in order)."""
    bad = [i for i, octet in enumerate(data) if octet.bit_count() & 1]
    return bytes(b & 0x7F for b in data), bad


def bcc(data: bytes | bytearray | memoryview) -> int:
    """XOR of *data*: pass the characters after the opening SOH/STX up to and including ETX/EOT."""
    value = 0
    for octet in data:
        value ^= octet
    return value & 0x7F


# --- errors ------------------------------------------------------------------------------------


class BccError(ChecksumMismatch):
    """The block check character does not match the message it closes."""

    code = "bcc_error"
    hint = "Line noise, or the optical head is not at 7E1 and the agreed baud rate."
    check = "BCC"
    covers = "message characters"


class ParityError(RemoteProtocolError):
    """A character whose even-parity bit is wrong (7E1)."""

    code = "parity_error"
    hint = "Wrong serial settings (IEC 62056-21 runs at 7E1) or a dirty optical head."

    def __init__(self, *, positions: list[int]) -> None:
        self.positions = positions
        super().__init__(f"parity error at character {', '.join(map(str, positions[:8]))}")


class MessageTruncated(FrameTruncated):
    """A message stopped before its end (no ETX/EOT and BCC, no CR LF) within the timeout."""

    code = "message_truncated"
    hint = "The message was cut off: the head moved, or the baud rates of the two ends differ."


class MessageTooLong(FrameTooLong):
    """More characters than any message may hold: the reader has lost sync."""

    code = "message_too_long"
    hint = "Not an IEC 62056-21 stream, or the baud rates of the two ends differ."


class MalformedMessage(RemoteProtocolError):
    """A message that is complete and checked but whose content breaks the syntax."""

    code = "malformed_message"
    hint = "The other end sends something this version does not parse: report it with the bytes."


class UnexpectedMessage(RemoteProtocolError):
    """A valid message that makes no sense in the current state of the dialogue."""

    code = "unexpected_message"
    hint = "The dialogue is out of step: start again with a sign-on."


# --- messages ----------------------------------------------------------------------------------


@unique
class CommandId(StrEnum):
    """The programming commands Kamstrup implements ([1107] §3); the others are unknown."""

    P0 = "P0"  #: meter → HHU: the operand for the password (empty on Kamstrup)
    P1 = "P1"  #: HHU → meter: the password, compared with the meter's
    R1 = "R1"  #: read one register
    R5 = "R5"  #: read the date and time
    R6 = "R6"  #: read a logger in partial blocks
    W1 = "W1"  #: write one of the writable registers
    W5 = "W5"  #: set the date and time
    B0 = "B0"  #: break: end of session, no reply


@dataclass(frozen=True, slots=True)
class Request:
    """``/?`` [device address] ``!`` CR LF: the sign-on; an empty address means any meter."""

    address: str = ""


@dataclass(frozen=True, slots=True)
class Identification:
    """``/`` XXX Z ident CR LF; Kamstrup puts a space first: ``/KAM5 6841138BN143002``."""

    manufacturer: str
    baud_char: str
    ident: str

    @property
    def meter_type(self) -> str:
        """The identification without Kamstrup's leading space."""
        return self.ident.strip()


@dataclass(frozen=True, slots=True)
class OptionSelect:
    """ACK V Z Y CR LF: protocol control V, baud character Z, mode Y ('0' readout, '1' program)."""

    protocol: str = "0"
    baud_char: str = "5"
    mode: str = "0"


@dataclass(frozen=True, slots=True)
class Ack:
    """A lone ACK: password accepted, write done, or the HHU asks for the next partial block."""


@dataclass(frozen=True, slots=True)
class Nak:
    """A lone NAK: the last message arrived damaged; send it again."""


@dataclass(frozen=True, slots=True)
class Command:
    """SOH C D [STX data] ETX BCC; *command* is ``C`` + ``D`` (``"R1"``), data ``None`` for B0."""

    command: str
    data: str | None = None


@dataclass(frozen=True, slots=True)
class DataMessage:
    """STX data ETX BCC, or STX data EOT BCC for a partial block that more blocks follow."""

    block: str
    partial: bool = False


Message: TypeAlias = Request | Identification | OptionSelect | Ack | Nak | Command | DataMessage

_PRINTABLE: Final = re.compile(r"[\x20-\x7e]*")


def _text(value: str, what: str) -> bytes:
    if not _PRINTABLE.fullmatch(value):
        raise ValueError(f"{what} must be printable ASCII: {value!r}")
    return value.encode("ascii")


def encode(message: Message, *, parity: bool = False) -> bytes:
    """The message as sent; with *parity* each character carries its even-parity bit (7E1)."""
    raw: bytes
    match message:
        case Request(address):
            if len(address) > 32 or "/" in address or "!" in address:
                raise ValueError(f"a device address is ≤ 32 characters without / or !: {address!r}")
            raw = b"/?" + _text(address, "device address") + b"!" + CR_LF
        case Identification(manufacturer, char, ident):
            if len(manufacturer) != 3 or not manufacturer.isalpha() or len(char) != 1:
                raise ValueError("an identification has 3 letters and one baud character")
            if "/" in ident or len(ident) > 40:
                raise ValueError(f"an identification is short and has no '/': {ident!r}")
            raw = b"/" + _text(manufacturer + char + ident, "identification") + CR_LF
        case OptionSelect(protocol, char, mode):
            if len(protocol + char + mode) != 3:
                raise ValueError("an option select has three characters: V Z Y")
            raw = bytes([ACK]) + _text(protocol + char + mode, "option select") + CR_LF
        case Ack():
            raw = bytes([ACK])
        case Nak():
            raw = bytes([NAK])
        case Command(command, data):
            if len(command) != 2:
                raise ValueError(f"a command is two characters (R1, W5, …): {command!r}")
            body = _text(command, "command")
            if data is not None:
                if "/" in data:
                    raise ValueError("command data cannot hold '/' (IEC 62056-21 §6.5)")
                body += bytes([STX]) + _text(data, "command data")
            body += bytes([ETX])
            raw = bytes([SOH]) + body + bytes([bcc(body)])
        case DataMessage(block, partial):
            if not block.isascii() or any(c in block for c in "\x01\x02\x03\x04/"):
                raise ValueError("a data block is ASCII text without SOH, STX, ETX, EOT or '/'")
            body = block.encode("ascii") + bytes([EOT if partial else ETX])
            raw = bytes([STX]) + body + bytes([bcc(body)])
    return add_parity(raw) if parity else raw


# --- data sets ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataValue:
    """One bracketed value: ``(0000586.12*kWh)`` → value ``0000586.12``, unit ``kWh``."""

    value: str
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class DataSet:
    """``C.D.E(value*unit)`` and any further groups, such as the time of a maximum demand."""

    address: str
    values: tuple[DataValue, ...]

    @property
    def value(self) -> str:
        """The first group's value: what a display shows for this register."""
        return self.values[0].value if self.values else ""

    @property
    def unit(self) -> str | None:
        """The first group's unit."""
        return self.values[0].unit if self.values else None


# Standard limits ([IEC 62056-21] §6.5): address ≤ 16, value ≤ 32 (128 for logger rows), unit ≤ 16.
_GROUP: Final = re.compile(r"\(([^()*/!]{0,128})(?:\*([^()*/!]{1,16}))?\)")
#: ``*`` may appear in an address: ``1.8.0*12`` is a billing period's value (IEC 62056-61 F).
_ADDRESS: Final = re.compile(r"[^()/!\s]{1,16}")


def format_data_set(data_set: DataSet) -> str:
    """``C.D.E(value*unit)(…)`` without a line end, as a register reply carries it."""
    groups = "".join(f"({v.value}*{v.unit})" if v.unit else f"({v.value})" for v in data_set.values)
    return data_set.address + groups


def format_data_block(data_sets: list[DataSet] | tuple[DataSet, ...], *, end: bool = True) -> str:
    """One data set per line, each line ending CR LF; *end* appends the readout's ``!`` CR LF."""
    lines = "".join(format_data_set(data_set) + "\r\n" for data_set in data_sets)
    return lines + ("!\r\n" if end else "")


def parse_data_block(block: str) -> tuple[DataSet, ...]:
    """The data sets of a readout or register reply; :class:`MalformedMessage` if not that."""
    data_sets: list[DataSet] = []
    for number, line in enumerate(block.split("\r\n"), start=1):
        if line in ("", "!"):
            continue
        pos = 0
        while pos < len(line):
            address = _ADDRESS.match(line, pos)
            if address is not None:
                pos = address.end()
            values: list[DataValue] = []
            while (group := _GROUP.match(line, pos)) is not None:
                values.append(DataValue(group.group(1), group.group(2)))
                pos = group.end()
            if not values:
                raise MalformedMessage(f"line {number}: no (value) at column {pos + 1}: {line!r}")
            if address is None:
                if not data_sets:
                    raise MalformedMessage(f"line {number}: a value with no address: {line!r}")
                last = data_sets.pop()
                data_sets.append(DataSet(last.address, last.values + tuple(values)))
            else:
                data_sets.append(DataSet(address.group(), tuple(values)))
    return tuple(data_sets)


_ERROR: Final = re.compile(r"\((ER[^()]*)\)(?:\r\n)?")


def error_code(message: DataMessage) -> str | None:
    """``"ER01"`` when the message is an error reply ``(ER01)``, otherwise ``None``."""
    match = _ERROR.fullmatch(message.block)
    return match.group(1) if match else None
