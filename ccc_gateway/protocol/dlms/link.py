"""Sans-I/O HDLC link state machines of the DLMS profile, client and server (bytes <-> APDUs).

IEC 62056-46 / Green Book 8.4, normal response mode, window 1, as OMNIPOWER's optical port runs
it (PROTOCOL.md 2.3.1). Both roles share the shape of h11: ``receive_data(data, now)`` returns
events, the methods that send queue bytes, ``data_to_send()`` drains them, and ``timer(now)``
runs the timeouts. Nothing here reads a clock: ``now`` is seconds on any monotonic scale.

Rules held here (each has a test):

* The client polls (P = 1 on every frame) and the server answers with F = 1; each I-frame is
  acknowledged before the next (window 1). N(S)/N(R) count modulo 8.
* An APDU longer than the negotiated maximum information field goes out in segments (S bit set
  on all but the last); the receiver answers each segment with RR. The LLC header
  (E6 E6 00 to the server, E6 E7 00 to the client) is in the first segment only.
* Recovery: the client that hears nothing within its response timeout polls with RR. The
  server answers a poll whose N(R) shows its last I-frame was lost by sending that frame again;
  otherwise it answers RR with its V(R), and a client whose I-frame was lost sends it again.
  A repeated I-frame (the client missed the answer) is answered with the answer again.
* Bad frames (HCS, FCS, truncated) are dropped and reported as :class:`FrameRejected`; they
  are never answered, so the peer's timeout recovers.
* Server: DM to anything but SNRM while disconnected; FRMR for an undefined control field, an
  information field where none is allowed or longer than negotiated, or an N(R) that does not
  acknowledge what was sent; the FRMR is repeated until SNRM or DISC. Inactivity (default 20 s)
  drops the link silently; a frame left incomplete for the inter-frame timeout (500 ms) is
  discarded.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum
from typing import Final

from ..apdu import LLC_COMMAND, LLC_RESPONSE
from ..errors import (
    InvalidLlc,
    LinkProtocolError,
    LinkTimeout,
    LocalProtocolError,
    MalformedData,
    RemoteProtocolError,
)
from ..events import FrameRejected
from ..frame_reader import FrameReader
from ..hdlc import HdlcAddress, HdlcFrame, encode_frame
from .control import Control, FrameKind, FrmrReason, LinkParameters, frmr_information

__all__ = [
    "ApduReceived",
    "ClientLink",
    "LinkConnected",
    "LinkDisconnected",
    "LinkEvent",
    "LinkState",
    "ServerLink",
]

#: Largest reassembled APDU accepted (the largest max-PDU-size an InitiateRequest can state,
#: plus the LLC header): more means a peer that never ends its segments.
MAX_APDU: Final = 0xFFFF + 3
#: OMNIPOWER's defaults (PROTOCOL.md 2.3.1).
DEFAULT_INACTIVITY_TIMEOUT: Final = 20.0
DEFAULT_INTER_FRAME_TIMEOUT: Final = 0.5
DEFAULT_RESPONSE_TIMEOUT: Final = 2.0
#: The largest information field OMNIPOWER negotiates ([DLMS] 2.5).
OMNIPOWER_MAX_INFO: Final = 1010


class LinkState(Enum):
    """Where a link stands."""

    DISCONNECTED = "disconnected"  # NDM
    CONNECTING = "connecting"  # client: SNRM sent, waiting for UA
    CONNECTED = "connected"  # NRM: data transfer
    DISCONNECTING = "disconnecting"  # client: DISC sent, waiting for UA or DM


@dataclass(frozen=True, slots=True)
class LinkConnected:
    """The link is up; ``parameters`` are the negotiated ones from this side's point of view."""

    parameters: LinkParameters
    client: HdlcAddress
    server: HdlcAddress


@dataclass(frozen=True, slots=True)
class ApduReceived:
    """A complete APDU (segments joined, LLC header removed)."""

    apdu: bytes


@dataclass(frozen=True, slots=True)
class LinkDisconnected:
    """The link is down: asked for (``error`` None), refused, lost or timed out."""

    reason: str
    error: RemoteProtocolError | None = None


type LinkEvent = LinkConnected | ApduReceived | LinkDisconnected | FrameRejected


@dataclass(slots=True)
class _Sent:
    """The last I-frame sent, kept for retransmission."""

    ns: int
    information: bytes
    segmented: bool


