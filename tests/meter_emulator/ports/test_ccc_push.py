"""The emulator's CCC push: byte-exact with real meters, decodable by us and by a peer, and
every injected fault rejected by the gateway's decoder with the matching named error."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from dlms_cosem import a_xdr
from dlms_cosem import security as peer_security
from dlms_cosem.hdlc import frames as peer_frames
from dlms_cosem.protocol.xdlms import DataNotification, GeneralGlobalCipher
from hypothesis import given, settings
from hypothesis import strategies as st

from ccc_gateway.protocol import (
    AuthenticationFailed,
    FcsError,
    FrameRejected,
    FrameTruncated,
    HcsError,
    Keys,
    KeysSwapped,
    PushDecoder,
    PushReceived,
    ReplayedFrame,
    SecurityContext,
    decode_frame,
)
from ccc_gateway.protocol.axdr import CosemDateTime
from ccc_gateway.protocol.push import ListKind
from meter_emulator.ports.ccc_frames import PushSecurity, build_push_frame, system_title_for
from meter_emulator.ports.ccc_push import CccPush, CccPushConfig, FaultNotApplicable
from meter_emulator.ports.faults import Fault, as_seen_by_8e1_receiver
from meter_emulator.ports.push_lists import (
    AbsentObjects,
    ListProfile,
    PushList,
    build_list_body,
    list_objects,
)
from meter_emulator.ports.push_schedule import DuePush, PushKind, PushSchedule
from tests.vectors import RADIUS, frame, key, vectors

EK = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
AK = bytes.fromhex("F0E1D2C3B4A5968778695A4B3C2D1E0F")
SERIAL = 28046399
TITLE = system_title_for(SERIAL)

# --- byte-exact against real frames ----------------------------------------------------------

BYTE_EXACT = [
    "no_1ph_list1_plain",
    "no_1ph_list2_plain",
    "no_3ph_list1_plain",
    "se_3ph_list1_plain",
    "nve_spec_example1_3ph_list1",
    "nve_spec_example3_1ph_1quadrant_list2",
    RADIUS,
]
_LISTS = {
    ListKind.HAN_NVE_LIST_1: PushList.HAN_NVE_LIST_1,
    ListKind.HAN_NVE_LIST_2: PushList.HAN_NVE_LIST_2,
    ListKind.DLMS_PUSH_1: PushList.DLMS_PUSH_1,
}


@pytest.mark.parametrize("name", BYTE_EXACT)
def test_fed_a_vectors_values_the_emulator_produces_its_exact_bytes(name: str) -> None:
    vector = vectors()[name]
    ek, ak = key(name, "encryption_key"), key(name, "authentication_key")
    # The vector's values, time and IC, taken from its documented expectations:
    values = {
        code: facts.get("raw", facts["value"])
        for code, facts in vector["expected"].items()
        if code not in ("1.1.0.2.129.255", "0.1.1.0.0.255")
    }
    moment = CosemDateTime.from_bytes(bytes.fromhex(vector["apdu_date_time"]["raw"]))
    push_list = _LISTS[
        decode_frame(frame(name), encryption_key=ek, authentication_key=ak).list_kind
    ]
    absent = AbsentObjects.NULL_DATA if vector["null_data_elements"] else AbsentObjects.OMIT
    body = build_list_body(ListProfile(push_list, absent), values, clock=moment)
    security = None
    ic = None
    if ek is not None:
        security = PushSecurity(Keys(ek, ak), bytes.fromhex(vector["security"]["system_title"]))
        ic = vector["security"]["invocation_counter"]
    built = build_push_frame(body, date_time=moment, security=security, invocation_counter=ic)
    assert built.hex().upper() == vector["hex"]


# --- every profile decodes, by us and by a peer ---------------------------------------------


def snapshot(phases: int, quadrants: int = 4) -> dict[str, Any]:
    """A plausible register snapshot (raw values at the list's resolution)."""
    values: dict[str, Any] = {
        "1.1.0.0.5.255": "5706567280463991",
        "1.1.96.1.1.255": "6861111BN242101040" if phases == 1 else "6841131BN243101040",
        "1.1.0.0.1.255": SERIAL,
        "1.1.1.7.0.255": 1234,
        "1.1.1.8.0.255": 1_234_567,
        "1.1.31.7.0.255": 537,
        "1.1.32.7.0.255": 231,
        "1.1.21.7.0.255": 1234,
        "1.1.33.7.0.255": 98,
        "1.1.13.7.0.255": 98,
        "1.1.21.8.0.255": 1_234_567,
    }
    if quadrants == 4:
        values |= {
            "1.1.2.7.0.255": 0,
            "1.1.3.7.0.255": 210,
            "1.1.4.7.0.255": 0,
            "1.1.2.8.0.255": 4_321,
            "1.1.3.8.0.255": 77_000,
            "1.1.4.8.0.255": 12,
            "1.1.22.7.0.255": 0,
            "1.1.22.8.0.255": 4_321,
        }
    if phases == 3:
        for c in ("51.7.0", "71.7.0"):
            values[f"1.1.{c}.255"] = 312
        for c in ("52.7.0", "72.7.0"):
            values[f"1.1.{c}.255"] = 229
        for c in ("41.7.0", "61.7.0", "42.7.0", "62.7.0", "41.8.0", "61.8.0", "42.8.0", "62.8.0"):
            values[f"1.1.{c}.255"] = 100
        for c in ("53.7.0", "73.7.0"):
            values[f"1.1.{c}.255"] = 97
    return values


PROFILES = [
    (push_list, absent, phases, encrypted)
    for push_list in PushList
    for absent in AbsentObjects
    for phases in (1, 3)
    for encrypted in (False, True)
]
TRIGGER = datetime(2024, 7, 1, 12, 0, 10)


def _build(
    push_list: PushList,
    absent: AbsentObjects,
    phases: int,
    encrypted: bool,
    values: dict[str, Any] | None = None,
    ic: int = 1,
) -> bytes:
    moment = CosemDateTime.from_datetime(TRIGGER, dst=True)
    body = build_list_body(ListProfile(push_list, absent), values or snapshot(phases), clock=moment)
    security = PushSecurity(Keys(EK, AK), TITLE) if encrypted else None
    return build_push_frame(
        body, date_time=moment, security=security, invocation_counter=ic if encrypted else None
    )


def _keys(encrypted: bool) -> dict[str, bytes | None]:
    """The decoder's keys: a meter with keys refuses plaintext pushes (issue 10)."""
    return {
        "encryption_key": EK if encrypted else None,
        "authentication_key": AK if encrypted else None,
    }


@pytest.mark.parametrize(("push_list", "absent", "phases", "encrypted"), PROFILES)
def test_every_profile_decodes_with_all_checks(
    push_list: PushList, absent: AbsentObjects, phases: int, encrypted: bool
) -> None:
    raw = _build(push_list, absent, phases, encrypted)
    trace: list[str] = []
    push = decode_frame(raw, **_keys(encrypted), trace=trace)
    assert "FCS ok" in trace
    if encrypted:
        assert "GCM tag ok (12 bytes)" in trace
        assert raw[3:5] == b"\x41\x03"
    else:
        assert raw[3:5] == b"\x2b\x21"
    assert push.phases == phases
    expected = {c: v for c, v in snapshot(phases).items() if c in list_objects(push_list)}
    assert {c: r.raw for c, r in push.readings.items() if c in expected} == expected
    assert push.apdu_datetime is not None
    assert push.apdu_datetime.isoformat() == TRIGGER.isoformat()
    assert push.apdu_datetime.dst


def _peer_decode(raw: bytes, encrypted: bool) -> dict[str, Any]:
    """dlms-cosem (PyPI) decodes the same frame: HDLC UI frame, optional GCM, A-XDR body."""
    ui = peer_frames.UnnumberedInformationFrame.from_bytes(raw)
    apdu = bytes(ui.payload[3:])
    if encrypted:
        envelope = GeneralGlobalCipher.from_bytes(apdu)
        apdu = peer_security.decrypt(
            security_control=envelope.security_control,
            system_title=envelope.system_title,
            invocation_counter=envelope.invocation_counter,
            key=EK,
            auth_key=AK,
            cipher_text=envelope.ciphered_text,
        )
    notification = DataNotification.from_bytes(apdu)
    decoder = a_xdr.AXdrDecoder(
        encoding_conf=a_xdr.EncodingConf(attributes=[a_xdr.Sequence(attribute_name="data")])
    )
    items = [i for i in decoder.decode(notification.body)["data"] if i is not None]
    return {".".join(map(str, items[i])): items[i + 1] for i in range(1, len(items) - 1, 2)}


@pytest.mark.parametrize(("push_list", "absent", "phases", "encrypted"), PROFILES)
def test_peer_decoder_reads_the_same_values(
    push_list: PushList, absent: AbsentObjects, phases: int, encrypted: bool
) -> None:
    raw = _build(push_list, absent, phases, encrypted)
    ours = decode_frame(raw, **_keys(encrypted))
    theirs = _peer_decode(raw, encrypted)
    for code, value in theirs.items():
        if code == "0.1.1.0.0.255":
            continue
        assert ours.readings[code].raw == value, code


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from(PROFILES),
    st.dictionaries(
        st.sampled_from(["1.1.1.7.0.255", "1.1.1.8.0.255", "1.1.31.7.0.255", "1.1.21.8.0.255"]),
        st.integers(0, 2**32 - 1),
    ),
    st.integers(0, 2**32 - 1),
)
def test_any_register_values_round_trip(
    profile: tuple[PushList, AbsentObjects, int, bool], overrides: dict[str, int], ic: int
) -> None:
    push_list, absent, phases, encrypted = profile
    values = snapshot(phases) | overrides
    push = decode_frame(
        _build(push_list, absent, phases, encrypted, values, ic), **_keys(encrypted)
    )
    for code in overrides:
        if code in list_objects(push_list):
            assert push.readings[code].raw == overrides[code]


