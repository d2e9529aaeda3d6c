"""The DLMS client session over the link, against a stub meter on our server link."""

from __future__ import annotations

import pytest

from ccc_gateway.protocol.axdr import Data, DataType
from ccc_gateway.protocol.dlms.client import (
    ActionOutcome,
    Associated,
    AssociationState,
    AttributeValue,
    ClientSession,
    DlmsClient,
    ExchangeFailed,
    Released,
    SetOutcome,
)
from ccc_gateway.protocol.dlms.descriptors import EntryDescriptor, MethodDescriptor
from ccc_gateway.protocol.dlms.enums import (
    AcseServiceUserDiagnostic,
    ActionResult,
    Conformance,
    DataAccessResult,
    ExceptionServiceError,
    ExceptionStateError,
)
from ccc_gateway.protocol.dlms.get import GetRequestNext, GetRequestNormal, GetResponseWithDatablock
from ccc_gateway.protocol.dlms.link import LinkConnected, LinkDisconnected
from ccc_gateway.protocol.dlms.refusal import ExceptionResponse
from ccc_gateway.protocol.errors import (
    AssociationRejected,
    LocalProtocolError,
    MalformedData,
    ServiceRefused,
)

from .helpers import COUPLING_STATE, LOAD_PROFILE, LONG_VALUE, METER_NUMBER, Pump, StubMeter


def _client(password: bytes | None = b"12345") -> tuple[DlmsClient, StubMeter, Pump]:
    client = DlmsClient(client=19, password=password)
    meter = StubMeter()
    pump = Pump(client, meter)
    client.connect(0)
    assert [type(e) for e in pump.run()] == [LinkConnected]
    return client, meter, pump


def _associated() -> tuple[DlmsClient, StubMeter, Pump]:
    client, meter, pump = _client()
    client.associate(pump.now)
    (event,) = pump.run()
    assert isinstance(event, Associated)
    return client, meter, pump


def test_lls_association_grants_the_meters_services() -> None:
    client, meter, pump = _client()
    client.associate(0)
    (event,) = pump.run()
    assert isinstance(event, Associated)
    assert event.conformance == Conformance(0x00181D)
    assert client.session.state is AssociationState.ASSOCIATED
    (aarq,) = meter.requests
    assert getattr(aarq, "authentication_value", None) == b"12345"


def test_wrong_password_is_a_named_rejection() -> None:
    client, _, pump = _client(password=b"54321")
    client.associate(0)
    (event,) = pump.run()
    assert isinstance(event, ExchangeFailed)
    assert isinstance(event.error, AssociationRejected)
    assert event.error.diagnostic == AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE
    assert client.session.state is AssociationState.IDLE


def test_public_association_has_no_authentication() -> None:
    client, meter, pump = _client(password=None)
    client.associate(0)
    assert isinstance(pump.run()[0], Associated)
    (aarq,) = meter.requests
    assert getattr(aarq, "mechanism_name", b"") is None


def test_get_normal_and_an_undefined_object() -> None:
    client, _, pump = _associated()
    client.get(METER_NUMBER, pump.now)
    assert pump.run() == [
        AttributeValue(METER_NUMBER, Data(DataType.DOUBLE_LONG_UNSIGNED, 12345679))
    ]
    unknown = METER_NUMBER.__class__.of(1, "1.1.96.1.9.255", 2)
    client.get(unknown, pump.now)
    assert pump.run() == [AttributeValue(unknown, DataAccessResult.OBJECT_UNDEFINED)]


def test_get_with_block_transfer_and_selective_access() -> None:
    """The load profile comes in 200-byte blocks; get-request-next follows on its own."""
    client, meter, pump = _associated()
    access = EntryDescriptor(1, 10).to_access()
    client.get(LOAD_PROFILE, pump.now, access)
    assert pump.run() == [AttributeValue(LOAD_PROFILE, LONG_VALUE)]
    gets = meter.requests[1:]
    assert isinstance(gets[0], GetRequestNormal)
    assert gets[0].access == access
    assert [r.block_number for r in gets[1:] if isinstance(r, GetRequestNext)] == list(
        range(1, len(meter.blocks))
    )


