"""One optical port, two protocols: the first octet picks IEC 62056-21 or DLMS/HDLC.

How a real OMNIPOWER tells the two apart on its optical head is not public ([TD],
§5), so the emulator decides by the first octet of a dialogue, as [TD] suggests:

- ``0x7E``, the HDLC flag (DLMS is "Direct HDLC", 9600 8N1, with no mode E hand-over) → DLMS.
- ``/`` → IEC 62056-21. ``0xAF`` is ``/`` with its even-parity bit as bit 7 (7E1 carried on an
  8-bit line); ``0x2F`` is ``/`` from a hand-held unit that sends no parity (a pty has none). The
  1107 server always speaks 7E1, so for a ``0x2F`` dialogue the mux adds the parity bit to what
  comes in and clears bit 7 of what goes out.
- Anything else while undecided is line noise: dropped and counted.

The chosen side holds the port until it is idle again — the 1107 server back in ``IDLE`` (after
a readout, a break, ``B0`` or one of its timers), the HDLC link disconnected (after DISC, or its
inactivity timeout) — with no partial message pending, or until nothing has arrived for
``quiet_timeout``. Then the next octet decides afresh.

Sans-I/O like both servers: octets and the time in, :class:`~.iec62056_21_config.Transmit` out;
:meth:`OpticalMux.poll` by :meth:`OpticalMux.next_deadline`. The 1107 adapter
(:class:`~.iec62056_21_link.OpticalPort`) runs it on a pty or TCP link unchanged.
"""

from __future__ import annotations

from collections import Counter
from enum import Enum, unique
from typing import TYPE_CHECKING, Final, Protocol

from ccc_gateway.protocol.dlms.link import LinkState
from ccc_gateway.protocol.iec62056_21 import add_parity

from .iec62056_21 import Iec62056Server, ServerState
from .iec62056_21_config import Transmit

if TYPE_CHECKING:
    from ..dlms.server import DlmsServer

__all__ = ["DlmsEndpoint", "DlmsServerEndpoint", "MuxState", "OpticalMux"]

HDLC_FLAG: Final = 0x7E
SIGN_ON_PARITY: Final = 0xAF  #: ``/`` with its even-parity bit
SIGN_ON_PLAIN: Final = 0x2F  #: ``/`` without parity
#: DLMS on the optical port: "Baud rate: 9600 bps N81" ([DLMS] §2.6).
DLMS_BAUDRATE: Final = 9600
#: Release a side that has heard nothing for this long (seconds): longer than every timer of
#: both protocols (Ti 90 s, HDLC inactivity 20 s), so it only frees a port whose side has its
#: own timeout switched off.
QUIET_TIMEOUT: Final = 120.0


@unique
class MuxState(Enum):
    """Who holds the port."""

    UNDECIDED = "undecided"
    IEC62056_21 = "iec62056_21"
    DLMS = "dlms"


class DlmsEndpoint(Protocol):
    """The DLMS side as the mux needs it: HDLC octets in and out, timers, and whether idle."""

    def receive_data(self, data: bytes, now: float) -> bytes:
        """The answer to *data*, which arrived at *now* (empty when there is none)."""
        ...

    def poll(self, now: float) -> bytes:
        """Run the timers due by *now*; anything they make the server send."""
        ...

    def next_deadline(self) -> float | None:
        """When :meth:`poll` must run next, or None."""
        ...

    @property
    def idle(self) -> bool:
        """No link and no partial frame: the port may go to the other protocol."""
        ...


class DlmsServerEndpoint:
    """:class:`DlmsEndpoint` over the emulator's :class:`~meter_emulator.dlms.server.DlmsServer`.

    Its events (requests served, links made and dropped) are kept in :attr:`events` for the
    emulator's log; the mux itself only moves octets.
    """

    def __init__(self, server: DlmsServer) -> None:
        self.server = server
        self.events: Counter[str] = Counter()

    def receive_data(self, data: bytes, now: float) -> bytes:
        self.events.update(type(e).__name__ for e in self.server.receive_data(data, now))
        return self.server.data_to_send()

    def poll(self, now: float) -> bytes:
        self.events.update(type(e).__name__ for e in self.server.timer(now))
        return self.server.data_to_send()

    def next_deadline(self) -> float | None:
        return self.server.next_deadline

    @property
    def idle(self) -> bool:
        return (
            self.server.link.state is LinkState.DISCONNECTED and self.server.next_deadline is None
        )


