"""HLS-GMAC with glo-ciphering end to end: our client against the emulator's server.

Keys, titles and challenges are the Green Book example's (dlms-cosem tests/test_security.py,
[GB]), so the two f(challenge) values on the wire are the published ones.
"""

from __future__ import annotations

import itertools

import pytest

from ccc_gateway.protocol.axdr import Data, DataType
from ccc_gateway.protocol.cipher import Keys
from ccc_gateway.protocol.dlms.action import ActionRequestNormal, ActionResponseNormal
from ccc_gateway.protocol.dlms.ciphering import CipheredPdu, cipher_pdu, decipher_pdu
from ccc_gateway.protocol.dlms.client import (
    Associated,
    AttributeValue,
    ClientEvent,
    DlmsClient,
    ExchangeFailed,
    HlsGmac,
)
from ccc_gateway.protocol.dlms.codec import parse_apdu
from ccc_gateway.protocol.dlms.descriptors import AttributeDescriptor
from ccc_gateway.protocol.dlms.enums import Conformance, ExceptionServiceError
from ccc_gateway.protocol.dlms.get import GetRequestNormal
from ccc_gateway.protocol.dlms.refusal import ExceptionResponse
from ccc_gateway.protocol.errors import AssociationRejected, MalformedData
from ccc_gateway.protocol.hdlc import HdlcAddress
from meter_emulator.dlms.association import AssociationConfig, Authentication, HlsGmacServer
from meter_emulator.dlms.provider import (
    HLS_CONFORMANCE,
    LLS_CONFORMANCE,
    build_omnipower_registry,
)
from meter_emulator.dlms.server import DlmsServer, Served

from .fake_meter import FakeMeter

EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")
SERVER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
CTOS = b"K56iVagY"
STOC = bytes.fromhex("503677524A323146")
METER_NUMBER = AttributeDescriptor.of(1, "1.1.0.0.1.255", 2)


def _pair(
    client_keys: Keys | None = None, conformance: Conformance = LLS_CONFORMANCE
) -> tuple[DlmsClient, DlmsServer, list[object]]:
    counter = itertools.count(0x01234566)  # InitiateResponse, then f(CtoS) at 0x01234567
    secure = AssociationConfig(
        "secure",
        18,
        16,
        conformance,
        Authentication.HLS_GMAC,
        hls=HlsGmacServer(Keys(EK, AK), SERVER_TITLE, lambda: STOC, lambda: next(counter)),
    )
    server = DlmsServer(build_omnipower_registry(FakeMeter(), (secure,)), (secure,))
    client = DlmsClient(
        client=18,
        server=HdlcAddress(16),
        hls=HlsGmac(client_keys or Keys(EK, AK), CLIENT_TITLE, CTOS, invocation_counter=0),
    )
    served: list[object] = []
    client.connect(0)
    _run(client, server, served)
    return client, server, served


def _run(client: DlmsClient, server: DlmsServer, served: list[object]) -> list[ClientEvent]:
    events: list[ClientEvent] = []
    for _ in range(100):
        out = client.data_to_send()
        if out:
            served += [e for e in server.receive_data(out, 0) if isinstance(e, Served)]
        back = server.data_to_send()
        if back:
            events += client.receive_data(back, 0)
        if not out and not back:
            return events
    raise AssertionError("never quiet")


def test_hls_gmac_association_with_the_green_book_values() -> None:
    client, server, served = _pair()
    client.associate(0)
    events = _run(client, server, served)
    assert [type(e) for e in events] == [Associated]
    aarq, reply = served
    assert isinstance(aarq, Served)
    assert isinstance(reply, Served)
    pass3 = parse_apdu(reply.request)
    assert isinstance(pass3, CipheredPdu)
    request = parse_apdu(decipher_pdu(pass3, keys=Keys(EK, AK), system_title=CLIENT_TITLE))
    assert isinstance(request, ActionRequestNormal)
    assert request.parameters == Data(
        DataType.OCTET_STRING, bytes.fromhex("10 00000001 1A52FE7DD3E72748973C1E28")
    )
    pass4 = parse_apdu(reply.response)
    assert isinstance(pass4, CipheredPdu)
    answer = parse_apdu(decipher_pdu(pass4, keys=Keys(EK, AK), system_title=SERVER_TITLE))
    assert isinstance(answer, ActionResponseNormal)
    assert answer.return_parameters == Data(
        DataType.OCTET_STRING, bytes.fromhex("10 01234567 FE1466AFB3DBCD4F9389E2B7")
    )


def test_services_travel_glo_ciphered() -> None:
    client, server, served = _pair()
    client.associate(0)
    _run(client, server, served)
    client.get(METER_NUMBER, 0)
    assert _run(client, server, served) == [
        AttributeValue(METER_NUMBER, Data(DataType.DOUBLE_LONG_UNSIGNED, 12345678))
    ]
    last = served[-1]
    assert isinstance(last, Served)
    assert last.request[0] == 0xC8  # glo-get-request
    assert last.response[0] == 0xCC  # glo-get-response


def test_wrong_keys_are_refused_at_the_first_pass() -> None:
    client, server, served = _pair(client_keys=Keys(AK, EK))
    client.associate(0)
    (event,) = _run(client, server, served)
    assert isinstance(event, ExchangeFailed)
    assert isinstance(event.error, AssociationRejected)


