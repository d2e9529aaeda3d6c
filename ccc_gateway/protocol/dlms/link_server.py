"""The HDLC link's server (secondary station) end: the emulator's side of the optical port.

The rules both ends keep are in :mod:`.link`. The server answers SNRM with the negotiated
parameters, DM while disconnected, FRMR to protocol errors (repeated until SNRM or DISC), and
runs the inactivity and inter-frame timeouts on the ``now`` it is given.
"""

from __future__ import annotations

from collections.abc import Collection

from ..apdu import LLC_COMMAND, LLC_RESPONSE
from ..errors import LocalProtocolError, MalformedData, RemoteProtocolError
from ..events import FrameRejected
from ..hdlc import HdlcAddress, HdlcFrame
from .control import Control, FrameKind, FrmrReason, LinkParameters, frmr_information
from .link import (
    DEFAULT_INACTIVITY_TIMEOUT,
    DEFAULT_INTER_FRAME_TIMEOUT,
    OMNIPOWER_MAX_INFO,
    ApduReceived,
    LinkBase,
    LinkConnected,
    LinkDisconnected,
    LinkEvent,
    LinkState,
)

__all__ = ["ServerLink"]


class ServerLink(LinkBase):
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
            if control.ns == previous and self._owes_answer:
                return []  # a repeat of the request being answered: the answer follows
            # A duplicate (or out-of-sequence) I-frame: RR with our V(R), never our last
            # I-frame again (ISO/IEC 13239 NRM; that frame may have answered another request).
            # A client that missed our answer polls with RR, and an N(R) that shows the loss
            # gets the frame again (_on_receive_ready).
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
