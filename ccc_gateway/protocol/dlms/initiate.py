"""xDLMS InitiateRequest (01) and InitiateResponse (08), carried in the ACSE user-information.

Green Book xDLMS ASN.1, A-XDR encoded. The conformance block is the one BER element inside:
``5F 1F`` (APPLICATION 31), length 4, 0 unused bits, 3 bytes ([DLMS] §4 shows both
APDUs from the vendor's example session).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..errors import MalformedData, UnknownApdu
from .enums import Conformance
from .wire import Reader, octet_string

__all__ = [
    "INITIATE_REQUEST",
    "INITIATE_RESPONSE",
    "LN_VAA_NAME",
    "InitiateRequest",
    "InitiateResponse",
    "parse_initiate_request",
    "parse_initiate_response",
]

INITIATE_REQUEST: Final = 0x01
INITIATE_RESPONSE: Final = 0x08
#: vaa-name of a logical-name-referencing association.
LN_VAA_NAME: Final = 0x0007
_CONFORMANCE_HEAD: Final = b"\x5f\x1f\x04\x00"


def _write_conformance(conformance: Conformance) -> bytes:
    return _CONFORMANCE_HEAD + int(conformance).to_bytes(3, "big")


def _read_conformance(reader: Reader) -> Conformance:
    head = reader.take(4, "conformance header")
    if head != _CONFORMANCE_HEAD:
        raise MalformedData(f"conformance block starts {head.hex().upper()}, not 5F1F0400")
    return Conformance(int.from_bytes(reader.take(3, "conformance"), "big"))


def _optional_u8(value: int | None) -> bytes:
    return b"\x00" if value is None else bytes([1, value & 0xFF])


@dataclass(frozen=True, slots=True)
class InitiateRequest:
    """What the client proposes: services, PDU size, DLMS version (6), optional dedicated key."""

    conformance: Conformance
    client_max_receive_pdu_size: int = 0xFFFF
    dlms_version: int = 6
    dedicated_key: bytes | None = None
    response_allowed: bool = True
    quality_of_service: int | None = None

    def to_bytes(self) -> bytes:
        """The APDU (response-allowed TRUE is sent as its DEFAULT, 00)."""
        out = bytearray([INITIATE_REQUEST])
        out += b"\x00" if self.dedicated_key is None else b"\x01" + octet_string(self.dedicated_key)
        out += b"\x00" if self.response_allowed else b"\x01\x00"
        out += _optional_u8(self.quality_of_service)
        out.append(self.dlms_version)
        out += _write_conformance(self.conformance)
        out += self.client_max_receive_pdu_size.to_bytes(2, "big")
        return bytes(out)


def parse_initiate_request(apdu: bytes) -> InitiateRequest:
    """Decode an InitiateRequest."""
    reader = Reader(apdu, what="InitiateRequest")
    if reader.u8("tag") != INITIATE_REQUEST:
        raise UnknownApdu(apdu[0])
    key = reader.octets("dedicated-key") if reader.optional("dedicated-key") else None
    allowed = reader.boolean("response-allowed") if reader.optional("response-allowed") else True
    qos = reader.u8("quality-of-service") if reader.optional("quality-of-service") else None
    version = reader.u8("dlms-version-number")
    conformance = _read_conformance(reader)
    size = reader.u16("client-max-receive-pdu-size")
    reader.end()
    return InitiateRequest(conformance, size, version, key, allowed, qos)


@dataclass(frozen=True, slots=True)
class InitiateResponse:
    """What the server grants: negotiated services and its own receive PDU size."""

    conformance: Conformance
    server_max_receive_pdu_size: int
    dlms_version: int = 6
    vaa_name: int = LN_VAA_NAME
    quality_of_service: int | None = None

    def to_bytes(self) -> bytes:
        """The APDU."""
        return (
            bytes([INITIATE_RESPONSE])
            + _optional_u8(self.quality_of_service)
            + bytes([self.dlms_version])
            + _write_conformance(self.conformance)
            + self.server_max_receive_pdu_size.to_bytes(2, "big")
            + self.vaa_name.to_bytes(2, "big")
        )


def parse_initiate_response(apdu: bytes) -> InitiateResponse:
    """Decode an InitiateResponse."""
    reader = Reader(apdu, what="InitiateResponse")
    if reader.u8("tag") != INITIATE_RESPONSE:
        raise UnknownApdu(apdu[0])
    qos = reader.u8("quality-of-service") if reader.optional("quality-of-service") else None
    version = reader.u8("dlms-version-number")
    conformance = _read_conformance(reader)
    size = reader.u16("server-max-receive-pdu-size")
    vaa = reader.u16("vaa-name")
    reader.end()
    return InitiateResponse(conformance, size, version, vaa, qos)
