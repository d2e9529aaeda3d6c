"""ACSE APDUs of an association: AARQ (60), AARE (61), RLRQ (62), RLRE (63).

BER-encoded (Green Book 9.4 / IEC 62056-5-3 ACSE ASN.1), with the xDLMS Initiate APDU in the
user-information as an OCTET STRING. The fields OMNIPOWER and the standard clients use:
application-context-name [1], AP titles ([6] calling, [4] responding: the system titles of
HLS-GMAC), acse-requirements ([10] / [8]), mechanism-name ([11] / [9]), authentication value
([12] / [10], charstring [0]), result [2] and result-source-diagnostic [3] of the AARE. Unknown
optional fields are skipped on decoding, for interoperability, but never produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeAlias

from ..axdr import decode_ber_length, encode_ber_length
from ..errors import MalformedData, UnknownApdu
from .ciphering import CipheredPdu, parse_ciphered_pdu
from .enums import (
    LN_REFERENCING_NO_CIPHERING,
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    AssociationResult,
    ReleaseRequestReason,
    ReleaseResponseReason,
)
from .initiate import (
    INITIATE_REQUEST,
    INITIATE_RESPONSE,
    InitiateRequest,
    InitiateResponse,
    parse_initiate_request,
    parse_initiate_response,
)
from .refusal import CONFIRMED_SERVICE_ERROR, ConfirmedServiceError, parse_confirmed_service_error

__all__ = [
    "AARE",
    "AARQ",
    "RLRE",
    "RLRQ",
    "Aare",
    "Aarq",
    "Rlre",
    "Rlrq",
    "parse_aare",
    "parse_aarq",
    "parse_rlre",
    "parse_rlrq",
]

AARQ: Final = 0x60
AARE: Final = 0x61
RLRQ: Final = 0x62
RLRE: Final = 0x63

# Context tags (constructed A_, primitive 8_) of the fields we read and write.
_APPLICATION_CONTEXT: Final = 0xA1
_RESULT: Final = 0xA2
_RESULT_SOURCE_DIAGNOSTIC: Final = 0xA3
_RESPONDING_AP_TITLE: Final = 0xA4
_CALLING_AP_TITLE: Final = 0xA6
_SENDER_ACSE_REQUIREMENTS: Final = 0x8A
_MECHANISM_NAME: Final = 0x8B
_CALLING_AUTHENTICATION_VALUE: Final = 0xAC
_RESPONDER_ACSE_REQUIREMENTS: Final = 0x88
_RESPONDING_MECHANISM_NAME: Final = 0x89
_RESPONDING_AUTHENTICATION_VALUE: Final = 0xAA
_USER_INFORMATION: Final = 0xBE
_RELEASE_REASON: Final = 0x80
#: acse-requirements BIT STRING: 7 unused bits, bit 0 (authentication) set.
_AUTHENTICATION_REQUIRED: Final = b"\x07\x80"

AarqUserInformation: TypeAlias = InitiateRequest | CipheredPdu
AareUserInformation: TypeAlias = InitiateResponse | ConfirmedServiceError | CipheredPdu
Diagnostic: TypeAlias = AcseServiceUserDiagnostic | AcseServiceProviderDiagnostic


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + encode_ber_length(len(value)) + value


def _tlvs(body: bytes, what: str) -> list[tuple[int, bytes]]:
    """The (tag, value) elements of a BER SEQUENCE's content (single-byte tags only)."""
    fields = []
    pos = 0
    while pos < len(body):
        tag = body[pos]
        if tag & 0x1F == 0x1F:
            raise MalformedData(f"{what} carries a multi-byte BER tag {tag:#04x}")
        length, start = decode_ber_length(body, pos + 1)
        end = start + length
        if end > len(body):
            raise MalformedData(f"{what} field {tag:#04x} runs past the end")
        fields.append((tag, body[start:end]))
        pos = end
    return fields


def _envelope(apdu: bytes, tag: int, what: str) -> list[tuple[int, bytes]]:
    if not apdu:
        raise MalformedData(f"empty {what}")
    if apdu[0] != tag:
        raise UnknownApdu(apdu[0])
    length, start = decode_ber_length(apdu, 1)
    if start + length != len(apdu):
        raise MalformedData(f"{what} announces {length} bytes, {len(apdu) - start} follow")
    return _tlvs(apdu[start:], what)


def _oid(value: bytes, what: str) -> bytes:
    """The content of an OBJECT IDENTIFIER wrapped as ``06 len content``."""
    fields = _tlvs(value, what)
    if len(fields) != 1 or fields[0][0] != 0x06:
        raise MalformedData(f"{what} is not one OBJECT IDENTIFIER")
    return fields[0][1]


def _integer(value: bytes, what: str) -> int:
    fields = _tlvs(value, what)
    if len(fields) != 1 or fields[0][0] != 0x02 or not 1 <= len(fields[0][1]) <= 4:
        raise MalformedData(f"{what} is not one INTEGER")
    return int.from_bytes(fields[0][1], "big", signed=True)


