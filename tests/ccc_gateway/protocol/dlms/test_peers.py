"""Cross-checks with the third-party DLMS stacks installed for the tests (pyproject ``test``).

Encode with ours, decode with dlms-cosem (25.1.0) and Gurux (gurux-dlms), and the other way
round; and a Gurux client talks to our server link end to end, through HDLC segmentation and
GET block transfer. The peers are the real libraries: nothing is mocked.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from dlms_cosem import cosem, dlms_data
from dlms_cosem import enumerations as dc_enums
from dlms_cosem.cosem import selective_access
from dlms_cosem.cosem.capture_object import CaptureObject as DcCaptureObject
from dlms_cosem.hdlc import address as dc_address
from dlms_cosem.hdlc import frames as dc_frames
from dlms_cosem.protocol import acse as dc_acse
from dlms_cosem.protocol import xdlms as dc_xdlms
from dlms_cosem.protocol.xdlms.conformance import Conformance as DcConformance
from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
from gurux_dlms.enums import Authentication, InterfaceType
from gurux_dlms.objects import (
    GXDLMSCaptureObject,
    GXDLMSClock,
    GXDLMSData,
    GXDLMSProfileGeneric,
)

from ccc_gateway.protocol.axdr import CosemDateTime, Data, DataType, encode_data
from ccc_gateway.protocol.dlms.acse import Aare, Aarq, Rlre, Rlrq, parse_aarq
from ccc_gateway.protocol.dlms.action import ActionRequestNormal, ActionResponseNormal
from ccc_gateway.protocol.dlms.codec import Apdu, parse_apdu
from ccc_gateway.protocol.dlms.control import Control, FrameKind
from ccc_gateway.protocol.dlms.descriptors import (
    AttributeDescriptor,
    CaptureObject,
    EntryDescriptor,
    MethodDescriptor,
    RangeDescriptor,
    parse_access_parameters,
)
from ccc_gateway.protocol.dlms.enums import (
    MECHANISM_LLS,
    AcseServiceUserDiagnostic,
    ActionResult,
    AssociationResult,
    Conformance,
    DataAccessResult,
    ExceptionServiceError,
    ExceptionStateError,
)
from ccc_gateway.protocol.dlms.get import (
    GetRequestNext,
    GetRequestNormal,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
)
from ccc_gateway.protocol.dlms.initiate import InitiateRequest, InitiateResponse
from ccc_gateway.protocol.dlms.link import (
    ApduReceived,
    LinkConnected,
    LinkDisconnected,
    LinkState,
)
from ccc_gateway.protocol.dlms.link_client import ClientLink
from ccc_gateway.protocol.dlms.link_server import ServerLink
from ccc_gateway.protocol.dlms.refusal import ExceptionResponse
from ccc_gateway.protocol.dlms.set import SetRequestNormal, SetResponseNormal
from ccc_gateway.protocol.hdlc import HdlcAddress, parse_frame

METER_NUMBER = AttributeDescriptor.of(1, "1.1.0.0.1.255", 2)
COUPLING_STATE = AttributeDescriptor.of(1, "1.1.128.0.0.255", 2)
LOAD_PROFILE = AttributeDescriptor.of(7, "1.1.99.1.0.255", 2)
LLS_CONFORMANCE = Conformance(0x00181D)


def _dc_attribute(attribute: AttributeDescriptor) -> cosem.CosemAttribute:
    return cosem.CosemAttribute(
        dc_enums.CosemInterface(attribute.class_id),
        cosem.Obis.from_bytes(attribute.instance),
        attribute.attribute,
    )


# --- ours -> dlms-cosem ---------------------------------------------------------------------------


def _ours_to_dc() -> list[tuple[Apdu, Callable[[bytes], object]]]:
    aarq_lls = Aarq(
        InitiateRequest(LLS_CONFORMANCE),
        mechanism_name=MECHANISM_LLS,
        authentication_value=b"12345",
    )
    aare = Aare(
        AssociationResult.ACCEPTED,
        AcseServiceUserDiagnostic.NULL,
        InitiateResponse(Conformance.GET | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ, 1010),
    )
    rejected = Aare(
        AssociationResult.REJECTED_PERMANENT,
        AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE,
        None,
    )
    return [
        (aarq_lls, dc_acse.ApplicationAssociationRequest.from_bytes),
        (aare, dc_acse.ApplicationAssociationResponse.from_bytes),
        (rejected, dc_acse.ApplicationAssociationResponse.from_bytes),
        (Rlrq(), dc_acse.ReleaseRequest.from_bytes),
        (Rlre(), dc_acse.ReleaseResponse.from_bytes),
        (GetRequestNormal(METER_NUMBER), dc_xdlms.GetRequestFactory.from_bytes),
        (GetRequestNext(3), dc_xdlms.GetRequestFactory.from_bytes),
        (
            GetResponseNormal(DataAccessResult.OBJECT_UNDEFINED),
            dc_xdlms.GetResponseFactory.from_bytes,
        ),
        (
            GetResponseWithDatablock(False, 1, b"\x01\x02\x06\x00"),
            dc_xdlms.GetResponseFactory.from_bytes,
        ),
        (
            GetResponseWithDatablock(True, 2, b"\x00\x00\x01"),
            dc_xdlms.GetResponseFactory.from_bytes,
        ),
        (
            SetRequestNormal(COUPLING_STATE, Data(DataType.UNSIGNED, 1)),
            dc_xdlms.SetRequestFactory.from_bytes,
        ),
        (SetResponseNormal(DataAccessResult.SUCCESS), dc_xdlms.SetResponseFactory.from_bytes),
        (
            ActionRequestNormal(
                MethodDescriptor.of(3, "1.1.1.8.0.255", 1), Data(DataType.INTEGER, 0)
            ),
            dc_xdlms.ActionRequestFactory.from_bytes,
        ),
        (ActionResponseNormal(ActionResult.SUCCESS), dc_xdlms.ActionResponseFactory.from_bytes),
        (
            ActionResponseNormal(ActionResult.SUCCESS, Data(DataType.OCTET_STRING, b"\x10" * 17)),
            dc_xdlms.ActionResponseFactory.from_bytes,
        ),
        (
            ExceptionResponse(
                ExceptionStateError.SERVICE_NOT_ALLOWED,
                ExceptionServiceError.OPERATION_NOT_POSSIBLE,
            ),
            dc_xdlms.ExceptionResponse.from_bytes,
        ),
    ]


@pytest.mark.parametrize(
    ("ours", "theirs"),
    _ours_to_dc(),
    ids=lambda x: type(x).__name__ if isinstance(x, object) else "",
)
def test_dlms_cosem_decodes_ours_and_reencodes_the_same_bytes(
    ours: Apdu, theirs: Callable[[bytes], object]
) -> None:
    raw = ours.to_bytes()
    decoded = theirs(raw)
    assert decoded.to_bytes() == raw  # type: ignore[attr-defined]


def test_dlms_cosem_reads_our_fields() -> None:
    aarq = dc_acse.ApplicationAssociationRequest.from_bytes(
        Aarq(
            InitiateRequest(LLS_CONFORMANCE, 0x0400),
            mechanism_name=MECHANISM_LLS,
            authentication_value=b"12345",
        ).to_bytes()
    )
    assert aarq.authentication is dc_enums.AuthenticationMechanism.LLS
    assert bytes(aarq.authentication_value) == b"12345"
    initiate = aarq.user_information.content
    assert initiate.client_max_receive_pdu_size == 0x0400
    assert initiate.proposed_conformance.selective_access
    assert initiate.proposed_conformance.action
    # dlms-cosem 25.1.0 cannot re-encode a GetResponseNormal (a bug in its to_bytes): fields only.
    response = dc_xdlms.GetResponseFactory.from_bytes(
        GetResponseNormal(Data(DataType.DOUBLE_LONG_UNSIGNED, 12345679)).to_bytes()
    )
    assert response.data == bytes.fromhex("0600BC614F")
    assert response.invoke_id_and_priority.invoke_id == 1
    rejected = dc_acse.ApplicationAssociationResponse.from_bytes(
        Aare(
            AssociationResult.REJECTED_PERMANENT,
            AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE,
            None,
        ).to_bytes()
    )
    assert rejected.result is dc_enums.AssociationResult.REJECTED_PERMANENT
    assert (
        rejected.result_source_diagnostics
        is dc_enums.AcseServiceUserDiagnostics.AUTHENTICATION_FAILED
    )


# --- dlms-cosem -> ours ---------------------------------------------------------------------------


def test_ours_decodes_dlms_cosem_requests() -> None:
    aarq = dc_acse.ApplicationAssociationRequest(
        user_information=dc_acse.UserInformation(
            content=dc_xdlms.InitiateRequest(
                proposed_conformance=DcConformance(
                    get=True, set=True, action=True, block_transfer_with_get_or_read=True
                ),
                client_max_receive_pdu_size=1200,
            )
        ),
        authentication=dc_enums.AuthenticationMechanism.LLS,
        authentication_value=b"12345",
    )
    parsed = parse_apdu(aarq.to_bytes())
    assert isinstance(parsed, Aarq)
    assert parsed.mechanism_name == MECHANISM_LLS
    assert parsed.authentication_value == b"12345"
    assert parsed.user_information == InitiateRequest(
        Conformance.GET
        | Conformance.SET
        | Conformance.ACTION
        | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ,
        1200,
    )
    clock = cosem.CosemAttribute(dc_enums.CosemInterface.CLOCK, cosem.Obis(0, 1, 1, 0, 0), 2)
    by_range = dc_xdlms.GetRequestNormal(
        _dc_attribute(LOAD_PROFILE),
        access_selection=selective_access.RangeDescriptor(
            DcCaptureObject(clock, 0), datetime(2013, 10, 25), datetime(2013, 10, 26)
        ),
    )
    request = parse_apdu(by_range.to_bytes())
    assert isinstance(request, GetRequestNormal)
    assert request.attribute == LOAD_PROFILE
    assert request.access is not None
    descriptor = parse_access_parameters(request.access)
    assert descriptor.restricting_object.instance == bytes([0, 1, 1, 0, 0, 255])  # type: ignore[union-attr]
    # dlms-cosem 25.1.0 neither encodes nor decodes entry descriptors: Gurux checks those.
    set_request = dc_xdlms.SetRequestNormal(_dc_attribute(COUPLING_STATE), data=b"\x11\x01")
    assert parse_apdu(set_request.to_bytes()) == SetRequestNormal(
        COUPLING_STATE, Data(DataType.UNSIGNED, 1), None, set_request.to_bytes()[2]
    )
    assert parse_apdu(dc_xdlms.GetRequestNext(block_number=4).to_bytes()) == GetRequestNext(
        4, dc_xdlms.GetRequestNext(block_number=4).to_bytes()[2]
    )
    listed = dc_xdlms.GetResponseWithList(
        response_data=[
            dc_enums.DataAccessResult.OBJECT_UNDEFINED,
            dlms_data.DoubleLongUnsignedData(7),
        ],
    )
    parsed_list = parse_apdu(listed.to_bytes())
    assert isinstance(parsed_list, GetResponseWithList)
    assert parsed_list.results == (
        DataAccessResult.OBJECT_UNDEFINED,
        Data(DataType.DOUBLE_LONG_UNSIGNED, 7),
    )


def test_hdlc_frames_agree_with_dlms_cosem() -> None:
    """dlms-cosem's SNRM, I, RR and DISC drive our server link; its answers parse in theirs."""
    client = dc_address.HdlcAddress(16, address_type="client")
    server = dc_address.HdlcAddress(1, address_type="server")
    link = ServerLink()
    events = link.receive_data(dc_frames.SetNormalResponseModeFrame(server, client).to_bytes(), 0)
    assert [type(e) for e in events] == [LinkConnected]
    ua = dc_frames.UnNumberedAcknowledgmentFrame.from_bytes(link.data_to_send())
    assert ua.destination_address.logical_address == 16
    request = b"\xe6\xe6\x00" + GetRequestNormal(METER_NUMBER).to_bytes()
    information = dc_frames.InformationFrame(server, client, request, False, True, 0, 0)
    events = link.receive_data(information.to_bytes(), 0)
    assert events == [ApduReceived(GetRequestNormal(METER_NUMBER).to_bytes())]
    answer = GetResponseNormal(Data(DataType.DOUBLE_LONG_UNSIGNED, 1)).to_bytes()
    link.send_apdu(answer)
    theirs = dc_frames.InformationFrame.from_bytes(link.data_to_send())
    assert theirs.payload == b"\xe6\xe7\x00" + answer
    assert (theirs.send_sequence_number, theirs.receive_sequence_number) == (0, 1)
    link.receive_data(
        dc_frames.ReceiveReadyFrame(server, client, receive_sequence_number=1).to_bytes(), 0
    )
    rr = dc_frames.ReceiveReadyFrame.from_bytes(link.data_to_send())
    assert rr.receive_sequence_number == 1
    events = link.receive_data(dc_frames.DisconnectFrame(server, client).to_bytes(), 0)
    assert [type(e) for e in events] == [LinkDisconnected]
    assert dc_frames.UnNumberedAcknowledgmentFrame.from_bytes(link.data_to_send())


