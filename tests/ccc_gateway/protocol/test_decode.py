"""decode_frame / decode_apdu: every vector, and every named error provoked from a real frame."""

from __future__ import annotations

from typing import Any

import pytest

from ccc_gateway.protocol import (
    AuthenticationFailed,
    CosemDateTime,
    FcsError,
    FrameTruncated,
    HcsError,
    InvalidFrameFormat,
    InvalidLlc,
    KeysSwapped,
    MalformedData,
    MissingKey,
    ReplayedFrame,
    Resolution,
    SecurityContext,
    SecurityPolicy,
    UnknownApdu,
    UnknownListVersion,
    decode_apdu,
    decode_frame,
    encode_frame,
    parse_frame,
)
from ccc_gateway.protocol._record import replace
from ccc_gateway.protocol.apdu import parse_ciphered_apdu, strip_llc
from ccc_gateway.protocol.cipher import Keys
from ccc_gateway.protocol.crc import crc16_x25_bytes
from ccc_gateway.protocol.errors import DecryptionFailed
from ccc_gateway.protocol.push import ListKind
from tests.vectors import PUSH_VECTORS, RADIUS, frame, key, vectors

EK = key(RADIUS, "encryption_key")
AK = key(RADIUS, "authentication_key")
assert EK is not None
assert AK is not None


def _normalise(value: Any) -> Any:
    return value.isoformat() if isinstance(value, CosemDateTime) else value


def _assert_expected(readings: dict[str, Any], expected: dict[str, dict[str, Any]]) -> None:
    assert set(readings) == set(expected)
    for code, facts in expected.items():
        reading = readings[code]
        assert _normalise(reading.value) == facts["value"], code
        assert reading.unit == facts["unit"], code
        if "raw" in facts:
            assert reading.raw == facts["raw"], code
        if "scaler" in facts:
            assert reading.scaler == facts["scaler"], code
        if isinstance(facts["value"], float):
            assert isinstance(reading.value, float), code


def _decodable_with_keys(name: str) -> bool:
    vector = vectors()[name]
    return vector["encryption_key"] is not None or not vector["kind"].endswith("key_unknown")


@pytest.mark.parametrize("name", [n for n in PUSH_VECTORS if _decodable_with_keys(n)])
def test_vector_decodes_to_expected(name: str) -> None:
    vector = vectors()[name]
    push = decode_frame(
        frame(name),
        encryption_key=key(name, "encryption_key"),
        authentication_key=key(name, "authentication_key"),
    )
    _assert_expected(push.readings, vector["expected"])
    if "apdu_date_time" in vector:
        assert push.apdu_datetime is not None
        assert push.apdu_datetime.isoformat() == vector["apdu_date_time"]["local"]
        assert push.apdu_datetime.to_bytes().hex().upper() == vector["apdu_date_time"]["raw"]


@pytest.mark.parametrize("name", [n for n in PUSH_VECTORS if not _decodable_with_keys(n)])
def test_encrypted_vector_without_keys(name: str) -> None:
    """Parsed up to the ciphertext; the published plaintext decodes to expected."""
    vector = vectors()[name]
    with pytest.raises(MissingKey):
        decode_frame(frame(name))
    envelope = parse_ciphered_apdu(strip_llc(parse_frame(frame(name)).information))
    assert envelope.system_title.hex().upper() == vector["security"]["system_title"]
    assert envelope.invocation_counter == vector["security"]["invocation_counter"]
    assert f"{envelope.security_control:02X}" == vector["security"]["security_control"]
    plaintext = bytes.fromhex(vector["plaintext_apdu_hex"])
    assert len(envelope.payload) == len(plaintext) + 12
    _assert_expected(decode_apdu(plaintext).readings, vector["expected"])


