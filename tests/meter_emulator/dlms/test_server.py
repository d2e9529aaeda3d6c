"""The emulator's DLMS server against our client, Gurux's client, and random requests.

The meter model is the dictionary-backed FakeMeter (the real model plugs in through the same
MeterProvider protocol).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
from gurux_dlms.enums import Authentication as GxAuthentication
from gurux_dlms.enums import InterfaceType
from gurux_dlms.objects import GXDLMSRegister
from hypothesis import given
from hypothesis import strategies as st

from ccc_gateway.protocol.axdr import CosemDateTime, Data, DataType, decode_data, encode_data
from ccc_gateway.protocol.dlms.acse import Aare, Aarq, Rlre, Rlrq
from ccc_gateway.protocol.dlms.client import (
    ActionOutcome,
    Associated,
    AttributeValue,
    ClientEvent,
    DlmsClient,
    ExchangeFailed,
    Released,
    SetOutcome,
)
from ccc_gateway.protocol.dlms.codec import parse_apdu
from ccc_gateway.protocol.dlms.descriptors import (
    AttributeDescriptor,
    EntryDescriptor,
    MethodDescriptor,
    RangeDescriptor,
)
from ccc_gateway.protocol.dlms.enums import (
    AcseServiceUserDiagnostic,
    ActionResult,
    AssociationResult,
    Conformance,
    DataAccessResult,
)
from ccc_gateway.protocol.dlms.get import (
    GetRequestNext,
    GetRequestNormal,
    GetResponseNormal,
    GetResponseWithDatablock,
)
from ccc_gateway.protocol.dlms.initiate import InitiateRequest
from ccc_gateway.protocol.dlms.link import LinkConnected
from ccc_gateway.protocol.dlms.refusal import ExceptionResponse
from ccc_gateway.protocol.dlms.set import (
    DataBlockSa,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetResponseDatablock,
    SetResponseLastDatablock,
)
from ccc_gateway.protocol.errors import AssociationRejected, ServiceRefused
from ccc_gateway.protocol.hdlc import HdlcAddress
from meter_emulator.dlms.application import ServerSession
from meter_emulator.dlms.association import AssociationStatus
from meter_emulator.dlms.provider import build_omnipower_registry, omnipower_associations
from meter_emulator.dlms.server import DlmsServer
from tests.ccc_gateway.protocol.dlms.test_apdus import apdus

from .fake_meter import CLOCK_COLUMN, START, FakeMeter, stamp

METER_NUMBER = AttributeDescriptor.of(1, "1.1.0.0.1.255", 2)
SERIAL = AttributeDescriptor.of(1, "1.1.96.1.0.255", 2)
COUPLING = AttributeDescriptor.of(1, "1.1.128.0.0.255", 2)
CUTOFF_BASIS = AttributeDescriptor.of(1, "1.1.128.0.11.255", 2)
CURRENT_L1 = AttributeDescriptor.of(3, "1.1.31.7.0.255", 2)
CURRENT_L1_SCALER = AttributeDescriptor.of(3, "1.1.31.7.0.255", 3)
CLOCK = AttributeDescriptor.of(8, "0.1.1.0.0.255", 2)
PROFILE = AttributeDescriptor.of(7, "1.1.99.1.0.255", 2)
OBJECT_LIST = AttributeDescriptor.of(15, "0.0.40.0.0.255", 2)


def _server(meter: FakeMeter | None = None, **kwargs: object) -> tuple[DlmsServer, FakeMeter]:
    meter = meter or FakeMeter()
    associations = omnipower_associations(**kwargs)  # type: ignore[arg-type]
    return DlmsServer(build_omnipower_registry(meter, associations), associations), meter


class Session:
    """Our client against the emulator's server, in memory."""

    def __init__(
        self,
        client: int = 19,
        password: bytes | None = b"12345",
        logical: int = 16,
        **kwargs: object,
    ) -> None:
        self.server, self.meter = _server(None, **kwargs)
        self.client = DlmsClient(client=client, server=HdlcAddress(logical), password=password)
        self.now = 0.0
        self.client.connect(self.now)
        assert [type(e) for e in self.run()] == [LinkConnected]

    def run(self) -> list[ClientEvent]:
        events: list[ClientEvent] = []
        for _ in range(10_000):
            out = self.client.data_to_send()
            if out:
                self.server.receive_data(out, self.now)
            back = self.server.data_to_send()
            if back:
                events += self.client.receive_data(back, self.now)
            if not out and not back:
                deadline = self.client.next_deadline
                if deadline is None:
                    return events
                self.now = deadline
                events += self.client.timer(self.now)
        raise AssertionError("never quiet")

    def associate(self) -> ClientEvent:
        self.client.associate(self.now)
        (event,) = self.run()
        return event

    def get(self, attribute: AttributeDescriptor, access: object = None) -> Data | DataAccessResult:
        self.client.get(attribute, self.now, access)  # type: ignore[arg-type]
        (event,) = self.run()
        assert isinstance(event, AttributeValue), event
        return event.result

    def set(self, attribute: AttributeDescriptor, value: Data) -> DataAccessResult:
        self.client.set(attribute, value, self.now)
        (event,) = self.run()
        assert isinstance(event, SetOutcome), event
        return event.result


