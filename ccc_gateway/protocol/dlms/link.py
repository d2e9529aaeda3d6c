"""Sans-I/O HDLC link state machines of the DLMS profile, client and server (bytes <-> APDUs).

IEC 62056-46 / Green Book 8.4, normal response mode, window 1, as OMNIPOWER's optical port runs
it ([DLMS] §2.2). Both roles share the shape of h11: ``receive_data(data, now)`` returns
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
  A repeated I-frame is answered with RR (ISO/IEC 13239), never with the last I-frame again:
  a client that missed the answer gets it by polling.
* Bad frames (HCS, FCS, truncated) are dropped and reported as :class:`FrameRejected`; they
  are never answered, so the peer's timeout recovers.
* Server: DM to anything but SNRM while disconnected; FRMR for an undefined control field, an
  information field where none is allowed or longer than negotiated, or an N(R) that does not
  acknowledge what was sent; the FRMR is repeated until SNRM or DISC. Inactivity (default 20 s)
  drops the link silently; a frame left incomplete for the inter-frame timeout (500 ms) is
  discarded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final, TypeAlias

from ..errors import (
    InvalidLlc,
    MalformedData,
    RemoteProtocolError,
)
from ..events import FrameRejected
from ..frame_reader import FrameReader
from ..hdlc import HdlcAddress, HdlcFrame, encode_frame
from .control import Control, LinkParameters

__all__ = [
    "DEFAULT_INACTIVITY_TIMEOUT",
    "DEFAULT_INTER_FRAME_TIMEOUT",
    "DEFAULT_RESPONSE_TIMEOUT",
    "MAX_APDU",
    "OMNIPOWER_MAX_INFO",
    "ApduReceived",
    "LinkBase",
    "LinkConnected",
    "LinkDisconnected",
    "LinkEvent",
    "LinkState",
    "SentFrame",
]

#: Largest reassembled APDU accepted (the largest max-PDU-size an InitiateRequest can state,
#: plus the LLC header): more means a peer that never ends its segments.
MAX_APDU: Final = 0xFFFF + 3
#: OMNIPOWER's defaults ([DLMS] §2.2).
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


LinkEvent: TypeAlias = LinkConnected | ApduReceived | LinkDisconnected | FrameRejected


@dataclass(slots=True)
class SentFrame:
    """The last I-frame sent, kept for retransmission."""

    ns: int
    information: bytes
    segmented: bool


class LinkBase:
    """What both roles share: framing, sequence variables, segmentation, reassembly.

    :class:`~.link_client.ClientLink` and :class:`~.link_server.ServerLink` are the two roles.
    """

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
        self._last: SentFrame | None = None
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
        self._last = SentFrame(self._vs, information, segmented)
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
