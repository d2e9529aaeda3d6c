"""GET service APDUs (Green Book xDLMS, tags C0 get-request and C4 get-response).

get-request: normal [1], next [2], with-list [3]. get-response: normal [1], with-datablock [2]
(block transfer, raw-data blocks), with-list [3]. Get-Data-Result is a CHOICE: data [0] or
data-access-result [1]. Byte layouts as in the vendor example of [DLMS] §4.
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
from .wire import Reader, octet_string

__all__ = [
    "GET_REQUEST",
    "GET_RESPONSE",
    "GetRequest",
    "GetRequestNext",
    "GetRequestNormal",
    "GetRequestWithList",
    "GetResponse",
    "GetResponseNormal",
    "GetResponseWithDatablock",
    "GetResponseWithList",
    "GetResult",
    "parse_get_request",
    "parse_get_response",
]

GET_REQUEST: Final = 0xC0
GET_RESPONSE: Final = 0xC4
#: invoke-id 1, confirmed service class bit clear, high priority: what the Kamstrup examples send.
DEFAULT_INVOKE_ID_AND_PRIORITY: Final = 0x81

#: Get-Data-Result: the value, or why there is none.
GetResult: TypeAlias = Data | DataAccessResult


def _write_result(result: GetResult) -> bytes:
    if isinstance(result, DataAccessResult):
        return bytes([1, result])
    return b"\x00" + encode_data(result)


def _read_result(reader: Reader) -> GetResult:
    choice = reader.u8("Get-Data-Result choice")
    if choice == 0:
        return reader.data()
    if choice == 1:
        return _access_result(reader.u8("data-access-result"))
    raise MalformedData(f"Get-Data-Result choice {choice} is not 0 (data) or 1 (error)")


def _access_result(code: int) -> DataAccessResult:
    try:
        return DataAccessResult(code)
    except ValueError:
        raise MalformedData(f"data-access-result {code} is not defined") from None


@dataclass(frozen=True, slots=True)
class GetRequestNormal:
    """Read one attribute, optionally with selective access."""

    attribute: AttributeDescriptor
    access: SelectiveAccess | None = None
    invoke_id_and_priority: int = DEFAULT_INVOKE_ID_AND_PRIORITY

    def to_bytes(self) -> bytes:
        """The APDU."""
        return (
            bytes([GET_REQUEST, 1, self.invoke_id_and_priority])
            + self.attribute.to_bytes()
            + write_optional_access(self.access)
        )


@dataclass(frozen=True, slots=True)
class GetRequestNext:
    """Ask for the block after *block_number* (the last one received)."""

    block_number: int
    invoke_id_and_priority: int = DEFAULT_INVOKE_ID_AND_PRIORITY

    def to_bytes(self) -> bytes:
        """The APDU."""
        return bytes([GET_REQUEST, 2, self.invoke_id_and_priority]) + self.block_number.to_bytes(
            4, "big"
        )


@dataclass(frozen=True, slots=True)
class GetRequestWithList:
    """Read several attributes at once (each with optional selective access)."""

    attributes: tuple[tuple[AttributeDescriptor, SelectiveAccess | None], ...]
    invoke_id_and_priority: int = DEFAULT_INVOKE_ID_AND_PRIORITY

    def to_bytes(self) -> bytes:
        """The APDU."""
        out = bytearray([GET_REQUEST, 3, self.invoke_id_and_priority])
        out += encode_ber_length(len(self.attributes))
        for attribute, access in self.attributes:
            out += attribute.to_bytes() + write_optional_access(access)
        return bytes(out)


GetRequest: TypeAlias = GetRequestNormal | GetRequestNext | GetRequestWithList


def parse_get_request(apdu: bytes) -> GetRequest:
    """Decode a get-request; MalformedData or UnknownApdu on anything else."""
    reader = Reader(apdu, what="get-request")
    if reader.u8("tag") != GET_REQUEST:
        raise UnknownApdu(apdu[0])
    choice = reader.u8("choice")
    invoke = reader.u8("invoke-id-and-priority")
    request: GetRequest
    if choice == 1:
        attribute = AttributeDescriptor.read(reader)
        request = GetRequestNormal(attribute, read_optional_access(reader), invoke)
    elif choice == 2:
        request = GetRequestNext(reader.u32("block-number"), invoke)
    elif choice == 3:
        count = reader.length("count")
        items = []
        for _ in range(count):
            attribute = AttributeDescriptor.read(reader)
            items.append((attribute, read_optional_access(reader)))
        request = GetRequestWithList(tuple(items), invoke)
    else:
        raise MalformedData(f"get-request choice {choice} is not 1, 2 or 3")
    reader.end()
    return request


@dataclass(frozen=True, slots=True)
class GetResponseNormal:
    """The value of one attribute, or the reason it could not be read."""

    result: GetResult
    invoke_id_and_priority: int = DEFAULT_INVOKE_ID_AND_PRIORITY

    def to_bytes(self) -> bytes:
        """The APDU."""
        return bytes([GET_RESPONSE, 1, self.invoke_id_and_priority]) + _write_result(self.result)


@dataclass(frozen=True, slots=True)
class GetResponseWithDatablock:
    """One block of a long response: raw A-XDR bytes, or the reason the transfer stopped."""

    last_block: bool
    block_number: int
    raw_data: bytes | DataAccessResult
    invoke_id_and_priority: int = DEFAULT_INVOKE_ID_AND_PRIORITY

    def to_bytes(self) -> bytes:
        """The APDU."""
        head = bytes([GET_RESPONSE, 2, self.invoke_id_and_priority, 1 if self.last_block else 0])
        head += self.block_number.to_bytes(4, "big")
        if isinstance(self.raw_data, DataAccessResult):
            return head + bytes([1, self.raw_data])
        return head + b"\x00" + octet_string(self.raw_data)


@dataclass(frozen=True, slots=True)
class GetResponseWithList:
    """One result per attribute of a get-request-with-list, in order."""

    results: tuple[GetResult, ...]
    invoke_id_and_priority: int = DEFAULT_INVOKE_ID_AND_PRIORITY

    def to_bytes(self) -> bytes:
        """The APDU."""
        out = bytearray([GET_RESPONSE, 3, self.invoke_id_and_priority])
        out += encode_ber_length(len(self.results))
        for result in self.results:
            out += _write_result(result)
        return bytes(out)


GetResponse: TypeAlias = GetResponseNormal | GetResponseWithDatablock | GetResponseWithList


def parse_get_response(apdu: bytes) -> GetResponse:
    """Decode a get-response; MalformedData or UnknownApdu on anything else."""
    reader = Reader(apdu, what="get-response")
    if reader.u8("tag") != GET_RESPONSE:
        raise UnknownApdu(apdu[0])
    choice = reader.u8("choice")
    invoke = reader.u8("invoke-id-and-priority")
    response: GetResponse
    if choice == 1:
        response = GetResponseNormal(_read_result(reader), invoke)
    elif choice == 2:
        last = reader.boolean("last-block")
        block = reader.u32("block-number")
        kind = reader.u8("DataBlock-G result choice")
        if kind == 0:
            raw: bytes | DataAccessResult = reader.octets("raw-data")
        elif kind == 1:
            raw = _access_result(reader.u8("data-access-result"))
        else:
            raise MalformedData(f"DataBlock-G result choice {kind} is not 0 or 1")
        response = GetResponseWithDatablock(last, block, raw, invoke)
    elif choice == 3:
        count = reader.length("count")
        response = GetResponseWithList(tuple(_read_result(reader) for _ in range(count)), invoke)
    else:
        raise MalformedData(f"get-response choice {choice} is not 1, 2 or 3")
    reader.end()
    return response


def split_blocks(encoded: bytes, block_size: int) -> list[bytes]:
    """The raw-data blocks a server sends for one long encoded value (at least one)."""
    if block_size < 1:
        raise ValueError("block size must be positive")
    return [encoded[i : i + block_size] for i in range(0, len(encoded), block_size)] or [b""]
