"""xDLMS and ACSE APDUs: byte-exact against published examples, round trips, garbage.

Published sources:
* [DLMS] Kamstrup "DLMS Protocol description" 5512-1424 D1 section 4 ([DLMS] §4): the
  public-association session and the LLS load-profile read with a range descriptor.
* Green Book AES-GCM and HLS-GMAC vectors as dlms-cosem's tests/test_security.py carries them
  ([GB]).
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ccc_gateway.protocol.axdr import CosemDateTime, Data, DataType
from ccc_gateway.protocol.cipher import Keys
from ccc_gateway.protocol.dlms.acse import Aare, Aarq, Rlre, Rlrq
from ccc_gateway.protocol.dlms.action import ActionRequestNormal, ActionResponseNormal
from ccc_gateway.protocol.dlms.ciphering import (
    CipheredPdu,
    cipher_pdu,
    decipher_pdu,
    hls_gmac_response,
    verify_hls_gmac_response,
)
from ccc_gateway.protocol.dlms.codec import Apdu, parse_apdu
from ccc_gateway.protocol.dlms.descriptors import (
    AttributeDescriptor,
    CaptureObject,
    EntryDescriptor,
    MethodDescriptor,
    RangeDescriptor,
    SelectiveAccess,
    parse_access_parameters,
)
from ccc_gateway.protocol.dlms.enums import (
    LN_REFERENCING_CIPHERED,
    MECHANISM_HLS_GMAC,
    MECHANISM_LLS,
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ActionResult,
    AssociationResult,
    ConfirmedServiceErrorChoice,
    Conformance,
    DataAccessResult,
    ExceptionServiceError,
    ExceptionStateError,
    ReleaseRequestReason,
    ReleaseResponseReason,
    ServiceErrorType,
)
from ccc_gateway.protocol.dlms.get import (
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
)
from ccc_gateway.protocol.dlms.initiate import InitiateRequest, InitiateResponse
from ccc_gateway.protocol.dlms.refusal import ConfirmedServiceError, ExceptionResponse
from ccc_gateway.protocol.dlms.set import (
    DataBlockSa,
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseNormal,
    SetResponseWithList,
)
from ccc_gateway.protocol.errors import (
    AuthenticationFailed,
    KeysSwapped,
    MalformedData,
    RemoteProtocolError,
    UnknownApdu,
)
from tests.ccc_gateway.protocol.test_axdr import values


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# --- [DLMS] 5512-1424 section 4: the APDUs of the vendor's example sessions -------------------

AARQ_PUBLIC = _hex(
    "60 1D A1 09 06 07 60857405080101 BE 10 04 0E 01 00 00 00 06 5F1F 04 00 00181D FFFF"
)
AARE_PUBLIC = _hex(
    "61 29 A1 09 06 07 60857405080101 A2 03 02 01 00 A3 05 A1 03 02 01 00"
    " BE 10 04 0E 08 00 06 5F1F 04 00 001010 007D 0007"
)
AARQ_LLS = _hex(
    "60 33 A1 09 06 07 60857405080101 8A 02 07 80 8B 07 60857405080201"
    " AC 07 80 05 3132333435 BE 10 04 0E 01 00 00 00 06 5F1F 04 00 00FE1F FFFF"
)
GET_METER_NUMBER = _hex("C0 01 81 0001 0101000001FF 02 00")
METER_NUMBER_RESPONSE = _hex("C4 01 81 00 06 00BC614F")
GET_PROFILE_BY_RANGE = _hex(
    "C0 01 81 0007 0101630100FF 02 01 01 02 04 02 04 12 0008 09 06 0001010000FF 0F 02 12 0000"
    " 09 0C 07DD0A19FF000000008000 80 09 0C 07DD0A1AFF000000008000 80 01 00"
)
GET_NEXT_AFTER_BLOCK_1 = _hex("C0 02 81 00000001")


def test_public_aarq_is_the_vendors() -> None:
    aarq = Aarq(InitiateRequest(Conformance(0x00181D)))
    assert aarq.to_bytes() == AARQ_PUBLIC
    assert parse_apdu(AARQ_PUBLIC) == aarq


def test_lls_aarq_is_the_vendors() -> None:
    aarq = Aarq(
        InitiateRequest(Conformance(0x00FE1F)),
        mechanism_name=MECHANISM_LLS,
        authentication_value=b"12345",
    )
    assert aarq.to_bytes() == AARQ_LLS
    assert parse_apdu(AARQ_LLS) == aarq


def test_aare_is_the_vendors_and_grants_get_with_blocks() -> None:
    aare = parse_apdu(AARE_PUBLIC)
    assert isinstance(aare, Aare)
    assert aare.result is AssociationResult.ACCEPTED
    assert aare.diagnostic is AcseServiceUserDiagnostic.NULL
    assert aare.user_information == InitiateResponse(
        Conformance.GET | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ, 0x007D
    )
    assert aare.to_bytes() == AARE_PUBLIC


def test_conformance_bits_read_as_the_vendor_names_them() -> None:
    """00 18 1D = block-GET, block-SET, GET, SET, selective access, ACTION ([DLMS] 4.2)."""
    assert Conformance(0x00181D) == (
        Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
        | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
        | Conformance.GET
        | Conformance.SET
        | Conformance.SELECTIVE_ACCESS
        | Conformance.ACTION
    )


def test_get_meter_number_and_its_response() -> None:
    request = GetRequestNormal(AttributeDescriptor.of(1, "1.1.0.0.1.255", 2))
    assert request.to_bytes() == GET_METER_NUMBER
    response = GetResponseNormal(Data(DataType.DOUBLE_LONG_UNSIGNED, 12345679))
    assert response.to_bytes() == METER_NUMBER_RESPONSE
    assert parse_apdu(METER_NUMBER_RESPONSE) == response


def test_load_profile_range_read_is_the_vendors() -> None:
    clock = CaptureObject(8, bytes([0, 1, 1, 0, 0, 255]), 2, 0)
    day = CosemDateTime(2013, 10, 25, 0xFF, 0, 0, 0, 0, -0x8000, 0x80)
    next_day = CosemDateTime(2013, 10, 26, 0xFF, 0, 0, 0, 0, -0x8000, 0x80)
    descriptor = RangeDescriptor(
        clock,
        Data(DataType.OCTET_STRING, day.to_bytes()),
        Data(DataType.OCTET_STRING, next_day.to_bytes()),
    )
    request = GetRequestNormal(
        AttributeDescriptor.of(7, "1.1.99.1.0.255", 2), descriptor.to_access()
    )
    assert request.to_bytes() == GET_PROFILE_BY_RANGE
    parsed = parse_apdu(GET_PROFILE_BY_RANGE)
    assert isinstance(parsed, GetRequestNormal)
    assert parsed.access is not None
    assert parse_access_parameters(parsed.access) == descriptor


def test_get_request_next_and_the_datablock_header() -> None:
    assert GetRequestNext(1).to_bytes() == GET_NEXT_AFTER_BLOCK_1
    head = _hex("C4 02 81 00 00000001 00 82 01CE")
    block = GetResponseWithDatablock(False, 1, bytes(0x1CE))
    assert block.to_bytes()[: len(head)] == head
    assert parse_apdu(block.to_bytes()) == block


def test_set_and_action_layouts() -> None:
    """[DLMS] §4: C1 01 inv class OBIS attr 00 data; C3 01 inv class OBIS method 01 data."""
    coupling = AttributeDescriptor.of(1, "1.1.128.0.0.255", 2)
    assert SetRequestNormal(coupling, Data(DataType.UNSIGNED, 1)).to_bytes() == _hex(
        "C1 01 81 0001 0101800000FF 02 00 11 01"
    )
    assert SetResponseNormal(DataAccessResult.READ_WRITE_DENIED).to_bytes() == _hex("C5 01 81 03")
    reset = MethodDescriptor.of(3, "1.1.1.8.0.255", 1)
    assert ActionRequestNormal(reset, Data(DataType.INTEGER, 0)).to_bytes() == _hex(
        "C3 01 81 0003 0101010800FF 01 01 0F 00"
    )
    assert ActionResponseNormal(ActionResult.SUCCESS).to_bytes() == _hex("C7 01 81 00 00")


def test_release_and_refusals() -> None:
    assert Rlrq().to_bytes() == _hex("62 03 80 01 00")
    assert Rlre().to_bytes() == _hex("63 03 80 01 00")
    assert Rlrq(None).to_bytes() == _hex("62 00")
    exception = ExceptionResponse(
        ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.INVOCATION_COUNTER_ERROR, 7
    )
    assert exception.to_bytes() == _hex("D8 01 06 00000007")
    refused = ConfirmedServiceError(
        ConfirmedServiceErrorChoice.INITIATE_ERROR, ServiceErrorType.INITIATE, 1
    )
    assert refused.to_bytes() == _hex("0E 01 06 01")


def test_rejecting_aare_with_a_confirmed_service_error_inside() -> None:
    aare = Aare(
        AssociationResult.REJECTED_PERMANENT,
        AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE,
        ConfirmedServiceError(
            ConfirmedServiceErrorChoice.INITIATE_ERROR, ServiceErrorType.INITIATE, 2
        ),
    )
    raw = aare.to_bytes()
    assert _hex("A2 03 02 01 01 A3 05 A1 03 02 01 0D") in raw
    assert parse_apdu(raw) == aare
    provider = Aare(
        AssociationResult.REJECTED_PERMANENT,
        AcseServiceProviderDiagnostic.NO_COMMON_ACSE_VERSION,
        None,
    )
    assert _hex("A3 05 A2 03 02 01 02") in provider.to_bytes()
    assert parse_apdu(provider.to_bytes()) == provider


# --- Green Book ciphering vectors ([GB]) ---------------------------------------------

EK = _hex("000102030405060708090A0B0C0D0E0F")
AK = _hex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
KEYS = Keys(EK, AK)
CLIENT_TITLE = _hex("4D4D4D0000BC614E")
IC = 0x01234567


def test_glo_get_request_vector() -> None:
    plain = _hex("C0010000080000010000FF0200")
    ciphered = cipher_pdu(plain, keys=KEYS, system_title=CLIENT_TITLE, invocation_counter=IC)
    expected = _hex("411312FF935A47566827C467BC") + _hex("7D825C3BE4A77C3FCC056B6B")
    assert ciphered.payload == expected
    wire = ciphered.to_bytes()
    assert wire[:7] == _hex("C8 1E 30 01234567")
    parsed = parse_apdu(wire)
    assert parsed == ciphered
    assert isinstance(parsed, CipheredPdu)
    assert decipher_pdu(parsed, keys=KEYS, system_title=CLIENT_TITLE) == plain


def test_glo_initiate_request_vector_in_an_aarq() -> None:
    initiate = InitiateRequest(
        Conformance(0x007E1F),
        client_max_receive_pdu_size=0x04B0,
        dedicated_key=_hex("00112233445566778899AABBCCDDEEFF"),
    )
    plain = _hex("01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0")
    assert initiate.to_bytes() == plain
    ciphered = cipher_pdu(plain, keys=KEYS, system_title=CLIENT_TITLE, invocation_counter=IC)
    assert ciphered.to_bytes()[:7] == _hex("21 30 30 01234567")
    assert ciphered.payload == _hex(
        "801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E356855"
    )
    aarq = Aarq(
        ciphered,
        application_context_name=LN_REFERENCING_CIPHERED,
        calling_ap_title=CLIENT_TITLE,
        mechanism_name=MECHANISM_HLS_GMAC,
        authentication_value=b"K56iVagY",
    )
    parsed = parse_apdu(aarq.to_bytes())
    assert parsed == aarq
    assert isinstance(parsed, Aarq)
    assert isinstance(parsed.user_information, CipheredPdu)
    assert decipher_pdu(parsed.user_information, keys=KEYS, system_title=CLIENT_TITLE) == plain


def test_hls_gmac_vectors() -> None:
    """Both directions of the Green Book HLS-GMAC example ([GB])."""
    client = hls_gmac_response(
        keys=KEYS,
        system_title=_hex("4D4D4D0000000001"),
        invocation_counter=1,
        challenge=_hex("503677524A323146"),
    )
    assert client == _hex("10 00000001 1A52FE7DD3E72748973C1E28")
    server = hls_gmac_response(
        keys=KEYS, system_title=CLIENT_TITLE, invocation_counter=IC, challenge=b"K56iVagY"
    )
    assert server == _hex("10 01234567 FE1466AFB3DBCD4F9389E2B7")
    assert (
        verify_hls_gmac_response(
            server, keys=KEYS, system_title=CLIENT_TITLE, challenge=b"K56iVagY"
        )
        == IC
    )
    with pytest.raises(AuthenticationFailed):
        verify_hls_gmac_response(
            server, keys=KEYS, system_title=CLIENT_TITLE, challenge=b"K56iVagZ"
        )


def test_deciphering_with_swapped_keys_says_so() -> None:
    ciphered = cipher_pdu(
        GET_METER_NUMBER, keys=KEYS, system_title=CLIENT_TITLE, invocation_counter=5
    )
    with pytest.raises(KeysSwapped):
        decipher_pdu(ciphered, keys=Keys(AK, EK), system_title=CLIENT_TITLE)


# --- round trips ---------------------------------------------------------------------------------

invokes = st.integers(0, 255)
instances = st.binary(min_size=6, max_size=6)
attributes = st.builds(
    AttributeDescriptor, st.integers(0, 0xFFFF), instances, st.integers(-128, 127)
)
methods = st.builds(MethodDescriptor, st.integers(0, 0xFFFF), instances, st.integers(-128, 127))
accesses = st.none() | st.builds(SelectiveAccess, st.integers(0, 255), values)
results = st.sampled_from(DataAccessResult)
get_results = values | results
conformances = st.builds(Conformance, st.integers(0, 0xFFFFFF).map(lambda v: v & ~0x810000))
octets = st.binary(max_size=40)

apdus: st.SearchStrategy[Apdu] = st.one_of(
    st.builds(GetRequestNormal, attributes, accesses, invokes),
    st.builds(GetRequestNext, st.integers(0, 2**32 - 1), invokes),
    st.builds(
        GetRequestWithList,
        st.lists(st.tuples(attributes, accesses), max_size=4).map(tuple),
        invokes,
    ),
    st.builds(GetResponseNormal, get_results, invokes),
    st.builds(
        GetResponseWithDatablock,
        st.booleans(),
        st.integers(0, 2**32 - 1),
        st.binary(max_size=300) | results,
        invokes,
    ),
    st.builds(GetResponseWithList, st.lists(get_results, max_size=4).map(tuple), invokes),
    st.builds(SetRequestNormal, attributes, values, accesses, invokes),
    st.builds(
        SetRequestWithFirstDatablock,
        attributes,
        st.builds(DataBlockSa, st.booleans(), st.integers(0, 2**32 - 1), octets),
        accesses,
        invokes,
    ),
    st.builds(
        SetRequestWithDatablock,
        st.builds(DataBlockSa, st.booleans(), st.integers(0, 2**32 - 1), octets),
        invokes,
    ),
    st.builds(
        SetRequestWithList,
        st.lists(st.tuples(attributes, accesses), max_size=3).map(tuple),
        st.lists(values, max_size=3).map(tuple),
        invokes,
    ),
    st.builds(SetResponseNormal, results, invokes),
    st.builds(SetResponseDatablock, st.integers(0, 2**32 - 1), invokes),
    st.builds(SetResponseLastDatablock, results, st.integers(0, 2**32 - 1), invokes),
    st.builds(SetResponseWithList, st.lists(results, max_size=5).map(tuple), invokes),
    st.builds(ActionRequestNormal, methods, st.none() | values, invokes),
    st.builds(
        ActionResponseNormal, st.sampled_from(ActionResult), st.none() | get_results, invokes
    ),
    st.builds(
        ExceptionResponse,
        st.sampled_from(ExceptionStateError),
        st.sampled_from(
            [
                e
                for e in ExceptionServiceError
                if e is not ExceptionServiceError.INVOCATION_COUNTER_ERROR
            ]
        ),
    ),
    st.builds(
        ExceptionResponse,
        st.sampled_from(ExceptionStateError),
        st.just(ExceptionServiceError.INVOCATION_COUNTER_ERROR),
        st.integers(0, 2**32 - 1),
    ),
    st.builds(
        ConfirmedServiceError,
        st.sampled_from(ConfirmedServiceErrorChoice),
        st.sampled_from(ServiceErrorType),
        st.integers(0, 255),
    ),
    st.builds(
        Aarq,
        st.none()
        | st.builds(
            InitiateRequest,
            conformances,
            st.integers(0, 0xFFFF),
            st.integers(0, 255),
            st.none() | st.binary(min_size=16, max_size=16),
            st.booleans(),
            st.none() | st.integers(0, 255),
        ),
        st.sampled_from([LN_REFERENCING_CIPHERED, bytes.fromhex("60857405080101")]),
        st.none() | st.binary(min_size=8, max_size=8),
        st.none() | st.sampled_from([MECHANISM_LLS, MECHANISM_HLS_GMAC]),
        st.none() | st.binary(min_size=1, max_size=64),
    ),
    st.builds(
        Aare,
        st.sampled_from(AssociationResult),
        st.sampled_from(AcseServiceUserDiagnostic) | st.sampled_from(AcseServiceProviderDiagnostic),
        st.none()
        | st.builds(
            InitiateResponse,
            conformances,
            st.integers(0, 0xFFFF),
            st.integers(0, 255),
            st.integers(0, 0xFFFF),
            st.none() | st.integers(0, 255),
        ),
        st.just(bytes.fromhex("60857405080101")),
        st.none() | st.binary(min_size=8, max_size=8),
        st.none() | st.sampled_from([MECHANISM_LLS, MECHANISM_HLS_GMAC]),
        st.none() | st.binary(min_size=8, max_size=64),
    ),
    st.builds(Rlrq, st.none() | st.sampled_from(ReleaseRequestReason), st.none() | octets),
    st.builds(Rlre, st.none() | st.sampled_from(ReleaseResponseReason), st.none() | octets),
    st.builds(
        CipheredPdu,
        st.sampled_from([0x21, 0x28, 0xC8, 0xC9, 0xCB, 0xCC, 0xCD, 0xCF]),
        st.integers(0, 255),
        st.integers(0, 2**32 - 1),
        st.binary(max_size=200),
    ),
)


@given(apdus)
def test_every_apdu_round_trips(apdu: Apdu) -> None:
    assert parse_apdu(apdu.to_bytes()) == apdu


@given(apdus, st.data())
def test_truncated_apdus_raise_named_errors(apdu: Apdu, data: st.DataObject) -> None:
    raw = apdu.to_bytes()
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(RemoteProtocolError):
        parse_apdu(raw[:cut])


@given(st.binary(max_size=200))
@example(b"\x60\x02\xa1\x00")
@example(b"\x61\x03\xa2\x01\x02")
@example(bytes.fromhex("C0 01 81 0001 0101000001FF 02 01 07 00"))
def test_garbage_raises_only_remote_protocol_errors(raw: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        parse_apdu(raw)


@given(st.builds(EntryDescriptor, *[st.integers(0, 2**32 - 1)] * 2, *[st.integers(0, 0xFFFF)] * 2))
def test_entry_descriptor_round_trips(descriptor: EntryDescriptor) -> None:
    assert parse_access_parameters(descriptor.to_access()) == descriptor


def test_unknown_tags_and_choices_are_named() -> None:
    with pytest.raises(UnknownApdu):
        parse_apdu(b"\x99\x00")
    with pytest.raises(MalformedData, match="choice 7"):
        parse_apdu(_hex("C0 07 81"))
    with pytest.raises(MalformedData, match="follow"):
        parse_apdu(GET_NEXT_AFTER_BLOCK_1 + b"\x00")
    with pytest.raises(MalformedData, match="selector 9"):
        parse_access_parameters(SelectiveAccess(9, Data(DataType.NULL_DATA, None)))


def test_manufacturer_attributes_are_negative_integer8() -> None:
    """Kamstrup's "attribute 255" of the load profile is Integer8 -1 on the wire."""
    logger_status = AttributeDescriptor.of(7, "1.1.99.1.0.255", 255)
    assert logger_status.attribute == -1
    assert logger_status.to_bytes()[-1] == 0xFF
    assert CaptureObject(7, bytes(6), 254).to_data().value[2] == Data(DataType.INTEGER, -2)
    with pytest.raises(ValueError, match="Integer8"):
        AttributeDescriptor.of(1, "1.1.0.0.1.255", 256)
