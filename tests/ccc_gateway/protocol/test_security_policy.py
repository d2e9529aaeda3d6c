"""Issue 10: with keys configured, only frames that prove they come from the meter set values.

Plaintext is refused, encryption-only (SC 0x20) is refused unless the meter opted in, a
segmented frame is never a complete push, the HDLC route of ciphered frames is the meter's, and
a frame announcing a wrong length never costs the good frame behind it.
"""

from __future__ import annotations

import pytest

from ccc_gateway.protocol import (
    AddressMismatch,
    FrameRejected,
    Keys,
    PlaintextRefused,
    PushDecoder,
    PushReceived,
    SecurityContext,
    SecurityPolicy,
    SegmentationError,
    UnauthenticatedRefused,
    decode_frame,
    encode_frame,
    parse_frame,
)
from ccc_gateway.protocol._record import replace
from ccc_gateway.protocol.crc import crc16_x25
from ccc_gateway.protocol.hdlc import HdlcAddress, route_of
from tests.e2e.frames import RADIUS_KEYS, radius_push
from tests.vectors import PLAIN_HDLC_PUSHES, RADIUS, frame

EK = RADIUS_KEYS.encryption_key
AK = RADIUS_KEYS.authentication_key
PLAIN = frame(PLAIN_HDLC_PUSHES[0])
P_PLUS = "1.1.1.7.0.255"


def _decoder(**kwargs: object) -> PushDecoder:
    return PushDecoder(security=SecurityContext(keys=RADIUS_KEYS, **kwargs))  # type: ignore[arg-type]


def _kinds(events: list[PushReceived | FrameRejected]) -> list[str]:
    return ["push" if isinstance(e, PushReceived) else type(e.error).__name__ for e in events]


def _downgrade(raw: bytes, flip: int = 0) -> bytes:
    """The genuine frame with SC 0x30 → 0x20, the tag dropped and a ciphertext bit flipped.

    AES-CTR is malleable: without the tag, flipping a ciphertext bit flips the same plaintext
    bit, so this sets any value an attacker likes (the issue's 5,865 published forgeries).
    """
    hdlc = parse_frame(raw)
    info = bytearray(hdlc.information)
    # LLC(3) DB(1) len(1) title(8) 82 01 D0 (3) SC at 16, IC 17..20, ciphertext from 21
    assert info[16] == 0x30
    length = int.from_bytes(info[14:16], "big") - 12
    info[14:16] = length.to_bytes(2, "big")
    info[16] = 0x20
    del info[-12:]
    info[21 + 100] ^= flip
    return encode_frame(replace(hdlc, information=bytes(info)))


def test_plaintext_is_refused_when_keys_are_configured() -> None:
    with pytest.raises(PlaintextRefused, match="keys configured"):
        decode_frame(PLAIN, encryption_key=EK, authentication_key=AK)
    assert _kinds(_decoder().receive_data(PLAIN)) == ["PlaintextRefused"]
    assert "remove its keys" in PlaintextRefused.hint
    # A plaintext meter (no keys) still decodes it.
    assert decode_frame(PLAIN).readings


def test_encryption_only_is_refused_with_keys_unless_opted_in() -> None:
    genuine = radius_push(0, security_control=0x20)
    with pytest.raises(UnauthenticatedRefused, match="0x20"):
        decode_frame(genuine.frame, encryption_key=EK, authentication_key=AK)
    with pytest.raises(UnauthenticatedRefused):
        decode_frame(genuine.frame, encryption_key=EK)
    assert 'security = "encryption_only"' in UnauthenticatedRefused.hint
    push = decode_frame(genuine.frame, encryption_key=EK, policy=SecurityPolicy.ENCRYPTION_ONLY)
    assert push.value(P_PLUS) == genuine.active_power_w
    decoder = _decoder(policy=SecurityPolicy.ENCRYPTION_ONLY)
    assert _kinds(decoder.receive_data(genuine.frame)) == ["push"]


def test_the_downgrade_of_a_real_frame_is_refused() -> None:
    forged = _downgrade(frame(RADIUS), flip=0x01)
    with pytest.raises(UnauthenticatedRefused):
        decode_frame(forged, encryption_key=EK, authentication_key=AK)
    assert _kinds(_decoder().receive_data(forged)) == ["UnauthenticatedRefused"]
    # What strictness prevents: the opted-in policy has no way to see the change.
    opted = decode_frame(
        forged, encryption_key=EK, authentication_key=AK, policy=SecurityPolicy.ENCRYPTION_ONLY
    )
    genuine = decode_frame(frame(RADIUS), encryption_key=EK, authentication_key=AK)
    assert opted.readings != genuine.readings