def _octets_in(value: bytes, what: str) -> bytes:
    fields = _tlvs(value, what)
    if len(fields) != 1 or fields[0][0] != 0x04:
        raise MalformedData(f"{what} is not one OCTET STRING")
    return fields[0][1]


def _authentication_value(value: bytes, what: str) -> bytes:
    fields = _tlvs(value, what)
    if len(fields) != 1 or fields[0][0] not in (0x80, 0x81):
        raise MalformedData(f"{what} is not a charstring or bitstring")
    return fields[0][1]


def _ap_title(title: bytes) -> bytes:
    return _tlv(0x04, title)


def _user_information(apdu: bytes) -> bytes:
    return _tlv(_USER_INFORMATION, _tlv(0x04, apdu))


@dataclass(frozen=True, slots=True)
class Aarq:
    """Association request.

    ``mechanism_name`` (an OID's content bytes, e.g. :data:`MECHANISM_LLS`) and
    ``authentication_value`` (the LLS password or the HLS client-to-server challenge) go
    together; when present, sender-acse-requirements asks for authentication.
    """

    user_information: AarqUserInformation | None
    application_context_name: bytes = LN_REFERENCING_NO_CIPHERING
    calling_ap_title: bytes | None = None
    mechanism_name: bytes | None = None
    authentication_value: bytes | None = None

    def to_bytes(self) -> bytes:
        """The APDU."""
        body = _tlv(_APPLICATION_CONTEXT, _tlv(0x06, self.application_context_name))
        if self.calling_ap_title is not None:
            body += _tlv(_CALLING_AP_TITLE, _ap_title(self.calling_ap_title))
        if self.mechanism_name is not None:
            body += _tlv(_SENDER_ACSE_REQUIREMENTS, _AUTHENTICATION_REQUIRED)
            body += _tlv(_MECHANISM_NAME, self.mechanism_name)
        if self.authentication_value is not None:
            body += _tlv(_CALLING_AUTHENTICATION_VALUE, _tlv(0x80, self.authentication_value))
        if self.user_information is not None:
            body += _user_information(self.user_information.to_bytes())
        return _tlv(AARQ, body)


def _aarq_user_information(raw: bytes) -> AarqUserInformation:
    if raw[:1] == bytes([INITIATE_REQUEST]):
        return parse_initiate_request(raw)
    pdu = parse_ciphered_pdu(raw)
    if pdu.plain_tag != INITIATE_REQUEST:
        raise MalformedData(f"AARQ user-information is tagged {pdu.tag:#04x}")
    return pdu


def parse_aarq(apdu: bytes) -> Aarq:
    """Decode an AARQ; MalformedData or UnknownApdu on anything else."""
    context = None
    title = mechanism = value = None
    information: AarqUserInformation | None = None
    for tag, field in _envelope(apdu, AARQ, "AARQ"):
        if tag == _APPLICATION_CONTEXT:
            context = _oid(field, "application-context-name")
        elif tag == _CALLING_AP_TITLE:
            title = _octets_in(field, "calling-AP-title")
        elif tag == _MECHANISM_NAME:
            mechanism = field
        elif tag == _CALLING_AUTHENTICATION_VALUE:
            value = _authentication_value(field, "calling-authentication-value")
        elif tag == _USER_INFORMATION:
            information = _aarq_user_information(_octets_in(field, "user-information"))
    if context is None:
        raise MalformedData("AARQ without application-context-name")
    return Aarq(information, context, title, mechanism, value)


@dataclass(frozen=True, slots=True)
class Aare:
    """Association response: the result, its diagnostic, and the server's InitiateResponse.

    ``diagnostic`` is an acse-service-user code unless it is an
    :class:`AcseServiceProviderDiagnostic`.
    """

    result: AssociationResult
    diagnostic: Diagnostic
    user_information: AareUserInformation | None
    application_context_name: bytes = LN_REFERENCING_NO_CIPHERING
    responding_ap_title: bytes | None = None
    mechanism_name: bytes | None = None
    authentication_value: bytes | None = None

    def to_bytes(self) -> bytes:
        """The APDU."""
        body = _tlv(_APPLICATION_CONTEXT, _tlv(0x06, self.application_context_name))
        body += _tlv(_RESULT, _tlv(0x02, bytes([self.result])))
        source = 0xA2 if isinstance(self.diagnostic, AcseServiceProviderDiagnostic) else 0xA1
        body += _tlv(_RESULT_SOURCE_DIAGNOSTIC, _tlv(source, _tlv(0x02, bytes([self.diagnostic]))))
        if self.responding_ap_title is not None:
            body += _tlv(_RESPONDING_AP_TITLE, _ap_title(self.responding_ap_title))
        if self.mechanism_name is not None:
            body += _tlv(_RESPONDER_ACSE_REQUIREMENTS, _AUTHENTICATION_REQUIRED)
            body += _tlv(_RESPONDING_MECHANISM_NAME, self.mechanism_name)
        if self.authentication_value is not None:
            body += _tlv(_RESPONDING_AUTHENTICATION_VALUE, _tlv(0x80, self.authentication_value))
        if self.user_information is not None:
            body += _user_information(self.user_information.to_bytes())
        return _tlv(AARE, body)


