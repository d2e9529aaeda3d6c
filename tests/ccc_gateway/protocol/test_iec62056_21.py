"""IEC 62056-21 codec: BCC, 7E1 parity, messages, data sets and the streaming reader."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ccc_gateway.protocol.errors import FrameTruncated, RemoteProtocolError
from ccc_gateway.protocol.iec62056_21 import (
    Ack,
    BccError,
    Command,
    DataMessage,
    DataSet,
    DataValue,
    Identification,
    MalformedMessage,
    Message,
    MessageTooLong,
    MessageTruncated,
    Nak,
    OptionSelect,
    ParityError,
    Request,
    add_parity,
    baud_char,
    baudrate,
    bcc,
    encode,
    error_code,
    format_data_block,
    has_even_parity,
    parse_data_block,
    strip_parity,
)
from ccc_gateway.protocol.iec62056_21_reader import MessageReader, MessageRejected

# [1107] worked values, from [1107] §7.2.
BCC_VECTORS = [
    ("break", Command("B0"), bytes.fromhex("0142300371")),
    ("p0", Command("P0", "()"), b"\x01P0\x02()\x03\x60"),
    ("r5", Command("R5", "1.0.0()"), b"\x01R5\x021.0.0()\x03\x56"),
    ("p1", Command("P1", "(12345)"), b"\x01P1\x02(12345)\x03\x50"),
]

# [1107] §7.4 example 2, as [1107] quotes it (the lines between are left out there).
EXAMPLE_BLOCK = (
    "0.0.1(12345678)\r\n97.97.0(210)\r\n1.8.0(0000010*kwh)\r\n96.8.0(49)\r\n"
    "1.0.0(01131212114656)\r\n!\r\n"
)


def split_at(stream: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = sorted({c % (len(stream) + 1) for c in cuts})
    bounds = [0, *points, len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def read_all(chunks: Iterable[bytes], *, parity: bool = True) -> list[Message | MessageRejected]:
    reader = MessageReader(parity=parity)
    out: list[Message | MessageRejected] = []
    for chunk in chunks:
        reader.receive_data(chunk)
        out += reader.messages()
    return out


@pytest.mark.parametrize(
    ("message", "wire"), [v[1:] for v in BCC_VECTORS], ids=[v[0] for v in BCC_VECTORS]
)
def test_commands_encode_to_the_documented_bytes(message: Command, wire: bytes) -> None:
    assert encode(message) == wire
    assert read_all([add_parity(wire)]) == [message]


def test_sign_on_and_identification_bytes() -> None:
    assert encode(Request()) == bytes.fromhex("2F3F210D0A")
    assert encode(Request("12345678")) == b"/?12345678!\r\n"
    ident = Identification("KAM", "5", " 6841138BN143002")
    assert encode(ident) == b"/KAM5 6841138BN143002\r\n"
    assert ident.meter_type == "6841138BN143002"
    assert encode(OptionSelect("0", "5", "1")) == bytes.fromhex("063035310D0A")


def test_parity_sets_bit_7_for_odd_characters_only() -> None:
    assert add_parity(b"/") == b"\xaf"  # [TD]: 0x2F goes out as 0xAF
    assert add_parity(b"0") == b"0"  # 0x30 has two one bits already
    assert strip_parity(b"\xaf0\x2f") == (b"/0/", [2])
    assert has_even_parity(0xAF)
    assert not has_even_parity(0x2F)


@given(st.binary())
def test_parity_round_trip(data: bytes) -> None:
    wire = add_parity(data)
    assert all(has_even_parity(b) for b in wire)
    assert strip_parity(wire) == (bytes(b & 0x7F for b in data), [])


def test_baud_characters() -> None:
    assert baudrate("5") == 9600
    assert baudrate("0") == 300
    assert baudrate("Z") == 300  # Kamstrup: any other character means 300
    assert baud_char(9600) == "5"
    with pytest.raises(ValueError, match="baud"):
        baud_char(2000)


def test_data_block_parses_the_real_example() -> None:
    data_sets = parse_data_block(EXAMPLE_BLOCK)
    assert [(d.address, d.value, d.unit) for d in data_sets] == [
        ("0.0.1", "12345678", None),
        ("97.97.0", "210", None),
        ("1.8.0", "0000010", "kwh"),
        ("96.8.0", "49", None),
        ("1.0.0", "01131212114656", None),
    ]


def test_a_maximum_demand_keeps_its_timestamp_group() -> None:
    (demand,) = parse_data_block("1.6.0(00001.500*kW)(01131212114600)\r\n!\r\n")
    assert demand == DataSet("1.6.0", (DataValue("00001.500", "kW"), DataValue("01131212114600")))
    assert format_data_block([demand]) == "1.6.0(00001.500*kW)(01131212114600)\r\n!\r\n"


def test_a_billing_period_value_keeps_its_star_nn_address() -> None:
    """IEC 62056-61: ``*NN`` (group F) names a billing period; ``*`` is legal in an address."""
    (stored,) = parse_data_block("1.8.0*12(0000586.12*kWh)\r\n!\r\n")
    assert stored == DataSet("1.8.0*12", (DataValue("0000586.12", "kWh"),))
    assert format_data_block([stored]) == "1.8.0*12(0000586.12*kWh)\r\n!\r\n"


def test_a_logger_header_is_one_data_set_with_every_group() -> None:
    (header,) = parse_data_block("99.1.0(4)(1.0.0)()(96.56.2)()(96.56.3)()(1.8.0)(kWh)\r\n")
    assert header.address == "99.1.0"
    assert [v.value for v in header.values] == (
        ["4", "1.0.0", "", "96.56.2", "", "96.56.3", "", "1.8.0", "kWh"]
    )


@pytest.mark.parametrize("line", ["1.8.0 garbage", "(12)", "1.8.0(12", "1.8.0(1(2))"])
def test_malformed_data_lines_are_named(line: str) -> None:
    with pytest.raises(MalformedMessage):
        parse_data_block(line + "\r\n")


def test_error_replies_are_recognised() -> None:
    assert error_code(DataMessage("(ER02)")) == "ER02"
    assert error_code(DataMessage("1.8.0(0000586.12*kWh)")) is None


def test_encode_refuses_what_the_wire_cannot_carry() -> None:
    with pytest.raises(ValueError, match="address"):
        encode(Request("a/b"))
    with pytest.raises(ValueError, match="SOH"):
        encode(DataMessage("a\x03b"))
    with pytest.raises(ValueError, match="two characters"):
        encode(Command("R"))


# --- the reader ------------------------------------------------------------------------------


def test_bad_bcc_is_named_and_the_next_message_still_arrives() -> None:
    good = encode(DataMessage("1.8.0(1*kWh)\r\n!\r\n"))
    bad = good[:-1] + bytes([good[-1] ^ 0x01])
    out = read_all([add_parity(bad + good)])
    assert isinstance(out[0], MessageRejected)
    assert isinstance(out[0].error, BccError)
    assert out[0].error.received == good[-1] ^ 0x01
    assert out[1] == DataMessage("1.8.0(1*kWh)\r\n!\r\n")


def test_parity_error_rejects_the_whole_message() -> None:
    wire = bytearray(add_parity(encode(Command("R1", "1.8.0()"))))
    wire[5] ^= 0x80  # flip one parity bit: the character itself is unchanged
    (out,) = read_all([bytes(wire)])
    assert isinstance(out, MessageRejected)
    assert isinstance(out.error, ParityError)
    assert out.error.positions == [5]


def test_without_parity_the_reader_takes_7_bit_characters() -> None:
    assert read_all([encode(Request())], parity=False) == [Request()]


def test_option_select_or_lone_ack_depends_on_what_the_caller_expects() -> None:
    reader = MessageReader(parity=False)
    reader.receive_data(b"\x06")
    assert reader.next_message(option_select=True) is None  # could be ACK 0 5 1 on its way
    reader.receive_data(b"051\r\n")
    assert reader.next_message(option_select=True) == OptionSelect("0", "5", "1")
    reader.receive_data(b"\x06")
    assert reader.next_message() == Ack()
    reader.receive_data(b"\x15")
    assert reader.next_message() == Nak()


def test_truncation_by_a_new_message_and_by_silence() -> None:
    reader = MessageReader(parity=False)
    reader.receive_data(b"\x02" + b"1.8.0(12" + encode(Request()))
    first = reader.next_message()
    assert isinstance(first, MessageRejected)
    assert isinstance(first.error, MessageTruncated)
    assert isinstance(first.error, FrameTruncated)
    assert reader.next_message() == Request()
    reader.receive_data(b"\x01R1\x021.8.0(")
    assert reader.next_message() is None
    pending_before = reader.pending
    late = reader.flush()
    assert late is not None
    assert isinstance(late.error, MessageTruncated)
    assert (pending_before, reader.pending) == (True, False)
    assert reader.flush() is None


def test_noise_between_messages_is_skipped_and_counted() -> None:
    reader = MessageReader(parity=False)
    reader.receive_data(b"\r\nxyz" + encode(Ack()))
    assert reader.messages() == [Ack()]
    assert reader.discarded_bytes == 5


def test_overlong_messages_are_named() -> None:
    reader = MessageReader(parity=False, max_length=32)
    reader.receive_data(b"\x02" + b"9" * 40)
    out = reader.next_message()
    assert isinstance(out, MessageRejected)
    assert isinstance(out.error, MessageTooLong)
    reader.receive_data(b"/" + b"K" * 60)
    out = reader.next_message()
    assert isinstance(out, MessageRejected)
    assert isinstance(out.error, MessageTooLong)


@pytest.mark.parametrize(
    "wire",
    [
        b"/?abc\r\n",
        b"/K\r\n",
        b"\x01R\x03" + bytes([bcc(b"R\x03")]),
        b"\x01R1\x04" + bytes([bcc(b"R1\x04")]),
    ],
    ids=["request-without-bang", "short-identification", "one-letter-command", "partial-command"],
)
def test_malformed_messages_are_named(wire: bytes) -> None:
    (out,) = read_all([wire], parity=False)
    assert isinstance(out, MessageRejected)
    assert isinstance(out.error, MalformedMessage)


# --- property tests --------------------------------------------------------------------------

_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
_ADDRESS = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="/!"), max_size=32
)
_LETTERS = st.text(st.characters(min_codepoint=0x41, max_codepoint=0x5A), min_size=3, max_size=3)
_CHAR = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/")
_BLOCK = st.text(
    st.characters(min_codepoint=0x05, max_codepoint=0x7E, exclude_characters="\x06\x15/"),
    max_size=200,
)

MESSAGES: st.SearchStrategy[Message] = st.one_of(
    st.builds(Request, _ADDRESS),
    st.builds(
        Identification,
        _LETTERS,
        _CHAR,
        st.text(
            st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="/"),
            max_size=20,
        ),
    ),
    st.builds(Ack),
    st.builds(Nak),
    st.builds(
        Command,
        st.text(_CHAR, min_size=2, max_size=2),
        st.none() | st.text(_CHAR | st.just(" "), max_size=60),
    ),
    st.builds(DataMessage, _BLOCK, st.booleans()),
)


@given(st.lists(MESSAGES, min_size=1, max_size=8), st.lists(st.integers(0, 4096)), st.booleans())
@example([Request(), Ack(), DataMessage("", partial=True)], [], True)
def test_any_messages_round_trip_whole_or_chunked(
    messages: list[Message], cuts: list[int], parity: bool
) -> None:
    stream = b"".join(encode(m, parity=parity) for m in messages)
    assert read_all(split_at(stream, cuts), parity=parity) == messages
    assert read_all([bytes([b]) for b in stream], parity=parity) == messages


@given(
    st.lists(
        st.builds(
            DataSet,
            st.text(
                st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="()*/!"),
                min_size=1,
                max_size=16,
            ),
            st.lists(
                st.builds(
                    DataValue,
                    st.text(
                        st.characters(
                            min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="()*/!"
                        ),
                        max_size=32,
                    ),
                    st.none()
                    | st.text(
                        st.characters(
                            min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="()*/!"
                        ),
                        min_size=1,
                        max_size=16,
                    ),
                ),
                min_size=1,
                max_size=3,
            ).map(tuple),
        ),
        max_size=10,
    )
)
def test_data_sets_round_trip(data_sets: list[DataSet]) -> None:
    assert parse_data_block(format_data_block(data_sets)) == tuple(data_sets)


@given(st.binary(max_size=300), st.booleans())
@example(b"\x06", True)
@example(b"/?\x01", False)
def test_garbage_parses_or_is_rejected_never_anything_else(data: bytes, parity: bool) -> None:
    """Random bytes give messages or named remote errors, whole or byte by byte (h11 fuzz rule)."""
    for chunks in ([data], [bytes([b]) for b in data]):
        reader = MessageReader(parity=parity)
        for chunk in chunks:
            reader.receive_data(chunk)
            for option_select in (True, False):
                while (item := reader.next_message(option_select=option_select)) is not None:
                    if isinstance(item, MessageRejected):
                        assert isinstance(item.error, RemoteProtocolError)
                    if isinstance(item, DataMessage):
                        with contextlib.suppress(MalformedMessage):
                            parse_data_block(item.block)
        rest = reader.flush()
        assert rest is None or isinstance(rest.error, MessageTruncated)
