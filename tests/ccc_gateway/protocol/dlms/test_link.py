"""The HDLC link state machines: the vendor's session, segmentation, recovery and refusals.

Client and server are paired in memory (helpers.Pump); a Wire loses, repeats or corrupts
chosen frames. Time is a number passed in: no test sleeps.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccc_gateway.protocol.dlms.control import (
    Control,
    FrameKind,
    FrmrReason,
    LinkParameters,
    frmr_information,
)
from ccc_gateway.protocol.dlms.link import (
    ApduReceived,
    LinkConnected,
    LinkDisconnected,
    LinkState,
)
from ccc_gateway.protocol.dlms.link_client import ClientLink
from ccc_gateway.protocol.dlms.link_server import ServerLink
from ccc_gateway.protocol.errors import (
    FcsError,
    FrameTruncated,
    LinkProtocolError,
    LinkTimeout,
    LocalProtocolError,
    RemoteProtocolError,
)
from ccc_gateway.protocol.events import FrameRejected
from ccc_gateway.protocol.hdlc import HdlcAddress, HdlcFrame, encode_frame, parse_frame

from .helpers import Echo, Pump, Wire, split_frames


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# [DLMS] 5512-1424 section 4.1 ([DLMS] §4), every HCS/FCS verified there.
VENDOR_SESSION = [
    _hex(
        "7E A020 03 21 93 7DD9 81 80 14 05 02 0200 06 02 0200 07 04 00000001 08 04 00000001 6FEF 7E"
    ),
    _hex(
        "7E A020 21 03 73 7398 81 80 14 05 02 0200 06 02 0080 07 04 00000001 08 04 00000001 19D4 7E"
    ),
    _hex(
        "7E A02B 03 21 10 FBAF E6E600 60 1D A1 09 06 07 60857405080101"
        " BE 10 04 0E 01 00 00 00 06 5F1F 04 00 00181D FFFF 5FAF 7E"
    ),
    _hex(
        "7E A037 21 03 30 6C7C E6E700 61 29 A1 09 06 07 60857405080101 A2 03 02 01 00"
        " A3 05 A1 03 02 01 00 BE 10 04 0E 08 00 06 5F1F 04 00 001010 007D 0007 7DEE 7E"
    ),
    _hex("7E A019 03 21 32 6FD8 E6E600 C0 01 81 0001 0101000001FF 02 00 A8E3 7E"),
    _hex("7E A015 21 03 52 5D8A E6E700 C4 01 81 00 06 00BC614F E436 7E"),
    _hex("7E A007 03 21 53 03C7 7E"),
    _hex("7E A007 21 03 73 0140 7E"),
]


def test_the_vendor_session_byte_for_byte() -> None:
    """Our client and server, with the example's limits, produce exactly its eight frames."""
    client = ClientLink(client=16, server=HdlcAddress(1), parameters=LinkParameters(512, 512))
    server = ServerLink(parameters=LinkParameters(512, 128))
    client.connect(0)
    assert client.data_to_send() == VENDOR_SESSION[0]
    assert server.receive_data(VENDOR_SESSION[0], 0) == [
        LinkConnected(LinkParameters(512, 128), HdlcAddress(16), HdlcAddress(1))
    ]
    assert server.data_to_send() == VENDOR_SESSION[1]
    (connected,) = client.receive_data(VENDOR_SESSION[1], 0)
    assert connected == LinkConnected(LinkParameters(128, 512), HdlcAddress(16), HdlcAddress(1))
    for request, response in ((2, 3), (4, 5)):
        client.send_apdu(VENDOR_SESSION[request][11:-3], 0)
        assert client.data_to_send() == VENDOR_SESSION[request]
        assert server.receive_data(VENDOR_SESSION[request], 0) == [
            ApduReceived(VENDOR_SESSION[request][11:-3])
        ]
        server.send_apdu(VENDOR_SESSION[response][11:-3])
        assert server.data_to_send() == VENDOR_SESSION[response]
        assert client.receive_data(VENDOR_SESSION[response], 0) == [
            ApduReceived(VENDOR_SESSION[response][11:-3])
        ]
    client.disconnect(0)
    assert client.data_to_send() == VENDOR_SESSION[6]
    assert server.receive_data(VENDOR_SESSION[6], 0) == [
        LinkDisconnected("disconnected by the client")
    ]
    assert server.data_to_send() == VENDOR_SESSION[7]
    assert client.receive_data(VENDOR_SESSION[7], 0) == [LinkDisconnected("disconnected")]
    assert client.state is server.state is LinkState.DISCONNECTED