def test_a_replayed_request_is_refused_with_the_counter_expected() -> None:
    client, server, served = _pair()
    client.associate(0)
    _run(client, server, served)
    session = server.session
    assert session is not None
    replay = cipher_pdu(
        GetRequestNormal(METER_NUMBER).to_bytes(),
        keys=Keys(EK, AK),
        system_title=CLIENT_TITLE,
        invocation_counter=1,  # already used by f(StoC)'s request
    )
    refused = parse_apdu(session.handle(replay.to_bytes()))
    assert refused == ExceptionResponse(
        refused.state_error,  # type: ignore[union-attr]
        ExceptionServiceError.INVOCATION_COUNTER_ERROR,
        client.session.invocation_counter,
    )
    plain = parse_apdu(session.handle(GetRequestNormal(METER_NUMBER).to_bytes()))
    assert isinstance(plain, ExceptionResponse)  # plain requests are not served under HLS


def test_block_transfer_stays_ciphered() -> None:
    client, server, served = _pair()
    client.associate(0)
    _run(client, server, served)
    profile = AttributeDescriptor.of(7, "1.1.99.1.0.255", 2)
    client.get(profile, 0)
    (event,) = _run(client, server, served)
    assert isinstance(event, AttributeValue)
    assert isinstance(event.result, Data)
    assert len(event.result.value) == 96
    nexts = [s for s in served[-3:] if isinstance(s, Served)]
    assert all(s.request[0] == 0xC8 and s.response[0] == 0xCC for s in nexts)


def test_with_general_protection_services_travel_general_glo_ciphered() -> None:
    """The form the public OMNIPOWER hints name ([GB] 9.2.7.4): tag DB with the title."""
    client, server, served = _pair(conformance=HLS_CONFORMANCE)
    client.associate(0)
    assert [type(e) for e in _run(client, server, served)] == [Associated]
    client.get(METER_NUMBER, 0)
    assert _run(client, server, served) == [
        AttributeValue(METER_NUMBER, Data(DataType.DOUBLE_LONG_UNSIGNED, 12345678))
    ]
    aarq, reply, get = served
    assert isinstance(aarq, Served)
    assert isinstance(reply, Served)
    assert isinstance(get, Served)
    assert aarq.request[0] == 0x60  # the AARQ's InitiateRequest stays glo-ciphered (tag 21)
    for request in (reply.request, get.request):
        pdu = parse_apdu(request)
        assert isinstance(pdu, CipheredPdu)
        assert (pdu.tag, pdu.system_title) == (0xDB, CLIENT_TITLE)
    answer = parse_apdu(get.response)
    assert isinstance(answer, CipheredPdu)
    assert (answer.tag, answer.system_title) == (0xDB, SERVER_TITLE)
    assert parse_apdu(decipher_pdu(answer, keys=Keys(EK, AK), system_title=SERVER_TITLE))


def test_general_glo_ciphering_is_refused_unless_negotiated() -> None:
    client, server, served = _pair()  # LLS conformance: no general-protection bit
    client.associate(0)
    _run(client, server, served)
    session = server.session
    assert session is not None
    request = cipher_pdu(
        GetRequestNormal(METER_NUMBER).to_bytes(),
        keys=Keys(EK, AK),
        system_title=CLIENT_TITLE,
        invocation_counter=client.session.invocation_counter,
        general=True,
    )
    assert isinstance(parse_apdu(session.handle(request.to_bytes())), ExceptionResponse)


def test_general_glo_ciphering_from_another_title_does_not_decipher() -> None:
    pdu = cipher_pdu(
        GetRequestNormal(METER_NUMBER).to_bytes(),
        keys=Keys(EK, AK),
        system_title=CLIENT_TITLE,
        invocation_counter=7,
        general=True,
    )
    parsed = parse_apdu(pdu.to_bytes())
    assert parsed == pdu
    with pytest.raises(MalformedData, match="another system title"):
        decipher_pdu(pdu, keys=Keys(EK, AK), system_title=SERVER_TITLE)


def test_a_z28_meter_takes_hls_on_the_optical_association_and_refuses_lls() -> None:
    """Local interface encryption (Z28 = 1): client 19 needs HLS-GMAC with the [optical] keys."""
    from datetime import UTC, datetime

    from meter_emulator.dlms.model_provider import dlms_server_for
    from meter_emulator.model import Meter, parse_config

    config = parse_config(
        {
            "meter": {"type_number": "6861111BN242101040", "serial": 12345678},
            "software": {"local_interface_encryption": 1},
            "optical": {"encryption_key": EK.hex(), "authentication_key": AK.hex()},
        }
    )
    meter = Meter(config, start=datetime(2024, 6, 3, tzinfo=UTC))
    outcomes = []
    for hls, password in ((None, b"12345"), (Keys(EK, AK), None)):
        server = dlms_server_for(meter, challenge=lambda: STOC)
        client = DlmsClient(
            client=19,
            server=HdlcAddress(16, 32, size=2),
            password=password,
            hls=None if hls is None else HlsGmac(hls, CLIENT_TITLE, CTOS, invocation_counter=1),
        )
        served: list[object] = []
        client.connect(0)
        _run(client, server, served)
        client.associate(0)
        events = _run(client, server, served)
        outcomes.append(events[-1])
    refused, accepted = outcomes
    assert isinstance(refused, ExchangeFailed)
    assert isinstance(refused.error, AssociationRejected)
    assert isinstance(accepted, Associated)
    assert accepted.conformance & Conformance.GENERAL_PROTECTION