def _aare_user_information(raw: bytes) -> AareUserInformation:
    if raw[:1] == bytes([INITIATE_RESPONSE]):
        return parse_initiate_response(raw)
    if raw[:1] == bytes([CONFIRMED_SERVICE_ERROR]):
        return parse_confirmed_service_error(raw)
    return parse_ciphered_pdu(raw)


def _diagnostic(field: bytes) -> Diagnostic:
    fields = _tlvs(field, "result-source-diagnostic")
    if len(fields) != 1 or fields[0][0] not in (0xA1, 0xA2):
        raise MalformedData("result-source-diagnostic is not acse-service-user or -provider")
    source, value = fields[0]
    code = _integer(value, "result-source-diagnostic")
    try:
        if source == 0xA1:
            return AcseServiceUserDiagnostic(code)
        return AcseServiceProviderDiagnostic(code)
    except ValueError:
        raise MalformedData(f"result-source-diagnostic {code} is undefined") from None


def parse_aare(apdu: bytes) -> Aare:
    """Decode an AARE; MalformedData or UnknownApdu on anything else."""
    context = None
    result = None
    diagnostic: Diagnostic | None = None
    title = mechanism = value = None
    information: AareUserInformation | None = None
    for tag, field in _envelope(apdu, AARE, "AARE"):
        if tag == _APPLICATION_CONTEXT:
            context = _oid(field, "application-context-name")
        elif tag == _RESULT:
            code = _integer(field, "result")
            try:
                result = AssociationResult(code)
            except ValueError:
                raise MalformedData(f"AARE result {code} is undefined") from None
        elif tag == _RESULT_SOURCE_DIAGNOSTIC:
            diagnostic = _diagnostic(field)
        elif tag == _RESPONDING_AP_TITLE:
            title = _octets_in(field, "responding-AP-title")
        elif tag == _RESPONDING_MECHANISM_NAME:
            mechanism = field
        elif tag == _RESPONDING_AUTHENTICATION_VALUE:
            value = _authentication_value(field, "responding-authentication-value")
        elif tag == _USER_INFORMATION:
            information = _aare_user_information(_octets_in(field, "user-information"))
    if context is None or result is None or diagnostic is None:
        raise MalformedData("AARE lacks its application context, result or diagnostic")
    return Aare(result, diagnostic, information, context, title, mechanism, value)


def _release(tag: int, reason: int | None, information: bytes | None) -> bytes:
    body = b"" if reason is None else _tlv(_RELEASE_REASON, bytes([reason]))
    if information is not None:
        body += _user_information(information)
    return _tlv(tag, body)


def _release_fields(apdu: bytes, tag: int, what: str) -> tuple[int | None, bytes | None]:
    reason = information = None
    for field_tag, field in _envelope(apdu, tag, what):
        if field_tag == _RELEASE_REASON:
            if len(field) != 1:
                raise MalformedData(f"{what} reason is not one byte")
            reason = field[0]
        elif field_tag == _USER_INFORMATION:
            information = _octets_in(field, "user-information")
    return reason, information


@dataclass(frozen=True, slots=True)
class Rlrq:
    """Release request; ``user_information`` is raw (a ciphered InitiateRequest under HLS)."""

    reason: ReleaseRequestReason | None = ReleaseRequestReason.NORMAL
    user_information: bytes | None = None

    def to_bytes(self) -> bytes:
        """The APDU."""
        return _release(RLRQ, self.reason, self.user_information)


def parse_rlrq(apdu: bytes) -> Rlrq:
    """Decode an RLRQ."""
    reason, information = _release_fields(apdu, RLRQ, "RLRQ")
    try:
        return Rlrq(None if reason is None else ReleaseRequestReason(reason), information)
    except ValueError:
        raise MalformedData(f"RLRQ reason {reason} is undefined") from None


@dataclass(frozen=True, slots=True)
class Rlre:
    """Release response."""

    reason: ReleaseResponseReason | None = ReleaseResponseReason.NORMAL
    user_information: bytes | None = None

    def to_bytes(self) -> bytes:
        """The APDU."""
        return _release(RLRE, self.reason, self.user_information)


def parse_rlre(apdu: bytes) -> Rlre:
    """Decode an RLRE."""
    reason, information = _release_fields(apdu, RLRE, "RLRE")
    try:
        return Rlre(None if reason is None else ReleaseResponseReason(reason), information)
    except ValueError:
        raise MalformedData(f"RLRE reason {reason} is undefined") from None
