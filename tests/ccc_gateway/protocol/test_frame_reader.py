"""FrameReader and PushDecoder on streams: chunking, garbage, resynchronisation, bounds."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ccc_gateway.protocol import (
    FcsError,
    FrameReader,
    FrameReceived,
    FrameRejected,
    FrameTooLong,
    FrameTruncated,
    HcsError,
    Keys,
    PushDecoder,
    PushReceived,
    RemoteProtocolError,
    ReplayedFrame,
    SecurityContext,
    decode_frame,
    parse_frame,
)
from tests.vectors import PLAIN_HDLC_PUSHES, RADIUS, frame, key

FRAMES = [frame(n) for n in PLAIN_HDLC_PUSHES] + [frame(RADIUS)]
KEYS = Keys(key(RADIUS, "encryption_key") or b"", key(RADIUS, "authentication_key"))


def split_at(stream: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = sorted({c % (len(stream) + 1) for c in cuts})
    bounds = [0, *points, len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def feed_reader(chunks: Iterable[bytes]) -> list[tuple[str, bytes]]:
    reader = FrameReader()
    out: list[tuple[str, bytes]] = []
    for chunk in chunks:
        for event in reader.receive_data(chunk):
            kind = "ok" if isinstance(event, FrameReceived) else type(event.error).__name__
            out.append((kind, event.raw))
        assert reader.buffered <= 1030 + 2
    return out


def test_one_byte_at_a_time() -> None:
    stream = b"".join(FRAMES)
    events = feed_reader(stream[i : i + 1] for i in range(len(stream)))
    assert events == [("ok", f) for f in FRAMES]


def test_shared_flag_between_frames() -> None:
    """HDLC allows one flag to close a frame and open the next."""
    a, b = FRAMES[0], FRAMES[1]
    assert feed_reader([a + b[1:]]) == [("ok", a), ("ok", b)]


def test_garbage_between_frames_is_skipped_and_counted() -> None:
    reader = FrameReader()
    events = reader.receive_data(b"\x00\x13noise\x7e\x01" + FRAMES[0] + b"\xff" * 5 + FRAMES[1])
    assert [e.raw for e in events if isinstance(e, FrameReceived)] == FRAMES[:2]
    assert reader.discarded_bytes >= 12


def test_bad_hcs_is_reported_at_once_and_the_next_frame_survives() -> None:
    bad = bytearray(FRAMES[0])
    bad[2] ^= 0x04  # corrupt the length: the HCS catches it before we wait for the bytes
    events = feed_reader([bytes(bad[:12])])
    assert events
    assert events[0][0] == "HcsError"
    events = feed_reader([bytes(bad) + FRAMES[1]])
    assert events[0][0] == "HcsError"
    assert events[-1] == ("ok", FRAMES[1])


def test_bad_fcs_then_good_frame() -> None:
    bad = bytearray(FRAMES[0])
    bad[60] ^= 0x01
    events = feed_reader([bytes(bad) + FRAMES[1]])
    assert [kind for kind, _ in events] == ["FcsError", "ok"]


def test_truncated_frame_followed_by_a_good_one() -> None:
    truncated = FRAMES[2][:90]
    events = feed_reader([truncated + FRAMES[1] + FRAMES[0]])
    assert events[0][0] == "FrameTruncated"
    assert ("ok", FRAMES[1]) in events
    assert events[-1] == ("ok", FRAMES[0])


def test_flush_reports_a_partial_frame() -> None:
    reader = FrameReader()
    assert reader.receive_data(FRAMES[0][:50]) == []
    (event,) = reader.flush()
    assert isinstance(event.error, FrameTruncated)
    assert reader.receive_data(FRAMES[1]) == [FrameReceived(parse_frame(FRAMES[1]), FRAMES[1])]


def test_impossible_length_is_too_long() -> None:
    events = feed_reader([b"\x7e\xa7\xff" + bytes(20) + FRAMES[0]])
    assert events[0][0] == "FrameTooLong"
    assert events[-1] == ("ok", FRAMES[0])


def test_push_decoder_and_replay() -> None:
    decoder = PushDecoder(security=SecurityContext(keys=KEYS))
    events = decoder.receive_data(frame(RADIUS) + frame(RADIUS))
    assert isinstance(events[0], PushReceived)
    assert isinstance(events[1], FrameRejected)
    assert isinstance(events[1].error, ReplayedFrame)


def test_push_decoder_p1_mode() -> None:
    decoder = PushDecoder(p1=True)
    telegram = frame("se_3ph_han_p1_telegram")
    events = decoder.receive_data(telegram[:100]) + decoder.receive_data(telegram[100:])
    assert len(events) == 1
    assert isinstance(events[0], PushReceived)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(FRAMES), min_size=1, max_size=6), st.lists(st.integers(0, 4096)))
def test_chunking_never_changes_events(frames: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(frames)
    assert feed_reader(split_at(stream, cuts)) == feed_reader([stream])


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for position, value in edits:
        if out:
            out[position % len(out)] = value
    return bytes(out)


stream_parts = st.one_of(
    st.sampled_from(FRAMES),
    st.binary(max_size=64),
    st.builds(
        _mutate,
        st.sampled_from(FRAMES),
        st.lists(st.tuples(st.integers(0, 600), st.integers(0, 255)), min_size=1, max_size=4),
    ),
    st.builds(lambda f, n: f[:n], st.sampled_from(FRAMES), st.integers(0, 500)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(stream_parts, max_size=8), st.lists(st.integers(0, 5000), max_size=20))
@example([b"\x7e\xa0\x07\x21\x03\x13\x7e"], [])
def test_hostile_streams_yield_only_named_errors_and_checked_pushes(
    parts: list[bytes], cuts: list[int]
) -> None:
    """Random bytes and mutated real frames in random chunks: nothing but named errors, and a
    reading only from a frame that passes every check on its own."""
    decoder = PushDecoder(security=SecurityContext(keys=KEYS))
    stream = b"".join(parts)
    events = []
    for chunk in split_at(stream, cuts):
        events += decoder.receive_data(chunk)
        assert decoder._frames.buffered <= 1032
    events += decoder.flush()
    for event in events:
        if isinstance(event, PushReceived):
            assert event.raw in FRAMES or _passes_alone(event.raw)
        else:
            assert isinstance(event.error, RemoteProtocolError)


def _passes_alone(raw: bytes) -> bool:
    try:
        decode_frame(
            raw, encryption_key=KEYS.encryption_key, authentication_key=KEYS.authentication_key
        )
    except RemoteProtocolError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_decode_frame_raises_only_named_errors(raw: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        decode_frame(
            raw, encryption_key=KEYS.encryption_key, authentication_key=KEYS.authentication_key
        )


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(FRAMES),
    st.lists(st.tuples(st.integers(0, 600), st.integers(0, 255)), min_size=1, max_size=3),
)
def test_mutated_real_frames_raise_only_named_errors(
    original: bytes, edits: list[tuple[int, int]]
) -> None:
    mutated = _mutate(original, edits)
    try:
        push = decode_frame(
            mutated, encryption_key=KEYS.encryption_key, authentication_key=KEYS.authentication_key
        )
    except (HcsError, FcsError, FrameTooLong, RemoteProtocolError):
        return
    # Only an edit that left the bytes unchanged (or one the CRC cannot see) can decode.
    assert mutated == original or parse_frame(mutated) is not None
    assert push.readings


def _segmented(name: str, sizes: list[int]) -> list[bytes]:
    """A vector's information field sent in segments (S bit on all but the last)."""
    from ccc_gateway.protocol import encode_frame
    from ccc_gateway.protocol._record import replace

    original = parse_frame(frame(name))
    info = original.information
    parts, start = [], 0
    for size in sizes:
        parts.append(info[start : start + size])
        start += size
    parts.append(info[start:])
    return [
        encode_frame(replace(original, information=part, segmented=i < len(parts) - 1))
        for i, part in enumerate(parts)
    ]