def test_our_client_frames_parse_in_dlms_cosem() -> None:
    link = ClientLink(client=16, server=HdlcAddress(1))
    link.connect(0)
    link.data_to_send()
    link.receive_data(
        dc_frames.UnNumberedAcknowledgmentFrame(
            dc_address.HdlcAddress(16, address_type="client"),
            dc_address.HdlcAddress(1, address_type="server"),
        ).to_bytes(),
        0,
    )
    assert link.state is LinkState.CONNECTED
    link.send_apdu(GetRequestNormal(METER_NUMBER).to_bytes(), 0)
    frame = dc_frames.InformationFrame.from_bytes(link.data_to_send())
    assert frame.payload == b"\xe6\xe6\x00" + GetRequestNormal(METER_NUMBER).to_bytes()
    assert frame.destination_address.logical_address == 1
    link.disconnect(0)
    disc = dc_frames.DisconnectFrame.from_bytes(link.data_to_send())
    assert disc.source_address.logical_address == 16


# --- Gurux: its client against our server link ------------------------------------------------


class _StubServer:
    """Our server link with a few fixed answers: enough to exercise Gurux's client."""

    def __init__(self, block_size: int) -> None:
        self.link = ServerLink()
        self.requests: list[Apdu] = []
        self.long_value = Data(
            DataType.ARRAY, tuple(Data(DataType.DOUBLE_LONG_UNSIGNED, i) for i in range(100))
        )
        raw = encode_data(self.long_value)
        self.blocks = [raw[i : i + block_size] for i in range(0, len(raw), block_size)]

    def answer(self, apdu: bytes) -> bytes:
        request = parse_apdu(apdu)
        self.requests.append(request)
        if isinstance(request, Aarq):
            ok = request.authentication_value == b"12345"
            return Aare(
                AssociationResult.ACCEPTED if ok else AssociationResult.REJECTED_PERMANENT,
                AcseServiceUserDiagnostic.NULL
                if ok
                else AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE,
                InitiateResponse(LLS_CONFORMANCE, 1010) if ok else None,
                mechanism_name=MECHANISM_LLS,
            ).to_bytes()
        if isinstance(request, GetRequestNormal) and request.attribute == METER_NUMBER:
            return GetResponseNormal(
                Data(DataType.DOUBLE_LONG_UNSIGNED, 12345679), request.invoke_id_and_priority
            ).to_bytes()
        if isinstance(request, GetRequestNormal):
            return GetResponseWithDatablock(
                False, 1, self.blocks[0], request.invoke_id_and_priority
            ).to_bytes()
        if isinstance(request, GetRequestNext):
            n = request.block_number
            return GetResponseWithDatablock(
                n + 1 == len(self.blocks), n + 1, self.blocks[n], request.invoke_id_and_priority
            ).to_bytes()
        if isinstance(request, SetRequestNormal):
            return SetResponseNormal(
                DataAccessResult.SUCCESS, request.invoke_id_and_priority
            ).to_bytes()
        if isinstance(request, Rlrq):
            return Rlre().to_bytes()
        raise AssertionError(f"unexpected {request}")


