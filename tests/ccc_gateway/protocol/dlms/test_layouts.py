"""The fast codecs agree with the Construct declarations of the xDLMS APDUs.

Every hypothesis-generated APDU (the strategy of test_apdus) that has a declaration parses with
it to the end and rebuilds to the same bytes; the fields the declaration reads are the fields
our dataclass holds.
"""

from __future__ import annotations

from typing import Any

import pytest
from construct import Construct
from hypothesis import given

from ccc_gateway.protocol.dlms.acse import Aare, Aarq, Rlre, Rlrq
from ccc_gateway.protocol.dlms.action import ActionRequestNormal, ActionResponseNormal
from ccc_gateway.protocol.dlms.ciphering import CipheredPdu
from ccc_gateway.protocol.dlms.codec import Apdu
from ccc_gateway.protocol.dlms.descriptors import AttributeDescriptor
from ccc_gateway.protocol.dlms.enums import Conformance
from ccc_gateway.protocol.dlms.get import (
    GetRequestNext,
    GetRequestNormal,
    GetResponseWithDatablock,
)
from ccc_gateway.protocol.dlms.initiate import InitiateRequest, InitiateResponse
from ccc_gateway.protocol.dlms.layouts import (
    ActionRequestStruct,
    ActionResponseStruct,
    ConfirmedServiceErrorStruct,
    ExceptionResponseStruct,
    GetRequestStruct,
    GetResponseStruct,
    GloCipheredStruct,
    InitiateRequestStruct,
    InitiateResponseStruct,
    SetRequestStruct,
    SetResponseStruct,
)

from .test_apdus import GET_PROFILE_BY_RANGE, apdus

_STRUCTS: dict[int, Construct[Any, Any]] = {
    0xC0: GetRequestStruct,
    0xC4: GetResponseStruct,
    0xC1: SetRequestStruct,
    0xC5: SetResponseStruct,
    0xC3: ActionRequestStruct,
    0xC7: ActionResponseStruct,
    0xD8: ExceptionResponseStruct,
    0x0E: ConfirmedServiceErrorStruct,
    **dict.fromkeys((0x21, 0x28, 0xC8, 0xC9, 0xCB, 0xCC, 0xCD, 0xCF), GloCipheredStruct),
}


@given(apdus)
def test_every_xdlms_apdu_agrees_with_its_declaration(apdu: Apdu) -> None:
    if isinstance(apdu, Aarq | Aare | Rlrq | Rlre):
        return  # BER: no declaration (see the layouts module docstring)
    raw = apdu.to_bytes()
    struct = _STRUCTS[raw[0]]
    parsed = struct.parse(raw)
    assert struct.build(parsed) == raw
    if isinstance(apdu, GetRequestNext):
        assert parsed.request.block_number == apdu.block_number
    if isinstance(apdu, GetResponseWithDatablock):
        assert parsed.response.last_block == apdu.last_block
        assert parsed.response.block_number == apdu.block_number
    if isinstance(apdu, ActionRequestNormal):
        assert parsed.method.class_id == apdu.method.class_id
        assert parsed.parameters.present == (apdu.parameters is not None)
    if isinstance(apdu, ActionResponseNormal):
        assert parsed.result == apdu.result
    if isinstance(apdu, CipheredPdu):
        assert parsed.content.invocation_counter == apdu.invocation_counter
        assert parsed.content.payload == apdu.payload


def test_the_vendors_range_read_through_the_declaration() -> None:
    parsed = GetRequestStruct.parse(GET_PROFILE_BY_RANGE)
    request = parsed.request
    assert AttributeDescriptor(
        request.attribute.class_id, request.attribute.instance, request.attribute.attribute
    ) == AttributeDescriptor.of(7, "1.1.99.1.0.255", 2)
    assert request.selection.access.selector == 1
    assert (
        GetRequestNormal(AttributeDescriptor.of(7, "1.1.99.1.0.255", 2)).to_bytes()[:12]
        == GET_PROFILE_BY_RANGE[:12]
    )


@pytest.mark.parametrize(
    ("initiate", "struct"),
    [
        (InitiateRequest(Conformance(0x00181D)), InitiateRequestStruct),
        (
            InitiateRequest(Conformance(0x007E1F), 0x04B0, dedicated_key=bytes(range(16))),
            InitiateRequestStruct,
        ),
        (InitiateResponse(Conformance(0x001010), 0x007D), InitiateResponseStruct),
    ],
)
def test_initiate_apdus_agree_with_their_declarations(
    initiate: InitiateRequest | InitiateResponse, struct: Construct[Any, Any]
) -> None:
    raw = initiate.to_bytes()
    parsed = struct.parse(raw)
    assert struct.build(parsed) == raw
    assert int.from_bytes(parsed.conformance.bits, "big") == initiate.conformance
