"""The Swedish HAN P1 ASCII telegram."""

from __future__ import annotations

import pytest

from ccc_gateway.protocol import decode_frame
from ccc_gateway.protocol.errors import FcsError, FrameTooLong, FrameTruncated, MalformedData
from ccc_gateway.protocol.p1 import P1TelegramReader, crc16_arc, parse_telegram
from ccc_gateway.protocol.push import ListKind
from tests.vectors import frame, vectors

NAME = "se_3ph_han_p1_telegram"


def test_crc_check_value() -> None:
    assert crc16_arc(b"123456789") == 0xBB3D


def test_vector_decodes_to_expected() -> None:
    push = decode_frame(frame(NAME))
    assert push.list_kind is ListKind.HAN_P1
    assert push.list_version == "KAM5"
    assert push.phases == 3
    for code, expected in vectors()[NAME]["expected"].items():
        reading = push.readings[code]
        assert reading.value == expected["value"], code
        assert reading.unit == expected["unit"], code
    assert push.apdu_datetime is not None
    assert push.apdu_datetime.isoformat() == "2024-04-07T12:28:54"
    assert push.apdu_datetime.dst


def test_corrupt_value_fails_the_crc() -> None:
    damaged = frame(NAME).replace(b"9621.983", b"9621.984")
    with pytest.raises(FcsError):
        parse_telegram(damaged)


def test_truncated_telegram() -> None:
    raw = frame(NAME)
    with pytest.raises(FrameTruncated):
        parse_telegram(raw[: raw.index(b"!")])


def test_bad_line_is_malformed() -> None:
    body = b"/KAM5\r\n\r\nnot a line\r\n!"
    telegram = body + f"{crc16_arc(body):04X}\r\n".encode()
    with pytest.raises(MalformedData):
        parse_telegram(telegram)


def test_reader_splits_a_stream_in_any_chunks() -> None:
    raw = frame(NAME)
    stream = b"noise" + raw + raw
    reader = P1TelegramReader()
    out: list[bytes | FrameTooLong] = []
    for i in range(0, len(stream), 7):
        out += reader.receive_data(stream[i : i + 7])
    assert out == [raw, raw]


def test_reader_is_bounded() -> None:
    reader = P1TelegramReader()
    out = reader.receive_data(b"/" + b"x" * 5000)
    assert any(isinstance(item, FrameTooLong) for item in out)


@pytest.mark.parametrize("cut", [10, 200, -5, -3, -1])
def test_a_telegram_cut_short_is_truncated_and_the_next_one_decodes(cut: int) -> None:
    raw = frame(NAME)
    # negative: from the end of the CRC, so -3 keeps the '!' alone and -1 two CRC digits
    cut_at = raw.index(b"!") + 4 + cut if cut < 0 else cut
    reader = P1TelegramReader()
    out = reader.receive_data(raw[:cut_at] + raw)
    assert len(out) == 2
    assert isinstance(out[0], FrameTruncated)
    assert out[1] == raw
