"""The HDLC link's client (primary station) end: the gateway's side of the optical port.

The rules both ends keep are in :mod:`.link`. The client polls on every frame, waits at most
its response timeout for an answer, polls again with RR when none comes, and gives up with
:class:`LinkTimeout` after its retries.
"""

from __future__ import annotations

from ..apdu import LLC_COMMAND, LLC_RESPONSE
from ..errors import (
    LinkProtocolError,
    LinkTimeout,
    LocalProtocolError,
    MalformedData,
    RemoteProtocolError,
)
from ..events import FrameRejected
from ..hdlc import HdlcAddress, HdlcFrame
from .control import Control, FrameKind, LinkParameters
from .link import (
    DEFAULT_RESPONSE_TIMEOUT,
    OMNIPOWER_MAX_INFO,
    ApduReceived,
    LinkBase,
    LinkConnected,
    LinkDisconnected,
    LinkEvent,
    LinkState,
)

__all__ = ["ClientLink"]


class ClientLink(LinkBase):
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
