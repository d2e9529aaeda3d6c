"""A-XDR encoding of COSEM data (IEC 62056-6-2 / Green Book 9.5, "Data" CHOICE).

Two equal views of the same format:

* :data:`.layouts.AxdrDataStruct`, the Construct declaration: the definition, used to build
  and in the agreement tests;
* :func:`decode_data` / :func:`encode_data`, a specialised codec for the hot path (every push
  holds 65+ elements), held by the tests to agree with the declaration on every vector and on
  hypothesis-generated values.

Values decode to :class:`Data` (type tag + Python value) so that encode(decode(x)) == x. The
date-time value type lives in :mod:`.cosem_time`; the declarations import this module, never
the other way round.
"""

from __future__ import annotations

import struct
from enum import IntEnum, unique
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final

from ._record import record
from .cosem_time import CosemDateTime  # a Data value; re-exported for the codec's users
from .errors import MalformedData

__all__ = [
    "BitString",
    "CosemDateTime",
    "Data",
    "DataType",
    "decode_ber_length",
    "decode_data",
    "encode_ber_length",
    "encode_data",
]


@unique
class DataType(IntEnum):
    """A-XDR type tags of the Data CHOICE (Blue Book 4.1.5)."""

    # Hash as the int it equals (Enum's own __hash__ runs in Python and hashes the name).
    __hash__ = int.__hash__

    NULL_DATA = 0
    ARRAY = 1
    STRUCTURE = 2
    BOOLEAN = 3
    BIT_STRING = 4
    DOUBLE_LONG = 5
    DOUBLE_LONG_UNSIGNED = 6
    OCTET_STRING = 9
    VISIBLE_STRING = 10
    UTF8_STRING = 12
    BCD = 13
    INTEGER = 15
    LONG = 16
    UNSIGNED = 17
    LONG_UNSIGNED = 18
    COMPACT_ARRAY = 19
    LONG64 = 20
    LONG64_UNSIGNED = 21
    ENUM = 22
    FLOAT32 = 23
    FLOAT64 = 24
    DATE_TIME = 25
    DATE = 26
    TIME = 27
    DONT_CARE = 255


@record
class BitString:
    """A bit-string: ``bits`` as a string of '0'/'1', first bit = most significant of byte 0."""

    bits: str

    def to_bytes(self) -> bytes:
        """The bits packed MSB first, padded with zeros to whole bytes."""
        padded = self.bits + "0" * (-len(self.bits) % 8)
        return bytes(int(padded[i : i + 8], 2) for i in range(0, len(padded), 8))

    @classmethod
    def from_bytes(cls, raw: bytes, count: int) -> BitString:
        """The first *count* bits of *raw*."""
        return cls("".join(f"{b:08b}" for b in raw)[:count])

    def __getitem__(self, index: int) -> bool:
        return self.bits[index] == "1"


class Data(tuple[DataType, Any]):
    """One A-XDR value with its type tag.

    ``value`` is None (null-data), bool, int, float, bytes (octet-string), str (visible/utf8
    string), :class:`BitString`, :class:`CosemDateTime` (date-time, or octet-string of 12 only
    when decoded with that hint), or a tuple of Data (array, structure). BCD, date and time are
    kept as raw bytes.

    A named pair like ``typing.NamedTuple`` gives, written out: ``NamedTuple`` compiles code at
    class creation, and the first compile in a process costs ~0.5 MiB (see :mod:`._record`).
    """

    __slots__ = ()
    __match_args__ = ("type", "value")
    _fields = ("type", "value")

    def __new__(cls, type: DataType, value: Any) -> Data:
        return tuple.__new__(cls, (type, value))

    if TYPE_CHECKING:

        @property
        def type(self) -> DataType: ...
        @property
        def value(self) -> Any: ...
    else:
        type = property(itemgetter(0), doc="The A-XDR type.")
        value = property(itemgetter(1), doc="The value.")

    def __repr__(self) -> str:
        return f"Data(type={self[0]!r}, value={self[1]!r})"

    def __getnewargs__(self) -> tuple[DataType, Any]:
        return (self[0], self[1])


# --- BER length (A-XDR length of variable-length types) -------------------------------------


