"""SET service APDUs (Green Book xDLMS, tags C1 set-request and C5 set-response).

set-request: normal [1], with-first-datablock [2], with-datablock [3], with-list [4].
set-response: normal [1], datablock [2], last-datablock [3], with-list [5].
DataBlock-SA is {last-block BOOLEAN, block-number Unsigned32, raw-data OCTET STRING}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeAlias

from ..axdr import Data, encode_ber_length, encode_data
from ..errors import MalformedData, UnknownApdu
from .descriptors import (
    AttributeDescriptor,
    SelectiveAccess,
    read_optional_access,
    write_optional_access,
)
from .enums import DataAccessResult
from .get import DEFAULT_INVOKE_ID_AND_PRIORITY
from .wire import Reader, octet_string

__all__ = [
    "SET_REQUEST",
    "SET_RESPONSE",
    "DataBlockSa",
    "SetRequest",
    "SetRequestNormal",
    "SetRequestWithDatablock",
    "SetRequestWithFirstDatablock",
    "SetRequestWithList",
    "SetResponse",
    "SetResponseDatablock",
    "SetResponseLastDatablock",
    "SetResponseNormal",
    "SetResponseWithList",
    "parse_set_request",
    "parse_set_response",
]

SET_REQUEST: Final = 0xC1
SET_RESPONSE: Final = 0xC5


def _result(code: int) -> DataAccessResult:
    try:
        return DataAccessResult(code)
    except ValueError:
        raise MalformedData(f"data-access-result {code} is not defined") from None


@dataclass(frozen=True, slots=True)
class DataBlockSa:
    """One block of a long SET value."""

    last_block: bool
    block_number: int
    raw_data: bytes

    def to_bytes(self) -> bytes:
        """last-block, block-number, raw-data."""
        return (
            bytes([1 if self.last_block else 0])
            + self.block_number.to_bytes(4, "big")
            + octet_string(self.raw_data)
        )

    @classmethod
    def read(cls, reader: Reader) -> DataBlockSa:
        """Read one block."""
        return cls(reader.boolean("last-block"), reader.u32("block-number"), reader.octets("raw"))


@dataclass(frozen=True, slots=True)
class SetRequestNormal:
    """Write one attribute."""

    attribute: AttributeDescriptor
    value: Data
    access: SelectiveAccess | None = None
    invoke_id_and_priority: int = DEFAULT_INVOKE_ID_AND_PRIORITY

    def to_bytes(self) -> bytes:
        """The APDU."""
        return (
            bytes([SET_REQUEST, 1, self.invoke_id_and_priority])
            + self.attribute.to_bytes()
            + write_optional_access(self.access)
            + encode_data(self.value)
        )


@dataclass(frozen=True, slots=True)
class SetRequestWithFirstDatablock:
    """Write one attribute whose value does not fit one APDU: its first block."""

    attribute: AttributeDescriptor
    block: DataBlockSa
    access: SelectiveAccess | None = None
    invoke_id_and_priority: int = DEFAULT_INVOKE_ID_AND_PRIORITY

    def to_bytes(self) -> bytes:
        """The APDU."""
        return (
            bytes([SET_REQUEST, 2, self.invoke_id_and_priority])
            + self.attribute.to_bytes()
            + write_optional_access(self.access)
            + self.block.to_bytes()
        )


@dataclass(frozen=True, slots=True)
class SetRequestWithDatablock:
    """A following block of a long SET value."""

    block: DataBlockSa
    invoke_id_and_priority: int = DEFAULT_INVOKE_ID_AND_PRIORITY

    def to_bytes(self) -> bytes:
        """The APDU."""
        return bytes([SET_REQUEST, 3, self.invoke_id_and_priority]) + self.block.to_bytes()


@dataclass(frozen=True, slots=True)
class SetRequestWithList:
    """Write several attributes at once."""

    attributes: tuple[tuple[AttributeDescriptor, SelectiveAccess | None], ...]
    values: tuple[Data, ...]
    invoke_id_and_priority: int = DEFAULT_INVOKE_ID_AND_PRIORITY

    def to_bytes(self) -> bytes:
        """The APDU."""
        out = bytearray([SET_REQUEST, 4, self.invoke_id_and_priority])
        out += encode_ber_length(len(self.attributes))
        for attribute, access in self.attributes:
            out += attribute.to_bytes() + write_optional_access(access)
        out += encode_ber_length(len(self.values))
        for value in self.values:
            out += encode_data(value)
        return bytes(out)


SetRequest: TypeAlias = (
    SetRequestNormal | SetRequestWithFirstDatablock | SetRequestWithDatablock | SetRequestWithList
)


def parse_set_request(apdu: bytes) -> SetRequest:
    """Decode a set-request; MalformedData or UnknownApdu on anything else."""
    reader = Reader(apdu, what="set-request")
    if reader.u8("tag") != SET_REQUEST:
        raise UnknownApdu(apdu[0])
    choice = reader.u8("choice")
    invoke = reader.u8("invoke-id-and-priority")
    request: SetRequest
    if choice == 1:
        attribute = AttributeDescriptor.read(reader)
        access = read_optional_access(reader)
        request = SetRequestNormal(attribute, reader.data(), access, invoke)
    elif choice == 2:
        attribute = AttributeDescriptor.read(reader)
        access = read_optional_access(reader)
        request = SetRequestWithFirstDatablock(attribute, DataBlockSa.read(reader), access, invoke)
    elif choice == 3:
        request = SetRequestWithDatablock(DataBlockSa.read(reader), invoke)
    elif choice == 4:
        items = []
        for _ in range(reader.length("count")):
            attribute = AttributeDescriptor.read(reader)
            items.append((attribute, read_optional_access(reader)))
        values = tuple(reader.data() for _ in range(reader.length("count")))
        request = SetRequestWithList(tuple(items), values, invoke)
    else:
        raise MalformedData(f"set-request choice {choice} is not 1 to 4")
    reader.end()
    return request


@dataclass(frozen=True, slots=True)
class SetResponseNormal:
    """The outcome of a set-request-normal."""

    result: DataAccessResult
    invoke_id_and_priority: int = DEFAULT_INVOKE_ID_AND_PRIORITY

    def to_bytes(self) -> bytes:
        """The APDU."""
        return bytes([SET_RESPONSE, 1, self.invoke_id_and_priority, self.result])


@dataclass(frozen=True, slots=True)
class SetResponseDatablock:
    """Block *block_number* of a long SET was received; send the next."""

    block_number: int
    invoke_id_and_priority: int = DEFAULT_INVOKE_ID_AND_PRIORITY

    def to_bytes(self) -> bytes:
        """The APDU."""
        return bytes([SET_RESPONSE, 2, self.invoke_id_and_priority]) + self.block_number.to_bytes(
            4, "big"
        )


@dataclass(frozen=True, slots=True)
class SetResponseLastDatablock:
    """The outcome of a long SET, after its last block."""

    result: DataAccessResult
    block_number: int
    invoke_id_and_priority: int = DEFAULT_INVOKE_ID_AND_PRIORITY

    def to_bytes(self) -> bytes:
        """The APDU."""
        return bytes(
            [SET_RESPONSE, 3, self.invoke_id_and_priority, self.result]
        ) + self.block_number.to_bytes(4, "big")


@dataclass(frozen=True, slots=True)
class SetResponseWithList:
    """One outcome per attribute of a set-request-with-list."""

    results: tuple[DataAccessResult, ...]
    invoke_id_and_priority: int = DEFAULT_INVOKE_ID_AND_PRIORITY

    def to_bytes(self) -> bytes:
        """The APDU."""
        return (
            bytes([SET_RESPONSE, 5, self.invoke_id_and_priority])
            + encode_ber_length(len(self.results))
            + bytes(self.results)
        )


SetResponse: TypeAlias = (
    SetResponseNormal | SetResponseDatablock | SetResponseLastDatablock | SetResponseWithList
)


def parse_set_response(apdu: bytes) -> SetResponse:
    """Decode a set-response; MalformedData or UnknownApdu on anything else."""
    reader = Reader(apdu, what="set-response")
    if reader.u8("tag") != SET_RESPONSE:
        raise UnknownApdu(apdu[0])
    choice = reader.u8("choice")
    invoke = reader.u8("invoke-id-and-priority")
    response: SetResponse
    if choice == 1:
        response = SetResponseNormal(_result(reader.u8("result")), invoke)
    elif choice == 2:
        response = SetResponseDatablock(reader.u32("block-number"), invoke)
    elif choice == 3:
        result = _result(reader.u8("result"))
        response = SetResponseLastDatablock(result, reader.u32("block-number"), invoke)
    elif choice == 5:
        results = tuple(_result(reader.u8("result")) for _ in range(reader.length("count")))
        response = SetResponseWithList(results, invoke)
    else:
        raise MalformedData(f"set-response choice {choice} is not 1, 2, 3 or 5")
    reader.end()
    return response