class _Link:
    """What both roles share: framing, sequence variables, segmentation, reassembly."""

    def __init__(self, *, parameters: LinkParameters, llc_out: bytes, llc_in: bytes) -> None:
        self._reader = FrameReader(max_length=parameters.max_info_rx + 32)
        self._own = parameters
        self._negotiated = LinkParameters()
        self._llc_out = llc_out
        self._llc_in = llc_in
        self._outbox = bytearray()
        self.state = LinkState.DISCONNECTED
        self._vs = 0
        self._vr = 0
        self._last: _Sent | None = None
        self._pending: list[bytes] = []  # segments of the APDU being sent, after the current one
        self._assembly = bytearray()

    # -- public ---------------------------------------------------------------------------------

    @property
    def parameters(self) -> LinkParameters:
        """The negotiated link parameters (this side's point of view)."""
        return self._negotiated

    def data_to_send(self) -> bytes:
        """Every byte queued for the wire since the last call."""
        out = bytes(self._outbox)
        self._outbox.clear()
        return out

    # -- helpers --------------------------------------------------------------------------------

    def _addresses(self) -> tuple[HdlcAddress, HdlcAddress]:
        """(destination, source) of frames this side sends."""
        raise NotImplementedError

    def _emit(self, control: Control, information: bytes = b"", *, segmented: bool = False) -> None:
        destination, source = self._addresses()
        self._outbox += encode_frame(
            HdlcFrame(destination, source, control.to_byte(), information, segmented)
        )

    def _reset_sequence(self) -> None:
        self._vs = self._vr = 0
        self._last = None
        self._pending.clear()
        self._assembly.clear()

    def _start_apdu(self, apdu: bytes) -> None:
        """Split LLC + APDU into information fields and send the first."""
        payload = self._llc_out + apdu
        size = self._negotiated.max_info_tx
        chunks = [payload[i : i + size] for i in range(0, len(payload), size)]
        self._pending = chunks[1:]
        self._send_information(chunks[0], segmented=bool(self._pending))

    def _send_information(self, information: bytes, *, segmented: bool) -> None:
        self._last = _Sent(self._vs, information, segmented)
        self._emit(Control.information(self._vs, self._vr), information, segmented=segmented)
        self._vs = (self._vs + 1) % 8

    def _resend_last(self) -> None:
        last = self._last
        assert last is not None
        self._emit(
            Control.information(last.ns, self._vr), last.information, segmented=last.segmented
        )

    def _send_next_segment(self) -> None:
        chunk = self._pending.pop(0)
        self._send_information(chunk, segmented=bool(self._pending))

    def _accept_information(self, frame: HdlcFrame) -> bytes | RemoteProtocolError | None:
        """Take an in-sequence I-frame: the APDU when complete, None when more segments follow."""
        self._vr = (self._vr + 1) % 8
        self._assembly += frame.information
        if len(self._assembly) > MAX_APDU:
            self._assembly.clear()
            return MalformedData("segmented APDU longer than any DLMS PDU")
        if frame.segmented:
            return None
        payload = bytes(self._assembly)
        self._assembly.clear()
        if payload[:3] != self._llc_in:
            return InvalidLlc(
                f"LLC header {payload[:3].hex().upper()} is not {self._llc_in.hex().upper()}"
            )
        return payload[3:]


