"""APDU layouts: data-notification byte-exact rebuild, glo/ded/general ciphering envelopes."""

from __future__ import annotations

import pytest

from ccc_gateway.protocol.apdu import (
    ApduTag,
    CipheredApdu,
    build_ciphered_apdu,
    build_data_notification,
    encode_octet_string_field,
    parse_ciphered_apdu,
    parse_data_notification,
    parse_general_ciphering,
    strip_llc,
)
from ccc_gateway.protocol.errors import FrameTruncated, InvalidLlc, MalformedData, UnknownApdu
from ccc_gateway.protocol.hdlc import parse_frame
from tests.vectors import PLAIN_HDLC_PUSHES, RADIUS, frame, vectors


@pytest.mark.parametrize("name", PLAIN_HDLC_PUSHES)
def test_data_notification_rebuilds_byte_exact(name: str) -> None:
    apdu = strip_llc(parse_frame(frame(name)).information)
    notification = parse_data_notification(apdu)
    rebuilt = build_data_notification(
        notification.body,
        date_time=notification.date_time,
        long_invoke_id_and_priority=notification.long_invoke_id_and_priority,
    )
    assert rebuilt == apdu


def test_glo_ciphering_envelope_round_trips() -> None:
    apdu = strip_llc(parse_frame(frame(RADIUS)).information)
    envelope = parse_ciphered_apdu(apdu)
    assert envelope.tag is ApduTag.GENERAL_GLO_CIPHERING
    assert envelope.security_control == 0x30
    assert len(envelope.payload) == vectors()[RADIUS]["security"]["ciphered_content_length"] - 5
    assert build_ciphered_apdu(envelope) == apdu


def test_ded_ciphering_has_the_same_layout() -> None:
    envelope = CipheredApdu(
        ApduTag.GENERAL_DED_CIPHERING, b"KAME\x00\x00\x00\x01", 0x30, 5, b"x" * 20
    )
    assert parse_ciphered_apdu(build_ciphered_apdu(envelope)) == envelope


def test_general_ciphering_is_parsed() -> None:
    """Green Book Fig. 32 layout, with an identified key (key-info present, choice 0)."""
    fields = [b"\x01", b"KAME\x00\x00\x00\x01", b"CLIENT01", b"", b"info"]
    content = b"\x30\x00\x00\x00\x07" + b"c" * 16 + b"t" * 12
    apdu = (
        b"\xdd"
        + b"".join(encode_octet_string_field(f) for f in fields)
        + b"\x01\x00\x00"
        + encode_octet_string_field(content)
    )
    parsed = parse_general_ciphering(apdu)
    assert parsed.transaction_id == b"\x01"
    assert parsed.recipient_system_title == b"CLIENT01"
    assert parsed.other_information == b"info"
    assert parsed.key_info == b"\x00\x00"
    assert parsed.invocation_counter == 7
    assert parsed.payload == b"c" * 16 + b"t" * 12
    with pytest.raises(FrameTruncated):
        parse_general_ciphering(apdu[:-5])


@pytest.mark.parametrize(
    ("apdu", "error"),
    [
        (b"", MalformedData),
        (b"\x0f\x00", MalformedData),
        (b"\xc4\x01", UnknownApdu),
        (b"\xdb\x08KAME", FrameTruncated),
        (b"\xdb\x08KAME0001\x03\x30\x00\x00", MalformedData),
    ],
)
def test_envelope_errors(apdu: bytes, error: type[Exception]) -> None:
    parser = parse_data_notification if apdu[:1] in (b"", b"\x0f", b"\xc4") else parse_ciphered_apdu
    with pytest.raises(error):
        parser(apdu)


def test_llc_is_checked() -> None:
    with pytest.raises(InvalidLlc):
        strip_llc(b"\xe6\xe6\x00\x0f")
    with pytest.raises(FrameTruncated):
        strip_llc(b"\xe6")
