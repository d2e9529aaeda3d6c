"""Construct declarations of the xDLMS APDUs: the definition of their A-XDR layouts.

The dataclasses' ``to_bytes`` and the ``parse_*`` functions are the fast, typed codecs; the tests
hold them to agree with these declarations on every hypothesis-generated APDU (the pattern of
:mod:`ccc_gateway.protocol.layouts` for HDLC frames and A-XDR data). Imported only by the tests
and tools, never on the gateway's decode path: Construct costs start-up time.

The ACSE APDUs (AARQ, AARE, RLRQ, RLRE) are not declared here: they are BER, with optional
context-tagged fields identified by tag rather than position, which Construct can only express
as a generic tag-length-value loop that would restate :mod:`.acse` without checking it.

Sources: Green Book xDLMS ASN.1 (Get-Request, Get-Response, Set-Request, Set-Response,
Action-Request, Action-Response, ExceptionResponse, ConfirmedServiceError, InitiateRequest,
InitiateResponse, glo-ciphered APDUs); the byte layouts of [DLMS] §4.
"""

from __future__ import annotations

from typing import Any, Final

from construct import Array as ConstructArray
from construct import (
    Bytes,
    Const,
    Construct,
    Flag,
    GreedyBytes,
    If,
    Int8sb,
    Int8ub,
    Int16ub,
    Int32ub,
    LazyBound,
    Prefixed,
    Struct,
    Switch,
    this,
)

from ..layouts import AxdrDataStruct, BerLength

__all__ = [
    "ActionRequestStruct",
    "ActionResponseStruct",
    "ConfirmedServiceErrorStruct",
    "ExceptionResponseStruct",
    "GetRequestStruct",
    "GetResponseStruct",
    "GloCipheredStruct",
    "InitiateRequestStruct",
    "InitiateResponseStruct",
    "SetRequestStruct",
    "SetResponseStruct",
]

_DATA: Final = LazyBound(lambda: AxdrDataStruct)

AttributeDescriptorStruct = (
    Struct("class_id" / Int16ub, "instance" / Bytes(6), "attribute" / Int8sb)
    * "Cosem-Attribute-Descriptor: class-id Unsigned16, instance-id OCTET STRING(6), Integer8"
)
MethodDescriptorStruct = (
    Struct("class_id" / Int16ub, "instance" / Bytes(6), "method" / Int8sb)
    * "Cosem-Method-Descriptor"
)
_OPTIONAL_ACCESS: Final = Struct(
    "present" / Flag,
    "access" / If(this.present, Struct("selector" / Int8ub, "parameters" / _DATA)),
)
_ATTRIBUTE_WITH_SELECTION: Final = Struct(
    "attribute" / AttributeDescriptorStruct, "selection" / _OPTIONAL_ACCESS
)
_GET_DATA_RESULT: Final = Struct(
    "choice" / Int8ub,
    "result" / Switch(this.choice, {0: _DATA, 1: Int8ub}),
)
_RAW: Final = Prefixed(BerLength(), GreedyBytes)
_DATABLOCK_SA: Final = Struct("last_block" / Flag, "block_number" / Int32ub, "raw_data" / _RAW)
_CONFORMANCE: Final = Struct("head" / Const(b"\x5f\x1f\x04\x00"), "bits" / Bytes(3))


def _optional(subcon: Construct[Any, Any]) -> Construct[Any, Any]:
    """An A-XDR OPTIONAL: a 00/01 presence byte, then the value when present."""
    return Struct("present" / Flag, "value" / If(this.present, subcon))


GetRequestStruct = (
    Struct(
        "tag" / Const(0xC0, Int8ub),
        "choice" / Int8ub,
        "invoke_id_and_priority" / Int8ub,
        "request"
        / Switch(
            this.choice,
            {
                1: _ATTRIBUTE_WITH_SELECTION,
                2: Struct("block_number" / Int32ub),
                3: Struct(
                    "count" / BerLength(),
                    "items" / ConstructArray(this.count, _ATTRIBUTE_WITH_SELECTION),
                ),
            },
        ),
    )
    * "Get-Request: normal [1], next [2], with-list [3]"
)

GetResponseStruct = (
    Struct(
        "tag" / Const(0xC4, Int8ub),
        "choice" / Int8ub,
        "invoke_id_and_priority" / Int8ub,
        "response"
        / Switch(
            this.choice,
            {
                1: _GET_DATA_RESULT,
                2: Struct(
                    "last_block" / Flag,
                    "block_number" / Int32ub,
                    "choice" / Int8ub,
                    "result" / Switch(this.choice, {0: _RAW, 1: Int8ub}),
                ),
                3: Struct(
                    "count" / BerLength(),
                    "results" / ConstructArray(this.count, _GET_DATA_RESULT),
                ),
            },
        ),
    )
    * "Get-Response: normal [1], with-datablock [2] (DataBlock-G), with-list [3]"
)