# --- faults ---------------------------------------------------------------------------------


class Counter:
    def __init__(self, start: int = 100) -> None:
        self.value = start

    def __call__(self) -> int:
        self.value += 1
        return self.value


def _port(encrypted: bool = True, **kwargs: Any) -> CccPush:
    config = CccPushConfig(
        push_list=PushList.DLMS_PUSH_1,
        absent=AbsentObjects.OMIT,
        security=PushSecurity(Keys(EK, AK), TITLE) if encrypted else None,
    )
    return CccPush(config, Counter(), **kwargs)


def _stream(port: CccPush, count: int) -> bytes:
    return b"".join(
        port.build(DuePush(PushKind.INTERVAL, TRIGGER + timedelta(seconds=10 * i)), snapshot(1))
        for i in range(count)
    )


def _events(raw: bytes) -> list[PushReceived | FrameRejected]:
    decoder = PushDecoder(security=SecurityContext(keys=Keys(EK, AK)))
    return decoder.receive_data(raw) + decoder.flush()


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.BAD_HCS, HcsError),
        (Fault.BAD_FCS, FcsError),
        (Fault.TRUNCATED, FrameTruncated),
        (Fault.WRONG_KEY, AuthenticationFailed),
        (Fault.SWAPPED_KEYS, KeysSwapped),
        (Fault.CORRUPTED_TAG, AuthenticationFailed),
        (Fault.REPLAYED_IC, ReplayedFrame),
    ],
)
def test_each_fault_is_rejected_with_its_named_error(fault: Fault, error: type[Exception]) -> None:
    port = _port(rng=random.Random(7))
    good = _stream(port, 1)
    port.inject(fault)
    bad = _stream(port, 1)
    after = _stream(port, 1)
    events = _events(good + bad + after)
    assert isinstance(events[0], PushReceived)
    rejected = [e for e in events if isinstance(e, FrameRejected)]
    assert rejected
    assert isinstance(rejected[0].error, error)
    assert type(rejected[0].error) is error or error is AuthenticationFailed
    assert isinstance(events[-1], PushReceived)  # the stream goes on


