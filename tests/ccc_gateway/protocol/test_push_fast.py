"""The one-pass push decoder gives what the general path gives, or steps aside (None).

The general path (A-XDR tree, then :func:`interpret_body`) is held to the Construct
declarations by ``test_axdr``; here the fast path is held to the general one, on every vector,
on APDUs built through the declaration from generated bodies, and on mutated vectors.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ccc_gateway.protocol import OmnipowerError, parse_frame
from ccc_gateway.protocol.apdu import build_data_notification, parse_data_notification, strip_llc
from ccc_gateway.protocol.axdr import CosemDateTime, Data, DataType
from ccc_gateway.protocol.obis import CLOCK, GS1_METER_ID, METER_TYPE, obis_to_bytes
from ccc_gateway.protocol.push import (
    DEFAULT_RESOLUTION,
    Push,
    Resolution,
    interpret_body,
)
from ccc_gateway.protocol.push_fast import fast_push
from tests.vectors import PLAIN_HDLC_PUSHES, frame, vectors


def _general(apdu: bytes, resolution: Resolution = DEFAULT_RESOLUTION) -> Push:
    notification = parse_data_notification(apdu)
    return interpret_body(
        notification.body, apdu_datetime=notification.date_time, resolution=resolution
    )


def _vector_apdus() -> list[bytes]:
    apdus = [
        bytes.fromhex(v["plaintext_apdu_hex"])
        for v in vectors().values()
        if v.get("plaintext_apdu_hex", "").startswith("0F")
    ]
    for name in PLAIN_HDLC_PUSHES:
        apdu = strip_llc(parse_frame(frame(name)).information)
        if apdu[:1] == b"\x0f":
            apdus.append(apdu)
    return apdus


APDUS = _vector_apdus()


def _agree(apdu: bytes, resolution: Resolution = DEFAULT_RESOLUTION) -> Push | None:
    """Fast result (None when it stepped aside), after checking it against the general path."""
    fast = fast_push(apdu, resolution)
    try:
        general = _general(apdu, resolution)
    except OmnipowerError:
        assert fast is None
        return None
    if fast is not None:
        assert fast == general
        for code, reading in general.readings.items():  # same types, not only equal values
            assert type(fast.readings[code].value) is type(reading.value)
    return fast


def test_every_vector_takes_the_fast_path() -> None:
    assert len(APDUS) >= 5
    for apdu in APDUS:
        assert _agree(apdu) is not None
        assert _agree(apdu, Resolution(energy_scaler=-3, current_scaler=0)) is not None


_CODES = [
    "1.1.0.0.1.255",
    GS1_METER_ID,
    METER_TYPE,
    CLOCK,
    "1.1.1.7.0.255",
    "1.1.1.8.0.255",
    "1.1.31.7.0.255",
    "1.1.51.7.0.255",
    "1.1.32.7.0.255",
    "1.1.13.7.0.255",
    "1.1.14.7.0.255",
    "1.1.0.2.129.255",
]
_NUMBERS = {
    DataType.DOUBLE_LONG: (-(2**31), 2**31 - 1),
    DataType.DOUBLE_LONG_UNSIGNED: (0, 2**32 - 1),
    DataType.INTEGER: (-128, 127),
    DataType.LONG: (-(2**15), 2**15 - 1),
    DataType.UNSIGNED: (0, 255),
    DataType.LONG_UNSIGNED: (0, 2**16 - 1),
    DataType.LONG64: (-(2**63), 2**63 - 1),
    DataType.LONG64_UNSIGNED: (0, 2**64 - 1),
}
_values = st.one_of(
    st.sampled_from(list(_NUMBERS)).flatmap(
        lambda t: st.integers(*_NUMBERS[t]).map(lambda v: Data(t, v))
    ),
    st.text(st.characters(max_codepoint=255), max_size=140).map(
        lambda s: Data(DataType.VISIBLE_STRING, s)
    ),
    st.binary(max_size=140).map(lambda b: Data(DataType.OCTET_STRING, b)),
    st.binary(min_size=12, max_size=12).map(lambda b: Data(DataType.OCTET_STRING, b)),
    st.just(Data(DataType.NULL_DATA, None)),
    st.booleans().map(lambda b: Data(DataType.BOOLEAN, b)),
    st.integers(0, 255).map(lambda v: Data(DataType.ENUM, v)),
)
_obis = st.one_of(st.sampled_from(_CODES).map(obis_to_bytes), st.binary(min_size=6, max_size=6))
_items = st.lists(
    st.one_of(
        st.tuples(_obis.map(lambda b: Data(DataType.OCTET_STRING, b)), _values),
        st.just((Data(DataType.NULL_DATA, None),)),
    ),
    max_size=70,
)
_date_times = st.one_of(
    st.none(),
    st.builds(
        CosemDateTime,
        st.integers(2000, 2099),
        st.integers(1, 12),
        st.integers(1, 28),
        st.integers(1, 7),
        st.integers(0, 23),
        st.integers(0, 59),
        st.integers(0, 59),
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    _items,
    st.sampled_from(["Kamstrup_V0001", "Kamstrup_V0002", ""]),
    _date_times,
    st.sampled_from([Resolution(), Resolution(energy_scaler=-3, voltage_scaler=-2)]),
)
def test_bodies_built_through_the_declaration(
    groups: list[tuple[Data, ...]],
    version: str,
    stamp: CosemDateTime | None,
    resolution: Resolution,
) -> None:
    items = [Data(DataType.VISIBLE_STRING, version)]
    for group in groups:
        items.extend(group)
    body = Data(DataType.STRUCTURE, tuple(items))
    apdu = build_data_notification(body, date_time=stamp)
    _agree(apdu, resolution)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(APDUS), st.lists(st.tuples(st.integers(0, 600), st.integers(0, 255))))
def test_mutated_vectors(apdu: bytes, changes: list[tuple[int, int]]) -> None:
    mutated = bytearray(apdu)
    for index, value in changes:
        mutated[index % len(mutated)] = value
    _agree(bytes(mutated))


@given(st.sampled_from(APDUS), st.integers(0, 600))
def test_truncated_and_extended_vectors(apdu: bytes, cut: int) -> None:
    _agree(apdu[: cut % len(apdu)])
    _agree(apdu + apdu[: cut % 7])