@pytest.fixture
def optical() -> Session:
    session = Session()
    assert isinstance(session.associate(), Associated)
    return session


def test_public_association_reads_but_cannot_write() -> None:
    session = Session(client=16, password=None, logical=1)
    associated = session.associate()
    assert isinstance(associated, Associated)
    assert associated.conformance == Conformance.GET | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    assert session.get(METER_NUMBER) == Data(DataType.DOUBLE_LONG_UNSIGNED, 12345678)
    session.client.set(COUPLING, Data(DataType.UNSIGNED, 1), session.now)
    (event,) = session.run()
    assert isinstance(event, ExchangeFailed)
    assert isinstance(event.error, ServiceRefused)
    assert session.meter.writes == []


def test_optical_lls_grants_get_set_action_and_selective_access(optical: Session) -> None:
    assert optical.client.session.negotiated == (
        Conformance.GET
        | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
        | Conformance.SET
        | Conformance.ACTION
        | Conformance.SELECTIVE_ACCESS
    )


@pytest.mark.parametrize(
    ("kwargs", "diagnostic"),
    [
        ({"password": b"00000"}, AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE),
        ({"client": 17}, AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE),  # unknown client
        ({"password": None}, AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED),
    ],
)
def test_rejections_name_their_reason(
    kwargs: dict[str, object], diagnostic: AcseServiceUserDiagnostic
) -> None:
    session = Session(**kwargs)  # type: ignore[arg-type]
    event = session.associate()
    assert isinstance(event, ExchangeFailed)
    assert isinstance(event.error, AssociationRejected)
    assert event.error.result == AssociationResult.REJECTED_PERMANENT
    assert event.error.diagnostic == diagnostic


def test_ccc_association_only_while_push_is_off() -> None:
    push_on = True
    session = Session(client=20, ccc_available=lambda: not push_on)
    event = session.associate()
    assert isinstance(event, ExchangeFailed)
    assert isinstance(event.error, AssociationRejected)
    assert event.error.result == AssociationResult.REJECTED_TRANSIENT
    push_on = False
    assert isinstance(session.associate(), Associated)


def test_registers_with_scaler_unit_and_the_clock(optical: Session) -> None:
    assert optical.get(CURRENT_L1) == Data(DataType.DOUBLE_LONG_UNSIGNED, 1000)
    assert optical.get(CURRENT_L1_SCALER) == Data(
        DataType.STRUCTURE,
        (Data(DataType.INTEGER, -2), Data(DataType.ENUM, 33)),  # A
    )
    clock = optical.get(CLOCK)
    assert isinstance(clock, Data)
    assert CosemDateTime.from_bytes(clock.value).dst


def test_coupling_state_write_and_read_back(optical: Session) -> None:
    assert optical.set(COUPLING, Data(DataType.UNSIGNED, 1)) == DataAccessResult.SUCCESS
    assert optical.get(COUPLING) == Data(DataType.UNSIGNED, 1)
    assert optical.set(COUPLING, Data(DataType.LONG, 1)) == DataAccessResult.TYPE_UNMATCHED