def test_garbage_between_frames_costs_nothing() -> None:
    port = _port()
    port.inject(Fault.GARBAGE)
    events = _events(_stream(port, 3))
    assert all(isinstance(e, PushReceived) for e in events)
    assert len(events) == 3


def test_wrong_parity_garbles_every_frame() -> None:
    port = _port(encrypted=False)
    port.inject(Fault.PARITY_8E1, count=3)
    events = _events(_stream(port, 3))
    assert not any(isinstance(e, PushReceived) for e in events)


def test_8e1_receiver_model_is_faithful_for_a_matching_line() -> None:
    """The UART model garbles (a 10-bit character read as 11 bits) and is deterministic."""
    raw = frame("no_1ph_list1_plain")
    seen = as_seen_by_8e1_receiver(raw)
    assert seen != raw
    assert seen == as_seen_by_8e1_receiver(raw)


def test_fault_rate_is_reproducible() -> None:
    a = _stream(_port(fault_rate=0.5, rng=random.Random(3)), 20)
    b = _stream(_port(fault_rate=0.5, rng=random.Random(3)), 20)
    assert a == b
    events = _events(a)
    assert any(isinstance(e, FrameRejected) for e in events)
    assert any(isinstance(e, PushReceived) for e in events)


def test_key_faults_need_an_encrypted_push() -> None:
    port = _port(encrypted=False)
    with pytest.raises(FaultNotApplicable):
        port.inject(Fault.WRONG_KEY)
    with pytest.raises(FaultNotApplicable):
        _port().inject(Fault.REPLAYED_IC)  # nothing sent yet to replay