def _connected(
    *, max_info: int = 128, server: HdlcAddress | None = None, retries: int = 3, **kwargs: object
) -> Pump:
    client = ClientLink(
        client=19,
        server=server or HdlcAddress(16),
        parameters=LinkParameters(max_info, max_info),
        max_retries=retries,
    )
    pump = Pump(client, Echo(**kwargs))  # type: ignore[arg-type]
    client.connect(0)
    assert [type(e) for e in pump.run()] == [LinkConnected]
    return pump


def _exchange(pump: Pump, apdu: bytes) -> list[object]:
    client: ClientLink = pump.client  # type: ignore[assignment]
    client.send_apdu(apdu, pump.now)
    return pump.run()


def test_segmentation_both_ways_with_the_s_bit_and_one_llc() -> None:
    pump = _connected(max_info=32, repeat=5)
    request = bytes(range(100))
    assert _exchange(pump, request) == [ApduReceived(b"A" + request * 5)]
    echo: Echo = pump.server  # type: ignore[assignment]
    assert echo.received == [request]
    uplink = [parse_frame(f) for f in pump.up.sent if parse_frame(f).information]
    i_frames = [f for f in uplink if Control.from_byte(f.control).kind is FrameKind.I]
    assert [f.segmented for f in i_frames] == [True, True, True, False]  # 103 bytes in 32s
    assert [f.information[:3] == b"\xe6\xe6\x00" for f in i_frames] == [True, False, False, False]
    downlink = [parse_frame(f) for f in pump.down.sent]
    answers = [f for f in downlink if Control.from_byte(f.control).kind is FrameKind.I]
    assert len(answers) == -(-(3 + 1 + 500) // 32)
    assert all(len(f.information) <= 32 for f in answers)


def test_a_lost_request_is_sent_again_after_a_poll() -> None:
    pump = _connected()
    pump.up.plan = lambda index, frame: "drop" if index == 1 else "ok"  # the first I-frame
    assert _exchange(pump, b"\xc0hello") == [ApduReceived(b"A\xc0hello")]
    echo: Echo = pump.server  # type: ignore[assignment]
    assert echo.received == [b"\xc0hello"]
    kinds = [Control.from_byte(parse_frame(f).control).kind for f in pump.up.sent]
    assert kinds == [FrameKind.SNRM, FrameKind.I, FrameKind.RR, FrameKind.I]
    assert pump.now == 2.0  # one response timeout


def test_a_lost_answer_is_sent_again_after_a_poll() -> None:
    pump = _connected()
    pump.down.plan = lambda index, frame: "drop" if index == 1 else "ok"
    assert _exchange(pump, b"\xc0x") == [ApduReceived(b"A\xc0x")]
    echo: Echo = pump.server  # type: ignore[assignment]
    assert echo.received == [b"\xc0x"]  # the server did not run the request twice


def test_duplicated_frames_deliver_once() -> None:
    pump = _connected(max_info=16, repeat=3)
    pump.up.plan = lambda index, frame: "dup"
    pump.down.plan = lambda index, frame: "dup"
    assert _exchange(pump, b"R" * 40) == [ApduReceived(b"A" + b"R" * 120)]
    assert _exchange(pump, b"S") == [ApduReceived(b"ASSS")]
    echo: Echo = pump.server  # type: ignore[assignment]
    assert echo.received == [b"R" * 40, b"S"]


def test_a_corrupt_answer_is_reported_and_recovered() -> None:
    pump = _connected()
    pump.down.plan = lambda index, frame: "corrupt" if index == 1 else "ok"
    events = _exchange(pump, b"\xc0y" * 20)
    assert isinstance(events[0], FrameRejected)
    assert isinstance(events[0].error, FcsError | RemoteProtocolError)
    assert events[1:] == [ApduReceived(b"A" + b"\xc0y" * 20)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=5),
    st.lists(st.sampled_from(["ok", "ok", "ok", "drop", "dup", "corrupt"]), max_size=60),
    st.lists(st.sampled_from(["ok", "ok", "ok", "drop", "dup", "corrupt"]), max_size=60),
    st.integers(16, 128),
)
def test_every_apdu_arrives_once_and_in_order_whatever_the_wire_does(
    apdus: list[bytes], up: list[str], down: list[str], max_info: int
) -> None:
    """Loss, repetition and corruption of any frames (the SNRM/UA aside) never lose,
    repeat or reorder an APDU, as long as the retries outlast the faults."""
    pump = _connected(max_info=max_info, retries=100)
    pump.up = Wire(lambda index, frame: up[index - 1] if 0 < index <= len(up) else "ok")
    pump.down = Wire(lambda index, frame: down[index - 1] if 0 < index <= len(down) else "ok")
    answers = []
    for apdu in apdus:
        events = _exchange(pump, apdu)
        answers += [e.apdu for e in events if isinstance(e, ApduReceived)]
        assert not [e for e in events if isinstance(e, LinkDisconnected)]
    echo: Echo = pump.server  # type: ignore[assignment]
    assert echo.received == apdus
    assert answers == [b"A" + apdu for apdu in apdus]