def test_access_rules(optical: Session) -> None:
    """R(W) only through the primary module; R never; unknown objects and classes named."""
    assert optical.set(CUTOFF_BASIS, Data(DataType.UNSIGNED, 2)) == (
        DataAccessResult.READ_WRITE_DENIED
    )
    assert optical.set(SERIAL, Data(DataType.DOUBLE_LONG_UNSIGNED, 1)) == (
        DataAccessResult.READ_WRITE_DENIED
    )
    assert optical.get(AttributeDescriptor.of(1, "1.1.96.1.9.255", 2)) == (
        DataAccessResult.OBJECT_UNDEFINED
    )
    assert optical.get(AttributeDescriptor.of(3, "1.1.0.0.1.255", 2)) == (
        DataAccessResult.OBJECT_CLASS_INCONSISTENT
    )
    assert optical.get(AttributeDescriptor.of(1, "1.1.0.0.1.255", 9)) == (
        DataAccessResult.OBJECT_UNDEFINED
    )
    assert optical.get(AttributeDescriptor.of(15, "0.0.40.0.0.255", 7)) == (
        DataAccessResult.READ_WRITE_DENIED  # the secret
    )
    assert optical.meter.writes == []
    primary = Session(client=18)
    primary.associate()
    assert primary.set(CUTOFF_BASIS, Data(DataType.UNSIGNED, 2)) == DataAccessResult.SUCCESS


def test_single_phase_meter_has_no_l2_l3_objects() -> None:
    session = Session()
    session.server, _ = _server(FakeMeter(phases=1))
    session.client = DlmsClient(client=19, password=b"12345")
    session.client.connect(0)
    session.run()
    session.associate()
    voltage_l2 = AttributeDescriptor.of(3, "1.1.52.7.0.255", 2)
    assert session.get(voltage_l2) == DataAccessResult.OBJECT_UNDEFINED


def test_the_object_list_describes_every_visible_object(optical: Session) -> None:
    object_list = optical.get(OBJECT_LIST)
    assert isinstance(object_list, Data)
    entries = {item.value[2].value: item.value for item in object_list.value}
    assert len(entries) == len(optical.server.registry)
    coupling = entries[bytes.fromhex("0101800000FF")]
    assert coupling[0].value == 1  # class
    rights = coupling[3].value[0].value  # attribute_access
    assert [(r.value[0].value, r.value[1].value) for r in rights] == [(1, 1), (2, 3)]


def test_load_profile_in_blocks(optical: Session) -> None:
    buffer = optical.get(PROFILE)
    assert isinstance(buffer, Data)
    assert len(buffer.value) == 96
    assert len(encode_data(buffer)) > 1010  # it really took several blocks


def test_load_profile_by_range_and_by_entry(optical: Session) -> None:
    by_range = RangeDescriptor(
        CLOCK_COLUMN, stamp(START), stamp(datetime(2013, 10, 25, 2, 0))
    ).to_access()
    rows = optical.get(PROFILE, by_range)
    assert isinstance(rows, Data)
    assert len(rows.value) == 9  # 00:00 to 02:00 inclusive, every 15 min
    columns = RangeDescriptor(CLOCK_COLUMN, stamp(START), stamp(START), (CLOCK_COLUMN,)).to_access()
    selected = optical.get(PROFILE, columns)
    assert isinstance(selected, Data)
    (only,) = selected.value
    assert only.value == (stamp(START),)
    entries = optical.get(PROFILE, EntryDescriptor(5, 10, 5, 6).to_access())
    assert isinstance(entries, Data)
    assert [tuple(c.value for c in row.value) for row in entries.value] == [
        (1000 * i, 1000 * i + 1) for i in range(4, 10)
    ]