@pytest.mark.parametrize(
    ("name", "kind", "phases", "nulls"),
    [
        ("no_1ph_list1_plain", ListKind.HAN_NVE_LIST_1, 1, 8),
        ("no_1ph_list2_plain", ListKind.HAN_NVE_LIST_2, 1, 8),
        ("no_3ph_list1_plain", ListKind.HAN_NVE_LIST_1, 3, 0),
        ("nve_spec_example3_1ph_1quadrant_list2", ListKind.HAN_NVE_LIST_2, 1, 0),
        (RADIUS, ListKind.DLMS_PUSH_1, 3, 0),
    ],
)
def test_list_recognised_from_content(name: str, kind: ListKind, phases: int, nulls: int) -> None:
    push = decode_frame(
        frame(name),
        encryption_key=key(name, "encryption_key"),
        authentication_key=key(name, "authentication_key"),
    )
    assert push.list_kind is kind
    assert push.phases == phases
    assert push.null_placeholders == nulls


def test_dk_single_phase_plaintext_is_push_1() -> None:
    push = decode_apdu(bytes.fromhex(vectors()["dk_1ph_dlms_push1_gcm"]["plaintext_apdu_hex"]))
    assert push.list_kind is ListKind.DLMS_PUSH_1
    assert push.phases == 1


def test_resolution_is_configurable() -> None:
    """Energy 10 Wh instead of the DK default Wh; Bornholm-style 0.01 V."""
    push = decode_frame(
        frame(RADIUS),
        encryption_key=EK,
        authentication_key=AK,
        resolution=Resolution(energy_scaler=1, voltage_scaler=-2),
    )
    assert push.readings["1.1.1.8.0.255"].value == 8_666_360
    assert push.readings["1.1.32.7.0.255"].value == pytest.approx(2.24)


def test_ct_meter_current_defaults_to_milliamperes() -> None:
    """Type 685… meters send current in mA ([HAN]): found from the list's meter type."""
    info = parse_frame(frame("no_3ph_list1_plain")).information
    ct = info.replace(b"6841", b"6851", 1)
    push = decode_frame(
        encode_frame(replace(parse_frame(frame("no_3ph_list1_plain")), information=ct))
    )
    assert push.readings["1.1.96.1.1.255"].value.startswith("685")
    assert push.readings["1.1.31.7.0.255"].scaler == -3


def test_ciphered_push_records_title_and_counter() -> None:
    push = decode_frame(frame(RADIUS), encryption_key=EK, authentication_key=AK)
    assert push.system_title == bytes.fromhex("4B414D4501A4DC52")
    assert push.invocation_counter == 493793


# --- every named error from a real frame ------------------------------------------------------


def _rebuilt(name: str, information: bytes) -> bytes:
    """The frame with a new information field and correct HCS/FCS."""
    return encode_frame(replace(parse_frame(frame(name)), information=information))


def _radius_info() -> bytearray:
    return bytearray(parse_frame(frame(RADIUS)).information)


def test_bad_hcs_with_recomputed_fcs() -> None:
    raw = bytearray(frame("no_1ph_list1_plain"))
    raw[6] ^= 0xFF
    raw[-3:-1] = crc16_x25_bytes(bytes(raw[1:-3]))
    with pytest.raises(HcsError):
        decode_frame(bytes(raw))


def test_bad_fcs() -> None:
    raw = bytearray(frame("no_1ph_list1_plain"))
    raw[-2] ^= 0x01
    with pytest.raises(FcsError):
        decode_frame(bytes(raw))


def test_tag_flip() -> None:
    info = _radius_info()
    info[-1] ^= 0x80
    with pytest.raises(AuthenticationFailed):
        decode_frame(_rebuilt(RADIUS, bytes(info)), encryption_key=EK, authentication_key=AK)


def test_ciphertext_bit_flip() -> None:
    info = _radius_info()
    info[40] ^= 0x01
    with pytest.raises(AuthenticationFailed):
        decode_frame(_rebuilt(RADIUS, bytes(info)), encryption_key=EK, authentication_key=AK)


def test_wrong_encryption_key() -> None:
    with pytest.raises(AuthenticationFailed) as info:
        decode_frame(frame(RADIUS), encryption_key=bytes(16), authentication_key=AK)
    assert not isinstance(info.value, KeysSwapped)


def test_wrong_authentication_key() -> None:
    with pytest.raises(AuthenticationFailed):
        decode_frame(frame(RADIUS), encryption_key=EK, authentication_key=bytes(16))


