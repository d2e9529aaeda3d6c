"""Gurux's HLS-GMAC client against a meter with local interface encryption (Z28 = 1).

A third-party check of our HLS server and of general-glo-ciphering: Gurux
(``GXDLMSSecureClient``, authentication HIGH_GMAC, authenticated encryption, general protection
proposed) associates with the emulated meter's optical association over TCP, runs passes 3 and
4, and reads the meter number; its requests after the association go general-glo-ciphered (tag
DB after the LLC). With a wrong key the meter refuses the AARQ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from gurux_dlms import GXByteBuffer, GXReplyData
from gurux_dlms.enums import Authentication, Conformance, InterfaceType, Security
from gurux_dlms.objects import GXDLMSData
from gurux_dlms.secure import GXDLMSSecureClient

from meter_emulator.model import Meter, parse_config
from meter_emulator.ports.iec62056_21_link import OpticalPort
from meter_emulator.ports.links import TcpLink
from meter_emulator.ports.optical_head import optical_mux_for
from tests.e2e.test_dlms_peers import Wire, in_thread

pytestmark = pytest.mark.slow

EK = "000102030405060708090A0B0C0D0E0F"
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
METER_NUMBER = 12345678


@asynccontextmanager
async def encrypted_port() -> AsyncIterator[str]:
    config = parse_config(
        {
            "meter": {"type_number": "6841131BN243101040", "serial": METER_NUMBER},
            "software": {"local_interface_encryption": 1},
            "optical": {"encryption_key": EK, "authentication_key": AK},
        }
    )
    meter = Meter(config, start=datetime(2024, 6, 3, 4, 0, tzinfo=UTC))
    link = TcpLink(port=0, baudrate=9600, speed=10.0)
    async with link, OpticalPort(optical_mux_for(meter), link, reaction_time=0.0):
        yield f"tcp:{link.port}"


def gurux_hls_reads(where: str, *, encryption_key: str) -> dict[str, Any]:
    client = GXDLMSSecureClient(True, 19, 16, Authentication.HIGH_GMAC, None, InterfaceType.HDLC)
    client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
    client.ciphering.systemTitle = bytes.fromhex("4D4D4D0000000001")
    client.ciphering.blockCipherKey = bytes.fromhex(encryption_key)
    client.ciphering.authenticationKey = bytes.fromhex(AK)
    client.proposedConformance |= Conformance.GENERAL_PROTECTION
    wire = Wire(where)
    sent: list[bytes] = []

    def exchange(request: Any) -> GXReplyData:
        reply = GXReplyData()
        data = bytes(request)
        while True:
            sent.append(data)
            wire.send(data)
            buffer = GXByteBuffer()
            while not client.getData(buffer, reply, GXReplyData()):
                chunk = wire.receive()
                assert chunk, "the emulator closed the port"
                buffer.set(chunk)
            if not reply.isMoreData():
                return reply
            data = bytes(client.receiverReady(reply))

    try:
        client.parseUAResponse(exchange(client.snrmRequest()).data)
        for request in client.aarqRequest():
            reply = exchange(request)
        try:
            client.parseAareResponse(reply.data)
        except Exception as error:  # Gurux raises its own exception for a rejected AARE
            return {"refused": repr(error)}
        for request in client.getApplicationAssociationRequest():
            reply = exchange(request)
        client.parseApplicationAssociationResponse(reply.data)
        number = GXDLMSData("1.1.0.0.1.255")
        before = len(sent)
        reply = exchange(client.read(number, 2)[0])
        client.updateValue(number, 2, reply.value)
        get_tags = [frame[11] for frame in sent[before:]]  # after 7E A0xx dst src ctrl hcs LLC
        # The object list: a long answer, in ciphered blocks.
        objects = client.parseObjects(exchange(client.getObjectsRequest()).data, True)
        return {
            "objects": len(objects),
            "meter_number": number.value,
            "general_protection": bool(
                client.negotiatedConformance & Conformance.GENERAL_PROTECTION
            ),
            "get_tags": get_tags,
        }
    finally:
        wire.close()


async def test_gurux_reads_a_z28_meter_over_hls_gmac() -> None:
    async with encrypted_port() as where:
        read = await in_thread(where, lambda there: gurux_hls_reads(there, encryption_key=EK))
    assert read["meter_number"] == METER_NUMBER
    assert read["objects"] > 50
    assert read["general_protection"] is True
    assert read["get_tags"] == [0xDB]  # general-glo-ciphering


async def test_gurux_with_a_wrong_key_is_refused() -> None:
    async with encrypted_port() as where:
        read = await in_thread(
            where, lambda there: gurux_hls_reads(there, encryption_key="00" * 15 + "01")
        )
    assert "refused" in read, read
    assert "permanently rejected" in read["refused"]
    assert "Authentication failure" in read["refused"]