SetRequestStruct = (
    Struct(
        "tag" / Const(0xC1, Int8ub),
        "choice" / Int8ub,
        "invoke_id_and_priority" / Int8ub,
        "request"
        / Switch(
            this.choice,
            {
                1: Struct(
                    "attribute" / AttributeDescriptorStruct,
                    "selection" / _OPTIONAL_ACCESS,
                    "value" / _DATA,
                ),
                2: Struct(
                    "attribute" / AttributeDescriptorStruct,
                    "selection" / _OPTIONAL_ACCESS,
                    "block" / _DATABLOCK_SA,
                ),
                3: Struct("block" / _DATABLOCK_SA),
                4: Struct(
                    "count" / BerLength(),
                    "items" / ConstructArray(this.count, _ATTRIBUTE_WITH_SELECTION),
                    "value_count" / BerLength(),
                    "values" / ConstructArray(this.value_count, _DATA),
                ),
            },
        ),
    )
    * "Set-Request: normal [1], with-first-datablock [2], with-datablock [3], with-list [4]"
)

SetResponseStruct = (
    Struct(
        "tag" / Const(0xC5, Int8ub),
        "choice" / Int8ub,
        "invoke_id_and_priority" / Int8ub,
        "response"
        / Switch(
            this.choice,
            {
                1: Struct("result" / Int8ub),
                2: Struct("block_number" / Int32ub),
                3: Struct("result" / Int8ub, "block_number" / Int32ub),
                5: Struct("count" / BerLength(), "results" / ConstructArray(this.count, Int8ub)),
            },
        ),
    )
    * "Set-Response: normal [1], datablock [2], last-datablock [3], with-list [5]"
)

ActionRequestStruct = (
    Struct(
        "tag" / Const(0xC3, Int8ub),
        "choice" / Const(1, Int8ub),
        "invoke_id_and_priority" / Int8ub,
        "method" / MethodDescriptorStruct,
        "parameters" / _optional(_DATA),
    )
    * "Action-Request-Normal: method descriptor, method-invocation-parameters Data OPTIONAL"
)

ActionResponseStruct = (
    Struct(
        "tag" / Const(0xC7, Int8ub),
        "choice" / Const(1, Int8ub),
        "invoke_id_and_priority" / Int8ub,
        "result" / Int8ub,
        "return_parameters" / _optional(_GET_DATA_RESULT),
    )
    * "Action-Response-Normal: Action-Result, return-parameters Get-Data-Result OPTIONAL"
)

ExceptionResponseStruct = (
    Struct(
        "tag" / Const(0xD8, Int8ub),
        "state_error" / Int8ub,
        "service_error" / Int8ub,
        "invocation_counter" / If(this.service_error == 6, Int32ub),
    )
    * "ExceptionResponse: state-error, service-error (invocation-counter-error carries a u32)"
)

ConfirmedServiceErrorStruct = (
    Struct(
        "tag" / Const(0x0E, Int8ub),
        "service" / Int8ub,
        "error_type" / Int8ub,
        "value" / Int8ub,
    )
    * "ConfirmedServiceError: service CHOICE, ServiceError CHOICE, its enum value"
)

InitiateRequestStruct = (
    Struct(
        "tag" / Const(0x01, Int8ub),
        "dedicated_key" / _optional(_RAW),
        "response_allowed" / _optional(Flag),
        "quality_of_service" / _optional(Int8ub),
        "dlms_version" / Int8ub,
        "conformance" / _CONFORMANCE,
        "client_max_receive_pdu_size" / Int16ub,
    )
    * "InitiateRequest (xDLMS-Initiate.request), A-XDR"
)

InitiateResponseStruct = (
    Struct(
        "tag" / Const(0x08, Int8ub),
        "quality_of_service" / _optional(Int8ub),
        "dlms_version" / Int8ub,
        "conformance" / _CONFORMANCE,
        "server_max_receive_pdu_size" / Int16ub,
        "vaa_name" / Int16ub,
    )
    * "InitiateResponse (xDLMS-Initiate.response), A-XDR"
)

GloCipheredStruct = (
    Struct(
        "tag" / Int8ub,
        "content"
        / Prefixed(
            BerLength(),
            Struct(
                "security_control" / Int8ub,
                "invocation_counter" / Int32ub,
                "payload" / GreedyBytes,
            ),
        ),
    )
    * "glo-ciphered APDU: tag, then the ciphered content SC || IC || C [|| T] as an octet string"
)