def test_invocation_counter_increments_per_push() -> None:
    port = _port()
    first, second = (
        decode_frame(f, encryption_key=EK, authentication_key=AK)
        for f in (_stream(port, 1), _stream(port, 1))
    )
    assert first.invocation_counter is not None
    assert second.invocation_counter == first.invocation_counter + 1


# --- schedule -------------------------------------------------------------------------------


def test_interval_pushes_at_x0_seconds() -> None:
    schedule = PushSchedule(hourly_offset_s=None)
    start = datetime(2024, 3, 1, 12, 0, 3)
    triggers = []
    for step in range(1, 40):
        triggers += schedule.due(
            start + timedelta(seconds=step - 1), start + timedelta(seconds=step)
        )
    assert [t.trigger.second for t in triggers] == [10, 20, 30, 40]
    assert all(t.kind is PushKind.INTERVAL for t in triggers)


def test_hourly_push_at_its_offset_and_never_on_a_slot() -> None:
    schedule = PushSchedule(hourly_offset_s=25)
    due = schedule.due(datetime(2024, 3, 1, 12, 59, 55), datetime(2024, 3, 1, 13, 0, 30))
    assert [(d.kind, d.trigger.time().isoformat()) for d in due] == [
        (PushKind.HOURLY, "13:00:25"),
        (PushKind.INTERVAL, "13:00:30"),
    ]
    with pytest.raises(ValueError, match="10 s slot"):
        PushSchedule(hourly_offset_s=30)


def test_a_clock_jump_does_not_replay_missed_pushes() -> None:
    due = PushSchedule(hourly_offset_s=5).due(datetime(2024, 1, 1), datetime(2024, 1, 2))
    assert len(due) == 2
    assert due[-1].trigger == datetime(2024, 1, 2)