def test_a_block_out_of_order_fails_the_get() -> None:
    client, meter, pump = _associated()
    meter.block_order = [1, 3]
    client.get(LOAD_PROFILE, pump.now)
    (event,) = pump.run()
    assert isinstance(event, ExchangeFailed)
    assert isinstance(event.error, MalformedData)
    assert not client.session.busy


def test_set_action_and_release() -> None:
    client, meter, pump = _associated()
    client.set(COUPLING_STATE, Data(DataType.UNSIGNED, 1), pump.now)
    assert pump.run() == [SetOutcome(COUPLING_STATE, DataAccessResult.SUCCESS)]
    assert meter.coupling_state == 1
    client.set(METER_NUMBER, Data(DataType.DOUBLE_LONG_UNSIGNED, 1), pump.now)
    assert pump.run() == [SetOutcome(METER_NUMBER, DataAccessResult.READ_WRITE_DENIED)]
    reset = MethodDescriptor.of(3, "1.1.1.8.0.255", 1)
    client.action(reset, pump.now, Data(DataType.INTEGER, 0))
    assert pump.run() == [ActionOutcome(reset, ActionResult.SUCCESS, None)]
    client.release(pump.now)
    (released,) = pump.run()
    assert isinstance(released, Released)
    assert client.session.state is AssociationState.IDLE
    client.disconnect(pump.now)
    assert pump.run() == [LinkDisconnected("disconnected")]


def test_the_session_refuses_misuse() -> None:
    session = ClientSession()
    with pytest.raises(LocalProtocolError):
        session.get(METER_NUMBER)
    session.associate()
    with pytest.raises(LocalProtocolError):
        session.associate()


def test_one_request_at_a_time() -> None:
    client, _, pump = _associated()
    client.get(METER_NUMBER, pump.now)
    with pytest.raises(LocalProtocolError):
        client.get(METER_NUMBER, pump.now)


def test_exception_response_and_stray_answers() -> None:
    session = ClientSession()
    assert session.receive_apdu(b"\xc4\x01\x81\x00\x00") == ([], None)  # nothing asked
    session.state = AssociationState.ASSOCIATED
    session.get(METER_NUMBER)
    refusal = ExceptionResponse(
        ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OPERATION_NOT_POSSIBLE
    )
    (event,), follow_up = session.receive_apdu(refusal.to_bytes())
    assert isinstance(event, ExchangeFailed)
    assert isinstance(event.error, ServiceRefused)
    assert follow_up is None
    session.get(METER_NUMBER)
    (event,), _ = session.receive_apdu(b"\xc5\x01\x81\x00")  # a set-response to a get
    assert isinstance(event, ExchangeFailed)
    session.get(METER_NUMBER)
    (event,), _ = session.receive_apdu(b"\xc4\x09")
    assert isinstance(event, ExchangeFailed)


def test_a_block_transfer_aborted_by_the_server() -> None:
    session = ClientSession()
    session.state = AssociationState.ASSOCIATED
    session.get(LOAD_PROFILE)
    first = GetResponseWithDatablock(False, 1, b"\x01\x02")
    events, follow_up = session.receive_apdu(first.to_bytes())
    assert events == []
    assert follow_up == GetRequestNext(1, 0x81).to_bytes()
    aborted = GetResponseWithDatablock(True, 2, DataAccessResult.LONG_GET_ABORTED)
    assert session.receive_apdu(aborted.to_bytes()) == (
        [AttributeValue(LOAD_PROFILE, DataAccessResult.LONG_GET_ABORTED)],
        None,
    )


def test_losing_the_link_resets_the_association() -> None:
    client, _, pump = _associated()
    pump.up.plan = lambda index, frame: "drop"
    client.get(METER_NUMBER, pump.now)
    events = pump.run()
    assert isinstance(events[-1], LinkDisconnected)
    assert client.session.state is AssociationState.IDLE
    assert not client.connected
