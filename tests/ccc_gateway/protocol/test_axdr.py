"""A-XDR: the fast codec round-trips and agrees with the Construct declaration."""

from __future__ import annotations

import contextlib
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccc_gateway.protocol.axdr import (
    BitString,
    CosemDateTime,
    Data,
    DataType,
    decode_ber_length,
    decode_data,
    encode_ber_length,
    encode_data,
)
from ccc_gateway.protocol.errors import MalformedData
from ccc_gateway.protocol.layouts import AxdrDataStruct
from tests.vectors import vectors

COPENHAGEN = ZoneInfo("Europe/Copenhagen")

_INTS = {
    DataType.DOUBLE_LONG: st.integers(-(2**31), 2**31 - 1),
    DataType.DOUBLE_LONG_UNSIGNED: st.integers(0, 2**32 - 1),
    DataType.INTEGER: st.integers(-128, 127),
    DataType.LONG: st.integers(-(2**15), 2**15 - 1),
    DataType.UNSIGNED: st.integers(0, 255),
    DataType.LONG_UNSIGNED: st.integers(0, 2**16 - 1),
    DataType.LONG64: st.integers(-(2**63), 2**63 - 1),
    DataType.LONG64_UNSIGNED: st.integers(0, 2**64 - 1),
    DataType.ENUM: st.integers(0, 255),
}

date_times = st.builds(
    CosemDateTime,
    year=st.integers(0, 0xFFFF),
    month=st.integers(0, 255),
    day=st.integers(0, 255),
    day_of_week=st.integers(0, 255),
    hour=st.integers(0, 255),
    minute=st.integers(0, 255),
    second=st.integers(0, 255),
    hundredths=st.integers(0, 255),
    deviation=st.integers(-(2**15), 2**15 - 1),
    clock_status=st.integers(0, 255),
)

scalars = st.one_of(
    st.just(Data(DataType.NULL_DATA, None)),
    st.builds(lambda b: Data(DataType.BOOLEAN, b), st.booleans()),
    *[st.builds(lambda v, t=t: Data(t, v), strategy) for t, strategy in _INTS.items()],
    st.builds(lambda b: Data(DataType.OCTET_STRING, b), st.binary(max_size=300)),
    st.builds(
        lambda s: Data(DataType.VISIBLE_STRING, s),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    ),
    st.builds(lambda s: Data(DataType.UTF8_STRING, s), st.text(max_size=20)),
    st.builds(
        lambda bits: Data(DataType.BIT_STRING, BitString(bits)),
        st.text(alphabet="01", max_size=40),
    ),
    st.builds(lambda dt: Data(DataType.DATE_TIME, dt), date_times),
    st.builds(lambda f: Data(DataType.FLOAT64, f), st.floats(allow_nan=False, allow_infinity=True)),
)

values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.builds(lambda xs: Data(DataType.STRUCTURE, tuple(xs)), st.lists(children, max_size=6)),
        st.builds(lambda xs: Data(DataType.ARRAY, tuple(xs)), st.lists(children, max_size=6)),
    ),
    max_leaves=30,
)


def _from_declaration(parsed: object) -> object:
    """The declaration's container, reduced to the fast codec's plain values for comparison."""
    tag = parsed.type  # type: ignore[attr-defined]
    value = parsed.value  # type: ignore[attr-defined]
    if tag in (DataType.STRUCTURE, DataType.ARRAY):
        return (tag, tuple(_from_declaration(item) for item in value["items"]))
    if tag == DataType.VISIBLE_STRING:
        return (tag, value.decode("latin-1"))
    if tag == DataType.UTF8_STRING:
        return (tag, value.decode("utf-8"))
    if tag == DataType.BOOLEAN:
        return (tag, value != 0)
    return (tag, value)


def _plain(value: Data) -> object:
    if value.type in (DataType.STRUCTURE, DataType.ARRAY):
        return (value.type, tuple(_plain(item) for item in value.value))
    return (value.type, value.value)