class OpticalMux:
    """The optical port's protocol switch. *iec62056_21* must have D0 off: an unasked readout
    would need the port while a DLMS client may hold it."""

    def __init__(
        self,
        iec62056_21: Iec62056Server,
        dlms: DlmsEndpoint,
        *,
        dlms_baudrate: int = DLMS_BAUDRATE,
        quiet_timeout: float = QUIET_TIMEOUT,
        iec62056_21_enabled: bool = True,
    ) -> None:
        if iec62056_21.config.d0_interval is not None:
            raise ValueError("the optical mux needs the 1107 server's D0 readout off")
        self.iec62056_21 = iec62056_21
        self.dlms = dlms
        self.dlms_baudrate = dlms_baudrate
        self.quiet_timeout = quiet_timeout
        #: False with Z18 = 0 (1107 disabled): a sign-on is dropped unanswered, as noise.
        self.iec62056_21_enabled = iec62056_21_enabled
        self.state = MuxState.UNDECIDED
        self._plain = False  # the 1107 dialogue came without parity
        self._last_octet: float | None = None
        #: Dialogues per protocol and octets dropped: the port's diagnostics.
        self.counts: Counter[str] = Counter()

    # --- the adapter's interface -------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> list[Transmit]:
        """Everything the meter sends in answer to *data*, which arrived at *now*."""
        out = self.poll(now)
        if not data:
            return out
        self._last_octet = now
        if self.state is MuxState.UNDECIDED:
            data = self._decide(data)
            if not data:
                return out
        if self.state is MuxState.DLMS:
            out += self._dlms(self.dlms.receive_data(data, now))
        else:
            if self._plain:
                data = add_parity(data)  # sets bit 7 as the parity of bits 0-6
            out += self._iec(self.iec62056_21.receive_data(data, now))
        self._release_if_idle()
        return out

    def poll(self, now: float) -> list[Transmit]:
        """Fire the chosen side's timers due by *now*, and the mux's quiet timeout."""
        out: list[Transmit] = []
        match self.state:
            case MuxState.UNDECIDED:
                return out
            case MuxState.DLMS:
                out += self._dlms(self.dlms.poll(now))
            case MuxState.IEC62056_21:
                out += self._iec(self.iec62056_21.poll(now))
        quiet = self._quiet_deadline()
        if quiet is not None and now >= quiet:
            self.counts["quiet_release"] += 1
            self.state = MuxState.UNDECIDED
        self._release_if_idle()
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`poll` must run next, or None while only input can change anything."""
        match self.state:
            case MuxState.UNDECIDED:
                return None
            case MuxState.DLMS:
                side = self.dlms.next_deadline()
            case MuxState.IEC62056_21:
                side = self.iec62056_21.next_deadline()
        return min((d for d in (side, self._quiet_deadline()) if d is not None), default=None)

    # --- internals ---------------------------------------------------------------------------

    def _decide(self, data: bytes) -> bytes:
        """Pick the protocol at the first selector octet; what follows it goes to that side."""
        for index, octet in enumerate(data):
            if octet == HDLC_FLAG:
                self.state = MuxState.DLMS
            elif octet in (SIGN_ON_PARITY, SIGN_ON_PLAIN) and self.iec62056_21_enabled:
                self.state = MuxState.IEC62056_21
                self._plain = octet == SIGN_ON_PLAIN
            else:
                continue
            if index:
                self.counts["noise_octets"] += index
            self.counts[self.state.value] += 1
            return data[index:]
        self.counts["noise_octets"] += len(data)
        return b""

    def _quiet_deadline(self) -> float | None:
        if self.state is MuxState.UNDECIDED or self._last_octet is None:
            return None
        return self._last_octet + self.quiet_timeout

    def _release_if_idle(self) -> None:
        match self.state:
            case MuxState.DLMS:
                idle = self.dlms.idle
            case MuxState.IEC62056_21:
                server = self.iec62056_21
                idle = server.state is ServerState.IDLE and server.next_deadline() is None
            case MuxState.UNDECIDED:
                return
        if idle:
            self.state = MuxState.UNDECIDED

    def _dlms(self, data: bytes) -> list[Transmit]:
        return [Transmit(data, self.dlms_baudrate)] if data else []

    def _iec(self, transmits: list[Transmit]) -> list[Transmit]:
        if not self._plain:
            return transmits
        return [Transmit(bytes(o & 0x7F for o in t.data), t.baudrate) for t in transmits]