def test_a_segmented_frame_is_never_a_complete_push() -> None:
    segmented = radius_push(0, segmented=True).frame
    with pytest.raises(SegmentationError, match="segmentation bit"):
        decode_frame(segmented, encryption_key=EK, authentication_key=AK)
    # In a stream: the S bit makes it wait for more; the genuine push after it still decodes.
    after = radius_push(1)
    events = _decoder().receive_data(segmented + after.frame)
    assert _kinds(events) == ["SegmentationError", "push"]
    assert isinstance(events[1], PushReceived)
    assert events[1].push.value(P_PLUS) == after.active_power_w


def _readdressed(
    raw: bytes, *, destination: int = 32, source: int = 1, control: int = 0x13
) -> bytes:
    hdlc = parse_frame(raw)
    return encode_frame(
        replace(
            hdlc,
            destination=HdlcAddress(destination),
            source=HdlcAddress(source),
            control=control,
        )
    )


@pytest.mark.parametrize("change", [{"destination": 33}, {"source": 2}, {"control": 0x03}], ids=str)
def test_the_hdlc_route_learned_from_the_first_good_frame_is_required(
    change: dict[str, int],
) -> None:
    decoder = _decoder()
    assert _kinds(decoder.receive_data(radius_push(0).frame)) == ["push"]
    moved = _readdressed(radius_push(1).frame, **change)
    assert _kinds(decoder.receive_data(moved)) == ["AddressMismatch"]
    assert _kinds(decoder.receive_data(radius_push(2).frame)) == ["push"]


def test_a_configured_route_refuses_the_first_frame_and_a_failed_frame_teaches_none() -> None:
    route = route_of(parse_frame(radius_push(0).frame))
    configured = _decoder(route=route)
    assert _kinds(configured.receive_data(_readdressed(radius_push(0).frame, destination=9))) == [
        "AddressMismatch"
    ]
    # A forged frame under another route fails its tag and must not become the meter's route.
    learning = PushDecoder(security=SecurityContext(keys=Keys(bytes(16), AK)))
    wrong_keys = learning.receive_data(_readdressed(radius_push(0).frame, destination=9))
    assert _kinds(wrong_keys) == ["AuthenticationFailed"]
    assert learning._security.route is None
    with pytest.raises(AddressMismatch):
        SecurityContext(keys=RADIUS_KEYS, route=route).check_envelope(
            0x30, (HdlcAddress(9), route[1], route[2])
        )


def _relength(raw: bytes, delta: int) -> bytes:
    """The frame announcing *delta* bytes more (or fewer) than it has, HCS and FCS valid."""
    body = bytearray(raw[1:-1])
    length = (((body[0] & 7) << 8) | body[1]) + delta
    body[0] = (body[0] & 0xF8) | (length >> 8)
    body[1] = length & 0xFF
    body[5:7] = crc16_x25(bytes(body[:5])).to_bytes(2, "little")
    body[-2:] = crc16_x25(bytes(body[:-2])).to_bytes(2, "little")
    return b"\x7e" + bytes(body) + b"\x7e"


@pytest.mark.parametrize("delta", [-40, -1, 1, 30, 250, 600])
@pytest.mark.parametrize("chunk", [1, 64, 4096])
def test_a_wrong_length_never_swallows_the_next_good_frame(delta: int, chunk: int) -> None:
    bad, good = _relength(radius_push(0).frame, delta), radius_push(1)
    stream = bad + good.frame
    decoder = _decoder()
    events: list[PushReceived | FrameRejected] = []
    for start in range(0, len(stream), chunk):
        events += decoder.receive_data(stream[start : start + chunk])
    events += decoder.flush()
    pushes = [e for e in events if isinstance(e, PushReceived)]
    assert [p.push.value(P_PLUS) for p in pushes] == [good.active_power_w]
    assert any(isinstance(e, FrameRejected) for e in events)


def test_a_p1_telegram_is_plaintext_too() -> None:
    telegram = frame("se_3ph_han_p1_telegram")
    assert decode_frame(telegram).readings
    with pytest.raises(PlaintextRefused):
        decode_frame(telegram, encryption_key=EK, authentication_key=AK)
    keyed = PushDecoder(security=SecurityContext(keys=RADIUS_KEYS), p1=True)
    assert _kinds(keyed.receive_data(telegram)) == ["PlaintextRefused"]