def test_capture_period_clock_and_methods(optical: Session) -> None:
    period = AttributeDescriptor.of(7, "1.1.99.1.0.255", 4)
    assert optical.set(period, Data(DataType.DOUBLE_LONG_UNSIGNED, 3600)) == (
        DataAccessResult.SUCCESS
    )
    assert optical.get(period) == Data(DataType.DOUBLE_LONG_UNSIGNED, 3600)
    new_time = CosemDateTime(2024, 1, 2, 2, 3, 4, 5, 0xFF, -0x8000, 0)
    assert optical.set(CLOCK, Data(DataType.OCTET_STRING, new_time.to_bytes())) == (
        DataAccessResult.SUCCESS
    )
    assert optical.meter.now == new_time
    shift = MethodDescriptor.of(8, "0.1.1.0.0.255", 6)
    optical.client.action(shift, optical.now, Data(DataType.LONG, 60))
    assert optical.run() == [ActionOutcome(shift, ActionResult.SUCCESS, None)]
    assert optical.meter.now.minute == 5  # 03:04:05 + 60 s
    reset = MethodDescriptor.of(3, "1.1.1.8.0.255", 1)
    optical.client.action(reset, optical.now, Data(DataType.INTEGER, 0))
    assert optical.run() == [ActionOutcome(reset, ActionResult.READ_WRITE_DENIED, None)]
    optical.client.release(optical.now)
    assert isinstance(optical.run()[0], Released)


# --- the application layer alone ------------------------------------------------------------


def _session(client_sap: int = 19, logical: int = 16) -> ServerSession:
    meter = FakeMeter()
    configs = omnipower_associations()
    return ServerSession(
        build_omnipower_registry(meter, configs),
        configs,
        client_sap=client_sap,
        logical_device=logical,
    )


def _associate(session: ServerSession) -> None:
    aarq = Aarq(
        InitiateRequest(Conformance(0x00FE1F)),
        mechanism_name=bytes.fromhex("60857405080201"),
        authentication_value=b"12345",
    )
    aare = parse_apdu(session.handle(aarq.to_bytes()))
    assert isinstance(aare, Aare)
    assert aare.result is AssociationResult.ACCEPTED


def test_services_before_association_get_an_exception_response() -> None:
    session = _session()
    answer = parse_apdu(session.handle(GetRequestNormal(METER_NUMBER).to_bytes()))
    assert isinstance(answer, ExceptionResponse)
    _associate(session)
    assert session.status is AssociationStatus.ASSOCIATED
    assert parse_apdu(session.handle(Rlrq().to_bytes())) == Rlre()
    assert session.association_name == "optical"
    answer = parse_apdu(session.handle(GetRequestNormal(METER_NUMBER).to_bytes()))
    assert isinstance(answer, ExceptionResponse)  # released: no services any more


def test_block_numbers_are_checked() -> None:
    session = _session()
    _associate(session)
    nothing = parse_apdu(session.handle(GetRequestNext(1).to_bytes()))
    assert nothing == GetResponseWithDatablock(True, 1, DataAccessResult.NO_LONG_GET_IN_PROGRESS)
    first = parse_apdu(session.handle(GetRequestNormal(PROFILE).to_bytes()))
    assert isinstance(first, GetResponseWithDatablock)
    assert first.block_number == 1
    assert not first.last_block
    wrong = parse_apdu(session.handle(GetRequestNext(5).to_bytes()))
    assert wrong == GetResponseWithDatablock(True, 5, DataAccessResult.DATA_BLOCK_NUMBER_INVALID)


def test_a_long_set_arrives_in_blocks() -> None:
    session = _session()
    _associate(session)
    assert session.services is not None
    session.services.negotiated |= Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
    raw = encode_data(Data(DataType.OCTET_STRING, CosemDateTime(2024, 5, 6, 1, 0, 0, 0).to_bytes()))
    first = SetRequestWithFirstDatablock(CLOCK, DataBlockSa(False, 1, raw[:5]))
    assert parse_apdu(session.handle(first.to_bytes())) == SetResponseDatablock(1)
    last = SetRequestWithDatablock(DataBlockSa(True, 2, raw[5:]))
    assert parse_apdu(session.handle(last.to_bytes())) == SetResponseLastDatablock(
        DataAccessResult.SUCCESS, 2
    )


@given(apdus)
def test_any_request_gets_a_well_formed_answer(apdu: object) -> None:
    session = _session()
    _associate(session)
    answer = session.handle(apdu.to_bytes())  # type: ignore[attr-defined]
    parse_apdu(answer)


