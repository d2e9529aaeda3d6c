"""In-memory pairs for the link and client tests (h11's ConnectionPair, for HDLC).

A :class:`Wire` carries each side's bytes frame by frame and can lose, repeat or corrupt
chosen frames, so recovery is tested without clocks or sockets: time is a number we advance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias

from ccc_gateway.protocol.axdr import Data, DataType, encode_data
from ccc_gateway.protocol.dlms.acse import Aare, Aarq, Rlre, Rlrq
from ccc_gateway.protocol.dlms.action import ActionRequestNormal, ActionResponseNormal
from ccc_gateway.protocol.dlms.codec import Apdu, parse_apdu
from ccc_gateway.protocol.dlms.descriptors import AttributeDescriptor
from ccc_gateway.protocol.dlms.enums import (
    MECHANISM_LLS,
    AcseServiceUserDiagnostic,
    ActionResult,
    AssociationResult,
    Conformance,
    DataAccessResult,
)
from ccc_gateway.protocol.dlms.get import (
    GetRequestNext,
    GetRequestNormal,
    GetResponseNormal,
    GetResponseWithDatablock,
)
from ccc_gateway.protocol.dlms.initiate import InitiateResponse
from ccc_gateway.protocol.dlms.link import ApduReceived, LinkEvent
from ccc_gateway.protocol.dlms.link_server import ServerLink
from ccc_gateway.protocol.dlms.set import SetRequestNormal, SetResponseNormal

#: What the wire does to one frame: deliver, drop, repeat or corrupt it.
Fault: TypeAlias = str  # "ok" | "drop" | "dup" | "corrupt"


def split_frames(data: bytes) -> list[bytes]:
    """The frames in a burst of link output (each starts with 7E A., length-delimited)."""
    frames = []
    pos = 0
    while pos < len(data):
        length = ((data[pos + 1] & 0x07) << 8) | data[pos + 2]
        frames.append(data[pos : pos + length + 2])
        pos += length + 2
    return frames


@dataclass
class Wire:
    """Applies a fault plan, frame by frame, in sending order."""

    plan: Callable[[int, bytes], Fault] = lambda index, frame: "ok"
    sent: list[bytes] = field(default_factory=list)

    def carry(self, data: bytes) -> bytes:
        out = bytearray()
        for frame in split_frames(data):
            fault = self.plan(len(self.sent), frame)
            self.sent.append(frame)
            if fault == "drop":
                continue
            if fault == "corrupt":
                middle = len(frame) // 2
                frame = frame[:middle] + bytes([frame[middle] ^ 0x40]) + frame[middle + 1 :]
            out += frame
            if fault == "dup":
                out += frame
        return bytes(out)


LONG_VALUE = Data(DataType.ARRAY, tuple(Data(DataType.DOUBLE_LONG_UNSIGNED, i) for i in range(300)))
METER_NUMBER = AttributeDescriptor.of(1, "1.1.0.0.1.255", 2)
LOAD_PROFILE = AttributeDescriptor.of(7, "1.1.99.1.0.255", 2)
COUPLING_STATE = AttributeDescriptor.of(1, "1.1.128.0.0.255", 2)


class StubMeter:
    """A server link plus canned answers: the smallest application a client can talk to."""

    def __init__(self, link: ServerLink | None = None, *, block_size: int = 200) -> None:
        self.link = link or ServerLink()
        self.requests: list[Apdu] = []
        raw = encode_data(LONG_VALUE)
        self.blocks = [raw[i : i + block_size] for i in range(0, len(raw), block_size)]
        self.coupling_state = 4
        self.block_order: list[int] | None = None  # serve blocks in this order (fault tests)

    def receive(self, data: bytes, now: float) -> list[LinkEvent]:
        events = self.link.receive_data(data, now)
        for event in events:
            if isinstance(event, ApduReceived):
                self.link.send_apdu(self.answer(event.apdu))
        return events

    def answer(self, apdu: bytes) -> bytes:
        request = parse_apdu(apdu)
        self.requests.append(request)
        if isinstance(request, Aarq):
            if request.authentication_value not in (None, b"12345"):
                return Aare(
                    AssociationResult.REJECTED_PERMANENT,
                    AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE,
                    None,
                ).to_bytes()
            return Aare(
                AssociationResult.ACCEPTED,
                AcseServiceUserDiagnostic.NULL,
                InitiateResponse(Conformance(0x00181D), 1010),
                mechanism_name=MECHANISM_LLS if request.mechanism_name else None,
            ).to_bytes()
        invoke = getattr(request, "invoke_id_and_priority", 0x81)
        if isinstance(request, GetRequestNormal):
            if request.attribute == METER_NUMBER:
                value = Data(DataType.DOUBLE_LONG_UNSIGNED, 12345679)
                return GetResponseNormal(value, invoke).to_bytes()
            if request.attribute == COUPLING_STATE:
                value = Data(DataType.UNSIGNED, self.coupling_state)
                return GetResponseNormal(value, invoke).to_bytes()
            if request.attribute == LOAD_PROFILE:
                return self._block(1, invoke)
            return GetResponseNormal(DataAccessResult.OBJECT_UNDEFINED, invoke).to_bytes()
        if isinstance(request, GetRequestNext):
            return self._block(request.block_number + 1, invoke)
        if isinstance(request, SetRequestNormal):
            if request.attribute != COUPLING_STATE:
                return SetResponseNormal(DataAccessResult.READ_WRITE_DENIED, invoke).to_bytes()
            self.coupling_state = int(request.value.value)
            return SetResponseNormal(DataAccessResult.SUCCESS, invoke).to_bytes()
        if isinstance(request, ActionRequestNormal):
            return ActionResponseNormal(ActionResult.SUCCESS, None, invoke).to_bytes()
        if isinstance(request, Rlrq):
            return Rlre().to_bytes()
        raise AssertionError(f"unexpected request {request}")

    def _block(self, number: int, invoke: int) -> bytes:
        if self.block_order is not None:
            number = self.block_order.pop(0)
        last = number == len(self.blocks)
        return GetResponseWithDatablock(last, number, self.blocks[number - 1], invoke).to_bytes()


class Echo:
    """A server link whose application answers every APDU with ``b"A" + apdu * repeat``."""

    def __init__(self, link: ServerLink | None = None, *, repeat: int = 1) -> None:
        self.link = link or ServerLink()
        self.repeat = repeat
        self.received: list[bytes] = []

    def receive(self, data: bytes, now: float) -> list[LinkEvent]:
        events = self.link.receive_data(data, now)
        for event in events:
            if isinstance(event, ApduReceived):
                self.received.append(event.apdu)
                self.link.send_apdu(b"A" + event.apdu * self.repeat)
        return events


class _Client(Protocol):  # the part of ClientLink / DlmsClient the pump drives
    @property
    def next_deadline(self) -> float | None: ...
    def data_to_send(self) -> bytes: ...
    def receive_data(self, data: bytes, now: float) -> Sequence[object]: ...
    def timer(self, now: float) -> Sequence[object]: ...


@dataclass
class Pump:
    """Moves bytes both ways until both sides are quiet, running the client's timer when due."""

    client: object
    server: StubMeter | Echo
    up: Wire = field(default_factory=Wire)
    down: Wire = field(default_factory=Wire)
    now: float = 0.0
    client_events: list[object] = field(default_factory=list)
    server_events: list[object] = field(default_factory=list)

    def run(self, max_steps: int = 2000) -> list[object]:
        """The client events of this run."""
        client: _Client = self.client  # type: ignore[assignment]
        start = len(self.client_events)
        for _ in range(max_steps):
            out = client.data_to_send()
            if out:
                self.server_events += self.server.receive(self.up.carry(out), self.now)
            back = self.server.link.data_to_send()
            if back:
                self.client_events += client.receive_data(self.down.carry(back), self.now)
            if not out and not back:
                deadline = client.next_deadline
                if deadline is None:
                    return self.client_events[start:]
                self.now = max(self.now, deadline)
                self.client_events += client.timer(self.now)
        raise AssertionError("the pair never went quiet")