class ClientLink(_Link):
    """The client (primary station) end: the gateway's side of the optical port."""

    def __init__(
        self,
        *,
        client: int,
        server: HdlcAddress,
        parameters: LinkParameters | None = None,
        response_timeout: float = DEFAULT_RESPONSE_TIMEOUT,
        max_retries: int = 3,
    ) -> None:
        own = parameters or LinkParameters(OMNIPOWER_MAX_INFO, OMNIPOWER_MAX_INFO)
        super().__init__(parameters=own, llc_out=LLC_COMMAND, llc_in=LLC_RESPONSE)
        self.client = HdlcAddress(client)
        self.server = server
        self._response_timeout = response_timeout
        self._max_retries = max_retries
        self._deadline: float | None = None
        self._retries = 0
        self._awaiting_apdu = False
        self._control_frame: Control | None = None  # SNRM or DISC awaiting its answer

    def _addresses(self) -> tuple[HdlcAddress, HdlcAddress]:
        return self.server, self.client

    @property
    def busy(self) -> bool:
        """Whether an exchange is under way (a response is owed to us)."""
        return self.state is not LinkState.CONNECTED or self._deadline is not None

    @property
    def next_deadline(self) -> float | None:
        """When :meth:`timer` must next run, if anything is waiting for an answer."""
        return self._deadline

    def connect(self, now: float) -> None:
        """Send SNRM with our parameters."""
        if self.state is not LinkState.DISCONNECTED:
            raise LocalProtocolError(f"cannot connect a link that is {self.state.value}")
        self.state = LinkState.CONNECTING
        self._reset_sequence()
        self._control_frame = Control(FrameKind.SNRM)
        self._emit(self._control_frame, self._own.to_bytes())
        self._arm(now)

    def disconnect(self, now: float) -> None:
        """Send DISC."""
        if self.state is not LinkState.CONNECTED:
            raise LocalProtocolError(f"cannot disconnect a link that is {self.state.value}")
        self.state = LinkState.DISCONNECTING
        self._control_frame = Control(FrameKind.DISC)
        self._emit(self._control_frame)
        self._arm(now)

    def send_apdu(self, apdu: bytes, now: float) -> None:
        """Send one APDU (segmented if needed); its answer comes as :class:`ApduReceived`."""
        if self.state is not LinkState.CONNECTED or self._deadline is not None:
            raise LocalProtocolError("the link is not connected or still waits for an answer")
        self._awaiting_apdu = True
        self._start_apdu(apdu)
        self._arm(now)

    def timer(self, now: float) -> list[LinkEvent]:
        """Poll again after the response timeout; give up after the retries."""
        if self._deadline is None or now < self._deadline:
            return []
        if self._retries >= self._max_retries:
            state = self.state
            self._lose()
            error = LinkTimeout(f"no answer after {self._max_retries + 1} tries ({state.value})")
            return [LinkDisconnected("response timeout", error)]
        self._retries += 1
        self._deadline = now + self._response_timeout
        if self._control_frame is not None:
            info = self._own.to_bytes() if self._control_frame.kind is FrameKind.SNRM else b""
            self._emit(self._control_frame, info)
        else:
            self._emit(Control.supervisory(FrameKind.RR, self._vr))
        return []

    def receive_data(self, data: bytes, now: float) -> list[LinkEvent]:
        """Every event the bytes complete."""
        events: list[LinkEvent] = []
        for item in self._reader.receive_data(data):
            if isinstance(item, FrameRejected):
                events.append(item)
                continue
            frame = item.frame
            if frame.destination != self.client or frame.source != self.server:
                continue  # another station's frame
            events += self._handle(frame, Control.from_byte(frame.control), now)
        return events

    # -- internals ------------------------------------------------------------------------------

    def _arm(self, now: float) -> None:
        self._deadline = now + self._response_timeout
        self._retries = 0

    def _lose(self) -> None:
        self.state = LinkState.DISCONNECTED
        self._deadline = None
        self._control_frame = None
        self._awaiting_apdu = False
        self._reset_sequence()

    def _handle(self, frame: HdlcFrame, control: Control, now: float) -> list[LinkEvent]:
        kind = control.kind
        if self.state is LinkState.CONNECTING:
            if kind is FrameKind.UA:
                try:
                    ua = LinkParameters.from_bytes(frame.information)
                except MalformedData as error:
                    self._lose()
                    return [LinkDisconnected("bad UA parameters", error)]
                self._negotiated = LinkParameters(
                    max_info_tx=min(ua.max_info_rx, self._own.max_info_tx),
                    max_info_rx=min(ua.max_info_tx, self._own.max_info_rx),
                    window_tx=1,
                    window_rx=1,
                )
                self.state = LinkState.CONNECTED
                self._deadline = None
                self._control_frame = None
                return [LinkConnected(self._negotiated, self.client, self.server)]
            if kind is FrameKind.DM:
                self._lose()
                return [LinkDisconnected("refused", LinkProtocolError("the server answered DM"))]
            return []
        if self.state is LinkState.DISCONNECTING:
            if kind in (FrameKind.UA, FrameKind.DM):
                self._lose()
                return [LinkDisconnected("disconnected")]
            return []
        if self.state is not LinkState.CONNECTED:
            return []
        if kind is FrameKind.DM:
            self._lose()
            return [LinkDisconnected("dropped", LinkProtocolError("the server left (DM)"))]
        if kind is FrameKind.FRMR:
            self._lose()
            detail = frame.information.hex().upper() or "no information"
            return [LinkDisconnected("frame rejected", LinkProtocolError(f"FRMR {detail}"))]
        if self._deadline is None:
            return []  # nothing asked: a late duplicate
        if kind is FrameKind.I:
            return self._on_information(frame, control, now)
        if kind is FrameKind.RR or kind is FrameKind.RNR:
            self._on_receive_ready(control, now)
        return []

    def _on_information(self, frame: HdlcFrame, control: Control, now: float) -> list[LinkEvent]:
        if control.ns != self._vr:
            self._emit(Control.supervisory(FrameKind.RR, self._vr))  # seen it: send the next
            self._deadline = now + self._response_timeout
            return []
        if self._pending or not self._awaiting_apdu:
            return []  # an answer while our segments are unsent: ignore, the timeout recovers
        outcome = self._accept_information(frame)
        self._arm(now)
        if outcome is None:
            self._emit(Control.supervisory(FrameKind.RR, self._vr))
            return []
        self._deadline = None
        self._awaiting_apdu = False
        if isinstance(outcome, RemoteProtocolError):
            return [FrameRejected(outcome, frame.information)]
        return [ApduReceived(outcome)]

    def _on_receive_ready(self, control: Control, now: float) -> None:
        if control.nr != self._vs:  # our last I-frame did not arrive
            self._resend_last()
            self._deadline = now + self._response_timeout
            return
        if self._pending:
            self._send_next_segment()
            self._arm(now)
            return
        self._deadline = now + self._response_timeout  # the server has it; the answer follows