def _run(server: _StubServer, client: GXDLMSClient, request: bytes) -> GXReplyData:
    """Deliver one Gurux request; answer every frame until Gurux has the whole reply."""
    reply = GXReplyData()
    data = request
    for _ in range(100):
        for event in server.link.receive_data(data, 0.0):
            if isinstance(event, ApduReceived):
                server.link.send_apdu(server.answer(event.apdu))
        client.getData(GXByteBuffer(server.link.data_to_send()), reply, GXReplyData())
        if not reply.isMoreData():
            return reply
        data = bytes(client.receiverReady(reply))
    raise AssertionError("Gurux never got the whole reply")


@pytest.fixture
def gurux() -> GXDLMSClient:
    return GXDLMSClient(True, 19, 16, Authentication.LOW, "12345", InterfaceType.HDLC)


def test_gurux_associates_reads_and_releases(gurux: GXDLMSClient) -> None:
    server = _StubServer(block_size=200)
    gurux.parseUAResponse(_run(server, gurux, bytes(gurux.snrmRequest())).data)
    assert gurux.limits.maxInfoRX == 128
    gurux.parseAareResponse(_run(server, gurux, bytes(gurux.aarqRequest()[0])).data)
    aarq = server.requests[0]
    assert isinstance(aarq, Aarq)
    assert aarq.authentication_value == b"12345"
    meter_number = GXDLMSData("1.1.0.0.1.255")
    reply = _run(server, gurux, bytes(gurux.read(meter_number, 2)[0]))
    assert reply.value == 12345679
    assert isinstance(server.requests[-1], GetRequestNormal)