@given(st.binary(max_size=100))
def test_garbage_gets_a_well_formed_answer(raw: bytes) -> None:
    session = _session()
    parse_apdu(session.handle(raw))
    _associate(session)
    parse_apdu(session.handle(raw))


def test_get_response_fits_the_clients_pdu() -> None:
    session = _session()
    aarq = Aarq(
        InitiateRequest(Conformance(0x00181D), client_max_receive_pdu_size=64),
        mechanism_name=bytes.fromhex("60857405080201"),
        authentication_value=b"12345",
    )
    session.handle(aarq.to_bytes())
    answers = [session.handle(GetRequestNormal(OBJECT_LIST).to_bytes())]
    while True:
        block = parse_apdu(answers[-1])
        assert isinstance(block, GetResponseWithDatablock)
        if block.last_block:
            break
        answers.append(session.handle(GetRequestNext(block.block_number).to_bytes()))
    assert all(len(a) <= 64 for a in answers)
    assert isinstance(
        parse_apdu(session.handle(GetRequestNormal(METER_NUMBER).to_bytes())), GetResponseNormal
    )


# --- Gurux's client ----------------------------------------------------------------------------


def _gurux_run(server: DlmsServer, client: GXDLMSClient, request: bytes) -> GXReplyData:
    reply = GXReplyData()
    data = request
    for _ in range(1000):
        server.receive_data(data, 0.0)
        client.getData(GXByteBuffer(server.data_to_send()), reply, GXReplyData())
        if not reply.isMoreData():
            return reply
        data = bytes(client.receiverReady(reply))
    raise AssertionError("Gurux never got the whole reply")


def test_gurux_reads_the_object_list_and_a_scaled_register() -> None:
    server, _ = _server()
    gurux = GXDLMSClient(True, 19, 16, GxAuthentication.LOW, "12345", InterfaceType.HDLC)
    gurux.parseUAResponse(_gurux_run(server, gurux, bytes(gurux.snrmRequest())).data)
    gurux.parseAareResponse(_gurux_run(server, gurux, bytes(gurux.aarqRequest()[0])).data)
    reply = _gurux_run(server, gurux, bytes(gurux.getObjectsRequest()))
    objects = gurux.parseObjects(reply.data, True)
    assert len(objects) == len(server.registry)
    current = objects.findByLN(3, "1.1.31.7.0.255")
    assert isinstance(current, GXDLMSRegister)
    for attribute in (3, 2):
        reply = _gurux_run(server, gurux, bytes(gurux.read(current, attribute)[0]))
        gurux.updateValue(current, attribute, reply.value)
    assert current.scaler == pytest.approx(0.01)
    assert current.value == pytest.approx(10.0)


def test_gurux_reads_the_load_profile_by_range_and_by_entry() -> None:
    """Capture objects with Kamstrup's attributes 255/254, then both selective accesses."""
    server, _ = _server()
    gurux = GXDLMSClient(True, 19, 16, GxAuthentication.LOW, "12345", InterfaceType.HDLC)
    gurux.parseUAResponse(_gurux_run(server, gurux, bytes(gurux.snrmRequest())).data)
    gurux.parseAareResponse(_gurux_run(server, gurux, bytes(gurux.aarqRequest()[0])).data)
    objects = gurux.parseObjects(
        _gurux_run(server, gurux, bytes(gurux.getObjectsRequest())).data, True
    )
    profile = objects.findByLN(7, "1.1.99.1.0.255")
    gurux.updateValue(profile, 3, _gurux_run(server, gurux, bytes(gurux.read(profile, 3)[0])).value)
    assert len(profile.captureObjects) == 8
    # Gurux writes a naive datetime with deviation 0 (this machine's UTC), and the range honours
    # deviations: give the bounds in the meter's local time, summer time (UTC+2).
    cest = timezone(timedelta(hours=2))
    request = gurux.readRowsByRange(
        profile, START.replace(tzinfo=cest), datetime(2013, 10, 25, 2, 0, tzinfo=cest)
    )
    gurux.updateValue(profile, 2, _gurux_run(server, gurux, bytes(request[0])).value)
    assert len(profile.buffer) == 9
    assert profile.buffer[-1][4:] == [8000, 8001, 8002, 8003]
    request = gurux.readRowsByEntry(profile, 1, 96)
    gurux.updateValue(profile, 2, _gurux_run(server, gurux, bytes(request[0])).value)
    assert len(profile.buffer) == 96