def test_segmented_push_is_reassembled() -> None:
    decoder = PushDecoder(security=SecurityContext(keys=KEYS))
    events = decoder.receive_data(b"".join(_segmented(RADIUS, [100, 200])))
    assert len(events) == 1
    assert isinstance(events[0], PushReceived)
    assert events[0].push.readings["1.1.1.8.0.255"].value == 866636


def test_unfinished_segments_are_reported_on_flush() -> None:
    decoder = PushDecoder()
    assert decoder.receive_data(b"".join(_segmented("no_3ph_list1_plain", [80])[:1])) == []
    (event,) = decoder.flush()
    assert isinstance(event.error, FrameTruncated)


def test_segments_from_another_sender_are_refused() -> None:
    from ccc_gateway.protocol import InvalidFrameFormat

    first = _segmented("no_3ph_list1_plain", [80])[0]
    decoder = PushDecoder(security=SecurityContext(keys=KEYS))
    events = decoder.receive_data(first + frame(RADIUS))
    assert isinstance(events[0], FrameRejected)
    assert isinstance(events[0].error, InvalidFrameFormat)


def test_endless_segments_are_bounded() -> None:
    from ccc_gateway.protocol.hdlc import HdlcAddress, HdlcFrame
    from ccc_gateway.protocol.segments import Reassembler

    reassembler = Reassembler(max_length=1000)
    segment = HdlcFrame(HdlcAddress(21), HdlcAddress(16), 0x13, b"x" * 400, segmented=True)
    assert reassembler.feed(segment) is None
    assert reassembler.feed(segment) is None
    with pytest.raises(FrameTooLong):
        reassembler.feed(segment)
    assert not reassembler.pending