def decode_ber_length(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """A BER definite length at *pos*: (length, position after it)."""
    try:
        first = buf[pos]
        if first < 0x80:
            return first, pos + 1
        count = first & 0x7F
        if count == 0 or count > 4:
            raise MalformedData(f"BER length with {count} length octets")
        end = pos + 1 + count
        if end > len(buf):
            raise MalformedData("BER length runs past the end of the data")
        return int.from_bytes(buf[pos + 1 : end], "big"), end
    except IndexError:
        raise MalformedData("data ends where a length was expected") from None


def encode_ber_length(length: int) -> bytes:
    """Shortest BER definite form of *length*."""
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


_VISIBLE: Final = "latin-1"  # visible-string is ISO 646; latin-1 keeps any byte reversible


# --- fast codec -------------------------------------------------------------------------------

_FIXED: Final[dict[int, struct.Struct]] = {
    DataType.DOUBLE_LONG: struct.Struct(">i"),
    DataType.DOUBLE_LONG_UNSIGNED: struct.Struct(">I"),
    DataType.INTEGER: struct.Struct(">b"),
    DataType.LONG: struct.Struct(">h"),
    DataType.UNSIGNED: struct.Struct(">B"),
    DataType.LONG_UNSIGNED: struct.Struct(">H"),
    DataType.LONG64: struct.Struct(">q"),
    DataType.LONG64_UNSIGNED: struct.Struct(">Q"),
    DataType.ENUM: struct.Struct(">B"),
    DataType.BCD: struct.Struct(">B"),
    DataType.FLOAT32: struct.Struct(">f"),
    DataType.FLOAT64: struct.Struct(">d"),
}
_FIXED_BY_TAG: Final = {
    int(tag): (DataType(tag), s.unpack_from, s.size) for tag, s in _FIXED.items()
}
_TYPES: Final = {int(t): t for t in DataType}
_MAX_DEPTH: Final = 32  # deeper nesting than any COSEM object; stops hostile recursion


_NULL: Final = Data(DataType.NULL_DATA, None)
#: NamedTuple's generated __new__ is a Python function; the hot path builds tuples directly.
_new_data: Final = tuple.__new__


def decode_data(buf: bytes | memoryview, pos: int = 0, _depth: int = 0) -> tuple[Data, int]:
    """Decode one Data value at *pos*: (value, position after it).

    Raises only :class:`MalformedData`, whatever the input.
    """
    try:
        tag = buf[pos]
    except IndexError:
        raise MalformedData("data ends where a type tag was expected") from None
    pos += 1
    fixed = _FIXED_BY_TAG.get(tag)
    if fixed is not None:
        data_type, unpack_from, size = fixed
        if pos + size > len(buf):
            raise MalformedData(f"{data_type.name.lower()} runs past the end of the data")
        return _new_data(Data, (data_type, unpack_from(buf, pos)[0])), pos + size
    if (
        tag == DataType.OCTET_STRING
        or tag == DataType.VISIBLE_STRING
        or tag == DataType.UTF8_STRING
    ):
        length, pos = decode_ber_length(buf, pos)
        end = pos + length
        if end > len(buf):
            raise MalformedData("string runs past the end of the data")
        raw = bytes(buf[pos:end])
        if tag == DataType.OCTET_STRING:
            return _new_data(Data, (DataType.OCTET_STRING, raw)), end
        if tag == DataType.VISIBLE_STRING:
            return _new_data(Data, (DataType.VISIBLE_STRING, raw.decode(_VISIBLE))), end
        try:
            return _new_data(Data, (DataType.UTF8_STRING, raw.decode("utf-8"))), end
        except UnicodeDecodeError:
            raise MalformedData("utf8-string is not UTF-8") from None
    if tag == DataType.STRUCTURE or tag == DataType.ARRAY:
        if _depth >= _MAX_DEPTH:
            raise MalformedData("data nested deeper than any COSEM object")
        count, pos = decode_ber_length(buf, pos)
        size = len(buf)
        if count > size - pos:  # every element needs at least one byte
            raise MalformedData(f"{count} elements announced, the data is shorter")
        items: list[Data] = []
        append = items.append
        fixed_by_tag = _FIXED_BY_TAG
        for _ in range(count):
            # Inline the elements a push is made of (OBIS octet-strings, unsigned numbers,
            # identity strings, null-data); anything else takes the general path.
            if pos >= size:
                raise MalformedData("data ends where a type tag was expected")
            item_tag = buf[pos]
            if item_tag == 0x09 and pos + 1 < size and buf[pos + 1] < 0x80:
                end = pos + 2 + buf[pos + 1]
                if end > size:
                    raise MalformedData("string runs past the end of the data")
                append(_new_data(Data, (DataType.OCTET_STRING, bytes(buf[pos + 2 : end]))))
                pos = end
                continue
            if item_tag == 0x0A and pos + 1 < size and buf[pos + 1] < 0x80:
                end = pos + 2 + buf[pos + 1]
                if end > size:
                    raise MalformedData("string runs past the end of the data")
                text = bytes(buf[pos + 2 : end]).decode(_VISIBLE)
                append(_new_data(Data, (DataType.VISIBLE_STRING, text)))
                pos = end
                continue
            fixed = fixed_by_tag.get(item_tag)
            if fixed is not None:
                data_type, unpack_from, width = fixed
                if pos + 1 + width > size:
                    raise MalformedData(f"{data_type.name.lower()} runs past the end of the data")
                append(_new_data(Data, (data_type, unpack_from(buf, pos + 1)[0])))
                pos += 1 + width
                continue
            if item_tag == 0:
                append(_NULL)
                pos += 1
                continue
            item, pos = decode_data(buf, pos, _depth + 1)
            append(item)
        return _new_data(Data, (_TYPES[tag], tuple(items))), pos
    if tag == DataType.NULL_DATA:
        return _new_data(Data, (DataType.NULL_DATA, None)), pos
    if tag == DataType.BOOLEAN:
        if pos >= len(buf):
            raise MalformedData("boolean runs past the end of the data")
        return _new_data(Data, (DataType.BOOLEAN, buf[pos] != 0)), pos + 1
    if tag == DataType.DATE_TIME or tag == DataType.DATE or tag == DataType.TIME:
        size = {DataType.DATE_TIME: 12, DataType.DATE: 5, DataType.TIME: 4}[_TYPES[tag]]
        if pos + size > len(buf):
            raise MalformedData("date/time runs past the end of the data")
        raw = bytes(buf[pos : pos + size])
        if tag == DataType.DATE_TIME:
            return _new_data(Data, (DataType.DATE_TIME, CosemDateTime.from_bytes(raw))), pos + size
        return _new_data(Data, (_TYPES[tag], raw)), pos + size
    if tag == DataType.BIT_STRING:
        count, pos = decode_ber_length(buf, pos)
        end = pos + (count + 7) // 8
        if end > len(buf):
            raise MalformedData("bit-string runs past the end of the data")
        bits = BitString.from_bytes(bytes(buf[pos:end]), count)
        return _new_data(Data, (DataType.BIT_STRING, bits)), end
    raise MalformedData(f"unknown A-XDR type tag {tag:#04x}")


def _encode_into(value: Data, out: bytearray) -> None:
    tag = value.type
    out.append(tag)
    fixed = _FIXED.get(tag)
    if fixed is not None:
        out += fixed.pack(value.value)
    elif tag in (DataType.STRUCTURE, DataType.ARRAY):
        out += encode_ber_length(len(value.value))
        for item in value.value:
            _encode_into(item, out)
    elif tag == DataType.OCTET_STRING:
        raw = value.value.to_bytes() if isinstance(value.value, CosemDateTime) else value.value
        out += encode_ber_length(len(raw)) + raw
    elif tag in (DataType.VISIBLE_STRING, DataType.UTF8_STRING):
        raw = value.value.encode(_VISIBLE if tag == DataType.VISIBLE_STRING else "utf-8")
        out += encode_ber_length(len(raw)) + raw
    elif tag == DataType.NULL_DATA:
        pass
    elif tag == DataType.BOOLEAN:
        out.append(1 if value.value else 0)
    elif tag == DataType.DATE_TIME:
        out += value.value.to_bytes()
    elif tag in (DataType.DATE, DataType.TIME):
        out += value.value
    elif tag == DataType.BIT_STRING:
        out += encode_ber_length(len(value.value.bits)) + value.value.to_bytes()
    else:
        raise ValueError(f"cannot encode A-XDR type {tag!r}")


def encode_data(value: Data) -> bytes:
    """A-XDR bytes of *value* (the inverse of :func:`decode_data`)."""
    out = bytearray()
    _encode_into(value, out)
    return bytes(out)


# --- conveniences for building values ----------------------------------------------------------


def structure(*items: Data) -> Data:
    """A structure of *items*."""
    return Data(DataType.STRUCTURE, tuple(items))


def array(*items: Data) -> Data:
    """An array of *items*."""
    return Data(DataType.ARRAY, tuple(items))


def octet_string(raw: bytes) -> Data:
    """An octet-string."""
    return Data(DataType.OCTET_STRING, raw)


def visible_string(text: str) -> Data:
    """A visible-string."""
    return Data(DataType.VISIBLE_STRING, text)


NULL: Final = Data(DataType.NULL_DATA, None)


#: Plain-Python view of a Data value (nested tuples for structures), for JSON and tests.
def to_python(value: Data) -> Any:
    """Drop the type tags: nested tuples for structures/arrays, str for date-times."""
    if value.type in (DataType.STRUCTURE, DataType.ARRAY):
        return tuple(to_python(item) for item in value.value)
    if isinstance(value.value, CosemDateTime):
        return value.value.isoformat()
    return value.value
