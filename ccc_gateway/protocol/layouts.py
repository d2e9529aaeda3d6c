"""Construct declarations of every layout the protocol core reads and writes.

These are the definition of the formats, used to build frames (the emulator) and by the tests
that hold the gateway's specialised parsers to agree with them. They live apart so that the
gateway's decode path never imports Construct: the library and the declarations cost about
35 ms of start-up, a third of the import budget (``make bench`` measures it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from construct import (
    Adapter,
    BitsInteger,
    BitStruct,
    Bytes,
    Computed,
    Const,
    Construct,
    Flag,
    Float32b,
    Float64b,
    GreedyBytes,
    If,
    Int8sb,
    Int8ub,
    Int16sb,
    Int16ub,
    Int16ul,
    Int32sb,
    Int32ub,
    Int64sb,
    Int64ub,
    LazyBound,
    Pass,
    Prefixed,
    RepeatUntil,
    Struct,
    Switch,
    len_,
    obj_,
    this,
)
from construct import (
    Array as ConstructArray,
)

from .axdr import BitString, DataType, encode_ber_length
from .cosem_time import CosemDateTime
from .errors import MalformedData
from .tags import ApduTag

__all__ = [
    "AxdrDataStruct",
    "BerLength",
    "DataNotificationStruct",
    "FrameFormat",
    "GeneralGloCipheringStruct",
    "HdlcFrameStruct",
]

_VISIBLE = "latin-1"

FrameFormat = (
    BitStruct(
        "frame_type" / Const(0xA, BitsInteger(4)),
        "segmented" / Flag,
        "length" / BitsInteger(11),
    )
    * "Green Book 8.4.1: format type 3, segmentation bit, bytes between the flags"
)

HdlcFrameStruct = (
    Struct(
        "format" / FrameFormat,
        # Address bytes end at the first byte with bit 0 set (Green Book 8.4.2.2).
        "destination" / RepeatUntil(obj_ & 1 == 1, Int8ub),
        "source" / RepeatUntil(obj_ & 1 == 1, Int8ub),
        "control" / Int8ub,
        "header_length" / Computed(3 + len_(this.destination) + len_(this.source)),
        "has_information" / Computed(this.format.length > this.header_length + 2),
        "hcs" / If(this.has_information, Int16ul),
        "information"
        / If(this.has_information, Bytes(this.format.length - this.header_length - 4)),
        "fcs" / Int16ul,
    )
    * "HDLC type-3 frame without its flags; checks are verified by parse_frame/encode_frame"
)


if TYPE_CHECKING:  # construct-typing's generics exist only in the stubs
    _IntConstruct = Construct[int, int]
    _BitStringBase = Adapter[Any, Any, BitString, BitString]
    _DateTimeBase = Adapter[bytes, bytes, CosemDateTime, CosemDateTime]
else:
    _IntConstruct = Construct
    _BitStringBase = _DateTimeBase = Adapter


class BerLength(_IntConstruct):
    """BER definite length as a Construct field. Stays uncompiled (custom class)."""

    def _parse(self, stream: Any, context: Any, path: str) -> int:
        first = stream.read(1)
        if len(first) != 1:
            raise MalformedData("data ends where a length was expected")
        head: int = first[0]
        if head < 0x80:
            return head
        count = head & 0x7F
        raw = stream.read(count)
        if count == 0 or count > 4 or len(raw) != count:
            raise MalformedData("bad BER length")
        return int.from_bytes(raw, "big")

    def _build(self, obj: int, stream: Any, context: Any, path: str) -> int:
        stream.write(encode_ber_length(obj))
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise NotImplementedError("BER length is variable")


class _BitStringAdapter(_BitStringBase):
    def _decode(self, obj: Any, context: Any, path: str) -> BitString:
        return BitString.from_bytes(obj.raw, obj.count)

    def _encode(self, obj: BitString, context: Any, path: str) -> dict[str, Any]:
        return {"count": len(obj.bits), "raw": obj.to_bytes()}


class _DateTimeAdapter(_DateTimeBase):
    def _decode(self, obj: bytes, context: Any, path: str) -> CosemDateTime:
        return CosemDateTime.from_bytes(obj)

    def _encode(self, obj: CosemDateTime, context: Any, path: str) -> bytes:
        return obj.to_bytes()


_VISIBLE = "latin-1"  # visible-string is ISO 646; latin-1 keeps any byte reversible

_SEQUENCE_OF: Final = Struct(
    "count" / BerLength(),
    "items" / ConstructArray(this.count, LazyBound(lambda: AxdrDataStruct)),
)

AxdrDataStruct: Construct[Any, Any] = (
    Struct(
        "type" / Int8ub,
        "value"
        / Switch(
            this.type,
            {
                DataType.NULL_DATA: Pass,
                DataType.ARRAY: _SEQUENCE_OF,
                DataType.STRUCTURE: _SEQUENCE_OF,
                DataType.BOOLEAN: Int8ub,
                DataType.BIT_STRING: _BitStringAdapter(
                    Struct("count" / BerLength(), "raw" / Bytes((this.count + 7) // 8))
                ),
                DataType.DOUBLE_LONG: Int32sb,
                DataType.DOUBLE_LONG_UNSIGNED: Int32ub,
                DataType.OCTET_STRING: Prefixed(BerLength(), GreedyBytes),
                DataType.VISIBLE_STRING: Prefixed(BerLength(), GreedyBytes),
                DataType.UTF8_STRING: Prefixed(BerLength(), GreedyBytes),
                DataType.BCD: Int8ub,
                DataType.INTEGER: Int8sb,
                DataType.LONG: Int16sb,
                DataType.UNSIGNED: Int8ub,
                DataType.LONG_UNSIGNED: Int16ub,
                DataType.LONG64: Int64sb,
                DataType.LONG64_UNSIGNED: Int64ub,
                DataType.ENUM: Int8ub,
                DataType.FLOAT32: Float32b,
                DataType.FLOAT64: Float64b,
                DataType.DATE_TIME: _DateTimeAdapter(Bytes(12)),
                DataType.DATE: Bytes(5),
                DataType.TIME: Bytes(4),
            },
        ),
    )
    * "Blue Book 4.1.5 Data CHOICE, A-XDR encoded (IEC 61334-6); the definition of the format"
)


DataNotificationStruct = (
    Struct(
        "tag" / Const(ApduTag.DATA_NOTIFICATION, Int8ub),
        "long_invoke_id_and_priority" / Int32ub,
        # date-time: octet-string, length prefix only (0x0C) or 0x00 when absent
        "date_time" / Prefixed(Int8ub, GreedyBytes),
        "notification_body" / GreedyBytes,
    )
    * "Green Book 9.5 Data-Notification; the body is one A-XDR Data value"
)


GeneralGloCipheringStruct = (
    Struct(
        "tag" / Int8ub,  # 0xDB glo, 0xDC ded: same layout
        "system_title" / Prefixed(Int8ub, GreedyBytes),
        "ciphered_content"
        / Prefixed(
            BerLength(),
            Struct(
                "security_control" / Int8ub,
                "invocation_counter" / Int32ub,
                "payload" / GreedyBytes,  # ciphertext, then the tag when SC has the A bit
            ),
        ),
    )
    * "Green Book 9.2.7.2.4 general-glo-ciphering: system-title, then SH || C || T"
)