@given(values)
def test_round_trip(value: Data) -> None:
    raw = encode_data(value)
    decoded, end = decode_data(raw)
    assert end == len(raw)
    assert decoded == value


@given(values)
def test_fast_codec_agrees_with_declaration(value: Data) -> None:
    raw = encode_data(value)
    assert _from_declaration(AxdrDataStruct.parse(raw)) == _plain(decode_data(raw)[0])


@pytest.mark.parametrize(
    "name", [n for n, v in vectors().items() if v.get("plaintext_apdu_hex", "").startswith("0F")]
)
def test_declaration_reads_the_vector_bodies(name: str) -> None:
    apdu = bytes.fromhex(vectors()[name]["plaintext_apdu_hex"])
    body = apdu[18:]  # 0F, invoke id (4), 0C + date-time (13)
    parsed = AxdrDataStruct.parse(body)
    assert len(parsed.value["items"]) == vectors()[name]["structure_elements"]
    assert encode_data(decode_data(body)[0]) == body


@given(st.binary(max_size=200))
def test_garbage_raises_only_malformed_data(raw: bytes) -> None:
    with contextlib.suppress(MalformedData):
        decode_data(raw)


def test_hostile_nesting_is_bounded() -> None:
    with pytest.raises(MalformedData):
        decode_data(b"\x02\x01" * 200 + b"\x00")


@pytest.mark.parametrize("length", [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x1D0, 0xFFFF, 0x10000])
def test_ber_length(length: int) -> None:
    raw = encode_ber_length(length)
    assert decode_ber_length(raw + b"rest", 0) == (length, len(raw))


def test_ber_length_as_seen_in_the_radius_frame() -> None:
    assert decode_ber_length(bytes.fromhex("8201D0"), 0) == (464, 3)


def test_date_time_fields_and_dst_bit() -> None:
    """gh517 (DK, April): 2023-04-06 13:49:50, deviation unspecified, status 0x80 (DST)."""
    moment = CosemDateTime.from_bytes(bytes.fromhex("07E70406040D3132FF800080"))
    assert moment.isoformat() == "2023-04-06T13:49:50"
    assert moment.dst
    assert not moment.invalid
    aware = moment.to_datetime(COPENHAGEN)
    assert aware.utcoffset() is not None
    assert aware.utcoffset().total_seconds() == 7200


def test_autumn_repeated_hour_is_settled_by_the_dst_bit() -> None:
    """02:30 on 2023-10-29 happens twice in Copenhagen; the status bit says which."""
    summer = CosemDateTime(2023, 10, 29, 7, 2, 30, 0, clock_status=0x80)
    winter = CosemDateTime(2023, 10, 29, 7, 2, 30, 0, clock_status=0x00)
    assert summer.to_datetime(COPENHAGEN).utcoffset().total_seconds() == 7200  # type: ignore[union-attr]
    assert winter.to_datetime(COPENHAGEN).utcoffset().total_seconds() == 3600  # type: ignore[union-attr]


def test_explicit_deviation_wins_over_zone() -> None:
    moment = CosemDateTime(2024, 1, 1, 1, 12, 0, 0, deviation=-60)
    assert moment.to_datetime().isoformat() == "2024-01-01T12:00:00+01:00"


def test_from_datetime_sets_the_dst_bit() -> None:
    summer = CosemDateTime.from_datetime(datetime(2024, 7, 1, 12, tzinfo=COPENHAGEN))
    winter = CosemDateTime.from_datetime(datetime(2024, 1, 1, 12, tzinfo=COPENHAGEN))
    assert summer.clock_status == 0x80
    assert winter.clock_status == 0x00
    assert summer.to_bytes().hex().upper() == "07E8070101" + "0C0000FF800080"


def test_unspecified_date_time_is_malformed_when_read_as_time() -> None:
    with pytest.raises(MalformedData):
        CosemDateTime.from_bytes(b"\xff" * 12).to_naive()