def test_swapped_keys() -> None:
    with pytest.raises(KeysSwapped):
        decode_frame(frame(RADIUS), encryption_key=AK, authentication_key=EK)


def test_replayed_invocation_counter() -> None:
    security = SecurityContext(keys=Keys(EK, AK))
    decode_frame(frame(RADIUS), security=security)
    with pytest.raises(ReplayedFrame):
        decode_frame(frame(RADIUS), security=security)


def test_forged_frame_does_not_advance_the_counter() -> None:
    security = SecurityContext(keys=Keys(EK, AK))
    info = _radius_info()
    info[-1] ^= 0x80
    with pytest.raises(AuthenticationFailed):
        decode_frame(_rebuilt(RADIUS, bytes(info)), security=security)
    assert security.last_accepted(bytes.fromhex("4B414D4501A4DC52")) is None
    decode_frame(frame(RADIUS), security=security)


def test_truncated() -> None:
    with pytest.raises(FrameTruncated):
        decode_frame(frame(RADIUS)[:200])


def test_truncated_ciphered_content() -> None:
    info = _radius_info()
    with pytest.raises(FrameTruncated):
        decode_frame(_rebuilt(RADIUS, bytes(info[:-40])), encryption_key=EK, authentication_key=AK)


@pytest.mark.parametrize("raw", [b"garbage", b"\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e"])
def test_garbage(raw: bytes) -> None:
    with pytest.raises((InvalidFrameFormat, FrameTruncated)):
        decode_frame(raw)


def test_invalid_llc() -> None:
    info = bytearray(parse_frame(frame("no_1ph_list1_plain")).information)
    info[1] = 0xE6
    with pytest.raises(InvalidLlc):
        decode_frame(_rebuilt("no_1ph_list1_plain", bytes(info)))


def test_unknown_apdu() -> None:
    info = bytearray(parse_frame(frame("no_1ph_list1_plain")).information)
    info[3] = 0xC2
    with pytest.raises(UnknownApdu):
        decode_frame(_rebuilt("no_1ph_list1_plain", bytes(info)))


def test_malformed_data() -> None:
    info = parse_frame(frame("no_1ph_list1_plain")).information
    with pytest.raises(MalformedData):
        decode_frame(_rebuilt("no_1ph_list1_plain", info[:-30]))


def test_unknown_list_version() -> None:
    info = parse_frame(frame("no_1ph_list1_plain")).information.replace(
        b"Kamstrup_V0001", b"Kamstrup_V0009"
    )
    with pytest.raises(UnknownListVersion):
        decode_frame(_rebuilt("no_1ph_list1_plain", info))


def test_encryption_only_with_wrong_key_is_a_decryption_failure() -> None:
    """SC 0x20 has no tag: a wrong key shows as content that does not parse."""
    from ccc_gateway.protocol.apdu import ApduTag, CipheredApdu, build_ciphered_apdu
    from ccc_gateway.protocol.cipher import encrypt

    plaintext = bytes.fromhex(vectors()[RADIUS]["plaintext_apdu_hex"])
    title = bytes.fromhex("4B414D4501A4DC52")
    payload = encrypt(
        plaintext,
        keys=Keys(EK, AK),
        system_title=title,
        invocation_counter=9,
        security_control=0x20,
    )
    apdu = build_ciphered_apdu(CipheredApdu(ApduTag.GENERAL_GLO_CIPHERING, title, 0x20, 9, payload))
    raw = _rebuilt(RADIUS, b"\xe6\xe7\x00" + apdu)
    only = SecurityPolicy.ENCRYPTION_ONLY  # the explicit opt-in (issue 10)
    assert (
        decode_frame(raw, encryption_key=EK, policy=only).readings["1.1.1.8.0.255"].value == 866636
    )
    with pytest.raises(DecryptionFailed):
        decode_frame(raw, encryption_key=bytes(16), policy=only)


def test_trace_lists_every_check() -> None:
    trace: list[str] = []
    decode_frame(frame(RADIUS), encryption_key=EK, authentication_key=AK, trace=trace)
    text = "\n".join(trace)
    for word in ("flags", "HCS ok", "FCS ok", "LLC", "GCM tag ok", "invocation counter 493793"):
        assert word in text