def test_the_client_gives_up_after_its_retries() -> None:
    pump = _connected(retries=2)
    pump.up.plan = lambda index, frame: "drop"
    events = _exchange(pump, b"\xc0")
    assert len(events) == 1
    assert isinstance(events[0], LinkDisconnected)
    assert isinstance(events[0].error, LinkTimeout)
    assert pump.now == 6.0  # three response timeouts of 2 s
    client: ClientLink = pump.client  # type: ignore[assignment]
    assert client.state is LinkState.DISCONNECTED


def test_two_and_four_byte_server_addresses() -> None:
    for size in (2, 4):
        address = HdlcAddress(16, 32, size)
        pump = _connected(server=address)
        assert _exchange(pump, b"\xc0") == [ApduReceived(b"A\xc0")]
        assert parse_frame(pump.up.sent[0]).destination == address
        assert parse_frame(pump.down.sent[0]).source == address
    assert HdlcAddress(16, 32, 2).encode() == _hex("20 41")  # [DLMS] §2.4
    assert HdlcAddress(16, 32, 4).encode() == _hex("00 20 00 41")


def test_frames_for_another_physical_address_or_device_are_ignored() -> None:
    server = ServerLink()
    for address in (HdlcAddress(16, 33, 2), HdlcAddress(17)):
        client = ClientLink(client=19, server=address)
        client.connect(0)
        assert server.receive_data(client.data_to_send(), 0) == []
        assert server.data_to_send() == b""


def test_snrm_without_parameters_takes_the_defaults() -> None:
    server = ServerLink()
    snrm = HdlcFrame(HdlcAddress(16), HdlcAddress(19), 0x93)
    (event,) = server.receive_data(encode_frame(snrm), 0)
    assert event == LinkConnected(LinkParameters(), HdlcAddress(19), HdlcAddress(16))
    ua = parse_frame(server.data_to_send())
    assert LinkParameters.from_bytes(ua.information) == LinkParameters()


def _frame(control: int, information: bytes = b"", client: int = 19) -> bytes:
    return encode_frame(HdlcFrame(HdlcAddress(16), HdlcAddress(client), control, information))


def _answer(server: ServerLink) -> tuple[Control, bytes]:
    frame = parse_frame(server.data_to_send())
    return Control.from_byte(frame.control), frame.information


def test_disconnected_server_answers_dm_to_all_but_snrm() -> None:
    server = ServerLink()
    for control in (0x10, 0x11, 0x53):  # I, RR, DISC
        assert (
            server.receive_data(_frame(control, b"\xe6\xe6\x00\xc0" if control == 0x10 else b""), 0)
            == []
        )
        assert _answer(server)[0].kind is FrameKind.DM


