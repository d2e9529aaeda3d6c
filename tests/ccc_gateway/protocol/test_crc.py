"""CRC-16/X.25 as the Green Book defines it for HCS and FCS."""

from hypothesis import given
from hypothesis import strategies as st

from ccc_gateway.protocol.crc import GOOD_RESIDUE, crc16_x25, crc16_x25_bytes, crc16_x25_reference
from tests.vectors import frame


def test_check_value() -> None:
    """The catalogue check value of CRC-16/X.25 (CRC-16/IBM-SDLC)."""
    assert crc16_x25(b"123456789") == 0x906E


def test_green_book_test_sequence() -> None:
    """Green Book 8.5.1: frame 7E 03 3F 5B EC 7E, FCS 0xEC5B sent low byte first."""
    raw = frame("green_book_hdlc_fcs_test_sequence")
    body, fcs = raw[1:3], raw[3:5]
    assert crc16_x25_bytes(body) == fcs
    assert crc16_x25(body) == 0xEC5B


def test_good_frame_residue() -> None:
    """Running the CRC over data plus its own FCS gives the fixed residue (RFC 1662)."""
    data = b"\xa0\x07\x03\x21\x53"
    assert crc16_x25(data + crc16_x25_bytes(data)) ^ 0xFFFF == GOOD_RESIDUE


@given(st.binary(max_size=600))
def test_fast_crc_matches_the_reference_loop(data: bytes) -> None:
    assert crc16_x25(data) == crc16_x25_reference(data)