class _MemoryIo:
    """dlms-cosem's IoImplementation over the server in memory: a send returns the answer."""

    def __init__(self, server: DlmsServer) -> None:
        self.server = server
        self.buffer = bytearray()

    def connect(self) -> None:
        pass

    def disconnect(self) -> None:
        pass

    def send(self, data: bytes) -> None:
        self.server.receive_data(bytes(data), 0.0)
        self.buffer += self.server.data_to_send()

    def recv(self, amount: int = 1) -> bytes:
        out = bytes(self.buffer[:amount])
        del self.buffer[:amount]
        return out

    def recv_until(self, end: bytes) -> bytes:
        index = self.buffer.find(end, 1) + 1
        out = bytes(self.buffer[:index])
        del self.buffer[:index]
        return out


def test_dlms_cosem_client_associates_reads_and_writes() -> None:
    """dlms-cosem's own client (LLS, HDLC) against the emulator's server, end to end."""
    from dlms_cosem import cosem
    from dlms_cosem import enumerations as dc_enums
    from dlms_cosem.client import DlmsClient as DcClient
    from dlms_cosem.cosem.capture_object import CaptureObject as DcCaptureObject
    from dlms_cosem.cosem.selective_access import RangeDescriptor as DcRange
    from dlms_cosem.io import HdlcTransport
    from dlms_cosem.security import LowLevelSecurityAuthentication

    server, meter = _server()
    transport = HdlcTransport(
        client_logical_address=19, server_logical_address=16, io=_MemoryIo(server)
    )
    client = DcClient(
        transport=transport, authentication=LowLevelSecurityAuthentication(secret=b"12345")
    )
    client.connect()
    aare = client.associate()
    assert aare.result == dc_enums.AssociationResult.ACCEPTED

    def attribute(kind: dc_enums.CosemInterface, obis: str, index: int) -> object:
        return cosem.CosemAttribute(kind, cosem.Obis.from_string(obis), index)

    meter_number = client.get(attribute(dc_enums.CosemInterface.DATA, "1.1.0.0.1.255", 2))
    assert meter_number == encode_data(Data(DataType.DOUBLE_LONG_UNSIGNED, 12345678))
    clock = attribute(dc_enums.CosemInterface.CLOCK, "0.1.1.0.0.255", 2)
    by_range = DcRange(DcCaptureObject(clock, 0), START, datetime(2013, 10, 25, 2, 0))
    profile = attribute(dc_enums.CosemInterface.PROFILE_GENERIC, "1.1.99.1.0.255", 2)
    rows, _ = decode_data(client.get(profile, access_descriptor=by_range))
    assert len(rows.value) == 9
    everything, _ = decode_data(client.get(profile))  # several blocks
    assert len(everything.value) == 96
    coupling = attribute(dc_enums.CosemInterface.DATA, "1.1.128.0.0.255", 2)
    response = client.set(coupling, encode_data(Data(DataType.UNSIGNED, 1)))
    assert response.result == dc_enums.DataAccessResult.SUCCESS
    assert meter.values["coupling_state"] == Data(DataType.UNSIGNED, 1)
    client.release_association()
    client.disconnect()


def test_every_register_has_a_scaler_unit(optical: Session) -> None:
    """Attribute 3 of every class 3/4 object reads; kWh registers are Wh at scaler + 3."""
    for obj, _rights in optical.server.registry.visible("optical"):
        if obj.class_id in (3, 4):
            value = optical.get(AttributeDescriptor(obj.class_id, obj.logical_name, 3))
            assert isinstance(value, Data), obj
    credit = optical.get(AttributeDescriptor.of(3, "1.1.130.0.0.255", 3))
    assert credit == Data(DataType.STRUCTURE, (Data(DataType.INTEGER, 3), Data(DataType.ENUM, 30)))