def test_client_sees_dm_as_a_refusal() -> None:
    client = ClientLink(client=19, server=HdlcAddress(16))
    client.connect(0)
    client.data_to_send()
    dm = encode_frame(HdlcFrame(HdlcAddress(19), HdlcAddress(16), 0x1F))
    (event,) = client.receive_data(dm, 0)
    assert isinstance(event, LinkDisconnected)
    assert isinstance(event.error, LinkProtocolError)


def _connected_server(max_info: int = 128) -> ServerLink:
    server = ServerLink(parameters=LinkParameters(max_info, max_info))
    server.receive_data(_frame(0x93, LinkParameters(max_info, max_info).to_bytes()), 0)
    server.data_to_send()
    return server


def test_frmr_for_too_long_information_until_snrm() -> None:
    server = _connected_server(max_info=32)
    i_frame = _frame(0x10, b"\xe6\xe6\x00" + bytes(40))
    assert server.receive_data(i_frame, 1) == []
    control, information = _answer(server)
    assert control.kind is FrameKind.FRMR
    assert information == frmr_information(0x10, 0, 0, FrmrReason.INFORMATION_TOO_LONG)
    server.receive_data(_frame(0x11), 2)  # anything but SNRM/DISC: the FRMR again
    assert _answer(server) == (control, information)
    events = server.receive_data(_frame(0x93), 3)
    assert [type(e) for e in events] == [LinkDisconnected, LinkConnected]
    assert _answer(server)[0].kind is FrameKind.UA


@pytest.mark.parametrize(
    ("control", "information", "reason"),
    [
        (0x0B, b"", FrmrReason.INVALID_CONTROL),  # undefined U-frame
        (0x73, b"", FrmrReason.INVALID_CONTROL),  # UA is a response, not a command
        (0x11, b"\x00", FrmrReason.INFORMATION_NOT_PERMITTED),  # RR with information
        (0x50, b"\xe6\xe6\x00\xc0", FrmrReason.INVALID_NR),  # I-frame acknowledging N(R) 2
    ],
)
def test_frmr_reasons(control: int, information: bytes, reason: FrmrReason) -> None:
    server = _connected_server()
    server.receive_data(_frame(control, information), 1)
    answer, detail = _answer(server)
    assert answer.kind is FrameKind.FRMR
    assert detail[0] == control
    assert detail[2] == reason.value


def test_client_sees_frmr_as_a_broken_link() -> None:
    pump = _connected()
    client: ClientLink = pump.client  # type: ignore[assignment]
    client.send_apdu(b"\xc0", 0)
    client.data_to_send()
    frmr = encode_frame(HdlcFrame(HdlcAddress(19), HdlcAddress(16), 0x97, b"\x10\x00\x01"))
    (event,) = client.receive_data(frmr, 0)
    assert isinstance(event, LinkDisconnected)
    assert isinstance(event.error, LinkProtocolError)
    assert "100001" in str(event.error)


def test_inactivity_drops_the_link_and_the_next_frame_gets_dm() -> None:
    pump = _connected()
    echo: Echo = pump.server  # type: ignore[assignment]
    assert echo.link.next_deadline == 20.0
    assert echo.link.timer(19.9) == []
    assert echo.link.timer(20.0) == [LinkDisconnected("inactivity timeout")]
    pump.now = 21.0
    events = _exchange(pump, b"\xc0")
    assert len(events) == 1
    assert isinstance(events[0], LinkDisconnected)
    assert isinstance(events[0].error, LinkProtocolError)


def test_a_frame_left_incomplete_is_discarded_after_the_inter_frame_timeout() -> None:
    server = ServerLink()
    snrm = _frame(0x93)
    assert server.receive_data(snrm[:5], 10.0) == []
    assert server.next_deadline == 10.5
    assert server.timer(10.4) == []
    (rejected,) = server.timer(10.5)
    assert isinstance(rejected, FrameRejected)
    assert isinstance(rejected.error, FrameTruncated)
    assert [type(e) for e in server.receive_data(snrm, 11.0)] == [LinkConnected]