def test_gurux_reads_a_value_through_segments_and_blocks(gurux: GXDLMSClient) -> None:
    """200-byte blocks exceed Gurux's 128-byte information field: both mechanisms run."""
    server = _StubServer(block_size=200)
    _run(server, gurux, bytes(gurux.snrmRequest()))
    gurux.parseAareResponse(_run(server, gurux, bytes(gurux.aarqRequest()[0])).data)
    reply = _run(server, gurux, bytes(gurux.read(GXDLMSData("1.1.99.1.0.255"), 2)[0]))
    assert reply.value == list(range(100))
    nexts = [r for r in server.requests if isinstance(r, GetRequestNext)]
    assert [r.block_number for r in nexts] == list(range(1, len(server.blocks)))


def test_gurux_write_and_disconnect(gurux: GXDLMSClient) -> None:
    server = _StubServer(block_size=200)
    _run(server, gurux, bytes(gurux.snrmRequest()))
    gurux.parseAareResponse(_run(server, gurux, bytes(gurux.aarqRequest()[0])).data)
    coupling = GXDLMSData("1.1.128.0.0.255")
    coupling.value = 1
    from gurux_dlms.enums import DataType as GxDataType

    coupling.setDataType(2, GxDataType.UINT8)
    _run(server, gurux, bytes(gurux.write(coupling, 2)[0]))
    written = server.requests[-1]
    assert isinstance(written, SetRequestNormal)
    assert written.attribute == COUPLING_STATE
    assert written.value == Data(DataType.UNSIGNED, 1)
    server.link.receive_data(bytes(gurux.disconnectRequest()), 0.0)
    ua = parse_frame(server.link.data_to_send())
    assert Control.from_byte(ua.control).kind is FrameKind.UA