class ServerLink(_Link):
    """The server (secondary station) end: the emulator's side of the optical port.

    ``logical`` are the logical devices answered (SAP 1 management, 16 OMNIPOWER);
    ``physical`` is the lower HDLC address (attribute 9 of HDLC setup, 32 by default) that 2- and
    4-byte addresses must carry. Frames for other addresses are ignored, as on a shared bus.
    """

    def __init__(
        self,
        *,
        logical: Collection[int] = (1, 16),
        physical: int = 32,
        parameters: LinkParameters | None = None,
        inactivity_timeout: float = DEFAULT_INACTIVITY_TIMEOUT,
        inter_frame_timeout: float = DEFAULT_INTER_FRAME_TIMEOUT,
    ) -> None:
        own = parameters or LinkParameters(OMNIPOWER_MAX_INFO, OMNIPOWER_MAX_INFO)
        super().__init__(parameters=own, llc_out=LLC_RESPONSE, llc_in=LLC_COMMAND)
        self._logical = frozenset(logical)
        self._physical = physical
        self._inactivity = inactivity_timeout
        self._inter_frame = inter_frame_timeout
        self.client: HdlcAddress | None = None
        self.server: HdlcAddress | None = None
        self._peer: HdlcAddress | None = None  # the address the current frame came from
        self._own_address: HdlcAddress | None = None
        self._last_frame_at: float | None = None
        self._last_byte_at: float | None = None
        self._frmr: bytes | None = None
        self._owes_answer = False

    def _addresses(self) -> tuple[HdlcAddress, HdlcAddress]:
        assert self._peer is not None
        assert self._own_address is not None
        return self._peer, self._own_address

    @property
    def next_deadline(self) -> float | None:
        """When :meth:`timer` must next run."""
        deadlines = []
        if self._partial_frame() and self._last_byte_at is not None:
            deadlines.append(self._last_byte_at + self._inter_frame)
        if (
            self.state is LinkState.CONNECTED
            and self._inactivity
            and self._last_frame_at is not None
        ):
            deadlines.append(self._last_frame_at + self._inactivity)
        return min(deadlines, default=None)

    def timer(self, now: float) -> list[LinkEvent]:
        """Discard a stalled partial frame; drop a link idle for the inactivity timeout."""
        events: list[LinkEvent] = []
        if (
            self._partial_frame()
            and self._last_byte_at is not None
            and now - self._last_byte_at >= self._inter_frame
        ):
            events += self._reader.flush()
        if (
            self.state is LinkState.CONNECTED
            and self._inactivity
            and self._last_frame_at is not None
            and now - self._last_frame_at >= self._inactivity
        ):
            self._drop()
            events.append(LinkDisconnected("inactivity timeout"))
        return events

    def send_apdu(self, apdu: bytes) -> None:
        """Answer the APDU just received (segmented if longer than the negotiated field)."""
        if self.state is not LinkState.CONNECTED or not self._owes_answer:
            raise LocalProtocolError("no request is waiting for an answer")
        self._owes_answer = False
        self._start_apdu(apdu)

    def receive_data(self, data: bytes, now: float) -> list[LinkEvent]:
        """Every event the bytes complete; answers are queued for :meth:`data_to_send`."""
        if data:
            self._last_byte_at = now
        events: list[LinkEvent] = []
        for item in self._reader.receive_data(data):
            if isinstance(item, FrameRejected):
                events.append(item)
                continue
            frame = item.frame
            if not self._for_us(frame.destination) or frame.source.size != 1:
                continue
            events += self._handle(frame, Control.from_byte(frame.control), now)
        return events

    # -- internals ------------------------------------------------------------------------------

    def _partial_frame(self) -> bool:
        # The reader keeps a frame's closing flag (it may open the next): one byte is no frame.
        return self._reader.buffered > 1

    def _for_us(self, address: HdlcAddress) -> bool:
        if address.logical not in self._logical:
            return False
        return address.size == 1 or address.physical == self._physical

    def _drop(self) -> None:
        self.state = LinkState.DISCONNECTED
        self.client = self.server = None
        self._frmr = None
        self._owes_answer = False
        self._reset_sequence()

    def _answer(self, frame: HdlcFrame, control: Control, information: bytes = b"") -> None:
        self._peer, self._own_address = frame.source, frame.destination
        self._emit(control, information)

    def _reject(self, frame: HdlcFrame, control: Control, reason: FrmrReason) -> None:
        self._frmr = frmr_information(frame.control, self._vs, self._vr, reason)
        self._answer(frame, Control(FrameKind.FRMR), self._frmr)

    def _handle(self, frame: HdlcFrame, control: Control, now: float) -> list[LinkEvent]:
        kind = control.kind
        if self.state is LinkState.DISCONNECTED:
            if kind is FrameKind.SNRM:
                return self._connect(frame, now)
            if kind is not FrameKind.UI and control.poll:
                self._answer(frame, Control(FrameKind.DM))
            return []
        if frame.source != self.client or frame.destination != self.server:
            if kind is FrameKind.SNRM or control.poll:
                self._answer(frame, Control(FrameKind.DM))  # busy with another client
            return []
        self._last_frame_at = now
        if kind is FrameKind.SNRM:
            self._drop()
            return [LinkDisconnected("reset by SNRM"), *self._connect(frame, now)]
        if kind is FrameKind.DISC:
            self._answer(frame, Control(FrameKind.UA))
            self._drop()
            return [LinkDisconnected("disconnected by the client")]
        if self._frmr is not None:
            self._answer(frame, Control(FrameKind.FRMR), self._frmr)
            return []
        if kind is FrameKind.I:
            return self._on_information(frame, control)
        if kind is FrameKind.RR or kind is FrameKind.RNR:
            if frame.information:
                self._reject(frame, control, FrmrReason.INFORMATION_NOT_PERMITTED)
            else:
                self._on_receive_ready(frame, control)
            return []
        if kind is FrameKind.UI:
            return []
        self._reject(frame, control, FrmrReason.INVALID_CONTROL)
        return []

    def _connect(self, frame: HdlcFrame, now: float) -> list[LinkEvent]:
        try:
            proposed = LinkParameters.from_bytes(frame.information)
        except MalformedData:
            self._answer(frame, Control(FrameKind.DM))
            return []
        self._negotiated = proposed.answer(self._own)
        self._reset_sequence()
        self.state = LinkState.CONNECTED
        self.client, self.server = frame.source, frame.destination
        self._last_frame_at = now
        self._answer(frame, Control(FrameKind.UA), self._negotiated.to_bytes())
        return [LinkConnected(self._negotiated, frame.source, frame.destination)]

    def _on_information(self, frame: HdlcFrame, control: Control) -> list[LinkEvent]:
        if len(frame.information) > self._negotiated.max_info_rx:
            self._reject(frame, control, FrmrReason.INFORMATION_TOO_LONG)
            return []
        if control.ns != self._vr:
            previous = (self._vr - 1) % 8
            if (
                control.ns == previous
                and self._last is not None
                and self._last.ns == ((self._vs - 1) % 8)
            ):
                self._peer, self._own_address = frame.source, frame.destination
                self._resend_last()  # the client missed our answer and repeated its frame
            else:
                self._answer(frame, Control.supervisory(FrameKind.RR, self._vr))
            return []
        if control.nr != self._vs:
            self._reject(frame, control, FrmrReason.INVALID_NR)
            return []
        self._peer, self._own_address = frame.source, frame.destination
        self._pending.clear()
        outcome = self._accept_information(frame)
        if outcome is None:
            self._answer(frame, Control.supervisory(FrameKind.RR, self._vr))
            return []
        if isinstance(outcome, RemoteProtocolError):
            self._answer(frame, Control.supervisory(FrameKind.RR, self._vr))
            return [FrameRejected(outcome, frame.information)]
        self._owes_answer = True
        return [ApduReceived(outcome)]

    def _on_receive_ready(self, frame: HdlcFrame, control: Control) -> None:
        self._peer, self._own_address = frame.source, frame.destination
        last = self._last
        if last is not None and control.nr == last.ns:  # our last I-frame was lost
            self._resend_last()
        elif control.nr != self._vs:
            self._reject(frame, control, FrmrReason.INVALID_NR)
        elif self._pending:
            self._send_next_segment()
        else:
            self._emit(Control.supervisory(FrameKind.RR, self._vr))