def test_another_client_gets_dm_while_the_link_is_up() -> None:
    server = _connected_server()
    assert server.receive_data(_frame(0x93, client=16), 1) == []
    assert _answer(server)[0].kind is FrameKind.DM
    assert server.client == HdlcAddress(19)


def test_misuse_raises_local_errors() -> None:
    client = ClientLink(client=19, server=HdlcAddress(16))
    with pytest.raises(LocalProtocolError):
        client.send_apdu(b"\xc0", 0)
    with pytest.raises(LocalProtocolError):
        client.disconnect(0)
    client.connect(0)
    with pytest.raises(LocalProtocolError):
        client.connect(0)
    with pytest.raises(LocalProtocolError):
        ServerLink().send_apdu(b"\xc4")


@given(st.lists(st.binary(max_size=60), max_size=10))
def test_garbage_never_breaks_either_end(chunks: list[bytes]) -> None:
    """Random bytes become events or silence, never an exception (h11's fuzz rule)."""
    server = _connected_server()
    client = ClientLink(client=19, server=HdlcAddress(16))
    client.connect(0)
    for now, chunk in enumerate(chunks):
        server.receive_data(chunk, now)
        server.timer(now + 0.5)
        client.receive_data(chunk, now)
        client.timer(now)


@given(st.lists(st.sampled_from([*VENDOR_SESSION, _frame(0x10, b"\xe6\xe6\x00\xc0")]), max_size=12))
def test_any_sequence_of_valid_frames_is_handled(frames: list[bytes]) -> None:
    """Valid frames in any order and state: the server answers or stays silent, never raises."""
    server = ServerLink(logical=(1, 16))
    for now, frame in enumerate(frames):
        for event in server.receive_data(frame, now):
            if isinstance(event, ApduReceived):
                server.send_apdu(b"\xc4")
        for answer in split_frames(server.data_to_send()):
            parse_frame(answer)


@given(st.integers(0, 255))
def test_control_bytes_round_trip(byte: int) -> None:
    control = Control.from_byte(byte)
    if control.kind is not FrameKind.UNKNOWN:
        assert control.to_byte() == byte


@given(
    st.builds(
        LinkParameters,
        st.integers(0, 2**32 - 1),
        st.integers(0, 2**32 - 1),
        st.integers(0, 7),
        st.integers(0, 7),
    )
)
def test_link_parameters_round_trip(parameters: LinkParameters) -> None:
    assert LinkParameters.from_bytes(parameters.to_bytes()) == parameters


def test_a_repeated_request_before_its_answer_is_not_answered_twice() -> None:
    """Both copies in one chunk: the server answers once, not with a stale earlier frame."""
    server = _connected_server()
    request = _frame(0x10, b"\xe6\xe6\x00\xc0\x01")
    assert server.receive_data(request + request, 1) == [ApduReceived(b"\xc0\x01")]
    assert server.data_to_send() == b""
    server.send_apdu(b"\xc4\x01")
    (answer,) = split_frames(server.data_to_send())
    assert Control.from_byte(parse_frame(answer).control) == Control.information(0, 1)


def test_a_duplicate_request_after_its_answer_gets_rr_and_a_poll_gets_the_answer() -> None:
    """ISO/IEC 13239 NRM: a duplicate I-frame is answered RR with V(R), never with our last
    I-frame again (it may answer another request); the client's RR poll, whose N(R) shows it
    missed our answer, gets the answer."""
    server = _connected_server()
    request = _frame(0x10, b"\xe6\xe6\x00\xc0\x01")  # I, N(S) 0, N(R) 0, P
    assert server.receive_data(request, 1) == [ApduReceived(b"\xc0\x01")]
    server.send_apdu(b"\xc4\x01")
    server.data_to_send()  # the answer, lost on the way
    assert server.receive_data(request, 2) == []  # the client repeats its request
    control, information = _answer(server)
    assert (control, information) == (Control.supervisory(FrameKind.RR, 1), b"")
    assert server.receive_data(_frame(0x11), 3) == []  # RR, N(R) 0: our frame 0 is missing
    control, information = _answer(server)
    assert control == Control.information(0, 1)
    assert information.endswith(b"\xc4\x01")