def test_gurux_requests_parse_in_ours(gurux: GXDLMSClient) -> None:
    """Gurux's AARQ and GET frames decode to exactly what they ask."""
    frame = parse_frame(bytes(gurux.aarqRequest()[0]))
    aarq = parse_aarq(frame.information[3:])
    assert aarq.mechanism_name == MECHANISM_LLS
    assert aarq.authentication_value == b"12345"
    assert frame.destination == HdlcAddress(16)
    assert frame.source == HdlcAddress(19)


def test_gurux_selective_access_requests_parse_in_ours(gurux: GXDLMSClient) -> None:
    """readRowsByEntry is an entry_descriptor, readRowsByRange a range_descriptor on the clock."""
    profile = GXDLMSProfileGeneric("1.1.99.1.0.255")
    clock = GXDLMSClock("0.1.1.0.0.255")
    profile.captureObjects.append((clock, GXDLMSCaptureObject(2, 0)))
    by_entry = parse_frame(bytes(gurux.readRowsByEntry(profile, 5, 10)[0]))
    request = parse_apdu(by_entry.information[3:])
    assert isinstance(request, GetRequestNormal)
    assert request.attribute == LOAD_PROFILE
    assert request.access is not None
    assert parse_access_parameters(request.access) == EntryDescriptor(5, 14, 1, 0)
    start, end = datetime(2013, 10, 25), datetime(2013, 10, 26)
    by_range = parse_frame(bytes(gurux.readRowsByRange(profile, start, end)[0]))
    request = parse_apdu(by_range.information[3:])
    assert isinstance(request, GetRequestNormal)
    assert request.access is not None
    descriptor = parse_access_parameters(request.access)
    assert isinstance(descriptor, RangeDescriptor)
    assert descriptor.restricting_object == CaptureObject(8, bytes([0, 1, 1, 0, 0, 255]), 2, 0)
    for value, moment in ((descriptor.from_value, start), (descriptor.to_value, end)):
        stamp = CosemDateTime.from_bytes(value.value)
        assert (stamp.year, stamp.month, stamp.day, stamp.hour) == (
            moment.year,
            moment.month,
            moment.day,
            moment.hour,
        )
