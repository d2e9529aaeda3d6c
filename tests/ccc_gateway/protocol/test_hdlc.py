"""HDLC type-3 frames: the Construct declaration and the fast path agree, checks have names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccc_gateway.protocol.crc import crc16_x25_bytes
from ccc_gateway.protocol.errors import (
    FcsError,
    FrameTooLong,
    FrameTruncated,
    HcsError,
    InvalidFrameFormat,
)
from ccc_gateway.protocol.hdlc import (
    HdlcAddress,
    HdlcFrame,
    HdlcFrameStruct,
    encode_frame,
    parse_frame,
)
from tests.vectors import HDLC_VECTORS, frame, vectors

# Kamstrup "DLMS Protocol description" 5512-1424 §4.1 ([DLMS] §4): every HCS/FCS verified.
SNRM = bytes.fromhex("7EA0200321937DD981801405020200060202000704000000010804000000016FEF7E")
DISC = bytes.fromhex("7EA00703215303C77E")
UA_AFTER_DISC = bytes.fromhex("7EA0072103730140" + "7E")


@pytest.mark.parametrize("name", HDLC_VECTORS)
def test_vectors_parse_and_rebuild_byte_exact(name: str) -> None:
    """Every captured frame parses, matches the vector's header facts, and rebuilds exactly."""
    raw = frame(name)
    parsed = parse_frame(raw)
    facts = vectors()[name]["hdlc"]
    assert parsed.destination.encode().hex().upper() == facts["dst_address"]
    assert parsed.source.encode().hex().upper() == facts["src_address"]
    assert f"{parsed.control:02X}" == facts["control"]
    assert parsed.information[:3].hex().upper() == facts["llc"]
    assert encode_frame(parsed) == raw


@pytest.mark.parametrize("name", HDLC_VECTORS)
def test_fast_path_agrees_with_declaration(name: str) -> None:
    raw = frame(name)
    declared = HdlcFrameStruct.parse(raw[1:-1])
    fast = parse_frame(raw)
    assert declared.information == fast.information
    assert declared.control == fast.control
    assert bytes(declared.destination) == fast.destination.encode()
    assert declared.format.segmented == fast.segmented


def test_frames_without_information_have_only_fcs() -> None:
    disc = parse_frame(DISC)
    assert disc.information == b""
    assert disc.control == 0x53
    assert encode_frame(disc) == DISC
    assert parse_frame(UA_AFTER_DISC).control == 0x73


def test_session_frame_addresses() -> None:
    """SNRM from client 16 (0x21) to the management logical device 1 (0x03)."""
    snrm = parse_frame(SNRM)
    assert snrm.destination == HdlcAddress(1)
    assert snrm.source == HdlcAddress(16)
    assert snrm.control == 0x93


@pytest.mark.parametrize(
    ("address", "wire"),
    [
        (HdlcAddress(16), "21"),
        (HdlcAddress(16, 32, 2), "2041"),  # [DLMS] §2.4: upper 16, lower 32
        (HdlcAddress(16, 32, 4), "00200041"),
        (HdlcAddress(0x3FFF, 0x3FFF, 4), "FEFEFEFF"),
    ],
)
def test_address_forms(address: HdlcAddress, wire: str) -> None:
    assert address.encode().hex().upper() == wire
    assert HdlcAddress.decode(bytes.fromhex(wire)) == address


def _with_fcs(body: bytes) -> bytes:
    return b"\x7e" + body + crc16_x25_bytes(body) + b"\x7e"


def test_bad_hcs_with_recomputed_fcs_is_an_hcs_error() -> None:
    raw = bytearray(frame("no_3ph_list1_plain"))
    raw[6] ^= 0x01  # HCS low byte
    with pytest.raises(HcsError) as info:
        parse_frame(_with_fcs(bytes(raw[1:-3])))
    assert info.value.code == "hcs_error"


def test_bad_fcs() -> None:
    raw = bytearray(frame("no_3ph_list1_plain"))
    raw[100] ^= 0x40
    with pytest.raises(FcsError):
        parse_frame(bytes(raw))


def test_truncated() -> None:
    with pytest.raises(FrameTruncated):
        parse_frame(frame("no_3ph_list1_plain")[:-10])


def test_too_long_for_the_configured_maximum() -> None:
    with pytest.raises(FrameTooLong):
        parse_frame(frame("dk_radius_3ph_dlms_push1_gcm"), max_length=300)


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x7e", b"garbage-garbage", bytes.fromhex("7E1007032153AAAA7E"), DISC[:-1] + b"\x00"],
)
def test_not_a_frame(raw: bytes) -> None:
    with pytest.raises((InvalidFrameFormat, FrameTruncated)):
        parse_frame(raw)


_addresses = st.one_of(
    st.builds(HdlcAddress, st.integers(0, 0x7F)),
    st.builds(HdlcAddress, st.integers(0, 0x7F), st.integers(0, 0x7F), st.just(2)),
    st.builds(HdlcAddress, st.integers(0, 0x3FFF), st.integers(0, 0x3FFF), st.just(4)),
)


@given(
    destination=_addresses,
    source=_addresses,
    control=st.integers(0, 255),
    information=st.binary(max_size=600),
    segmented=st.booleans(),
)
def test_round_trip(
    destination: HdlcAddress,
    source: HdlcAddress,
    control: int,
    information: bytes,
    segmented: bool,
) -> None:
    """encode → parse is the identity, and the declaration reads what the fast path reads."""
    original = HdlcFrame(destination, source, control, information, segmented)
    raw = encode_frame(original)
    assert parse_frame(raw) == original
    declared = HdlcFrameStruct.parse(raw[1:-1])
    assert (declared.information or b"") == information
