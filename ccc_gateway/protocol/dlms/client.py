"""Sans-I/O DLMS client for the gateway: the session (:mod:`.session`) over the HDLC client
link (:mod:`.link`). Bytes in, events out, bytes queued; the gateway's optical-port adapter
owns the port and the clock and calls ``timer`` at ``next_deadline``.

Association as the OMNIPOWER optical port expects it ([DLMS] §2.4): client SAP 19,
server logical device 16, LLS with the password (or the public client 16 to server 1 without;
HLS-GMAC with glo-ciphering as an option).
"""

from __future__ import annotations

from typing import TypeAlias

from ..axdr import Data
from ..events import FrameRejected
from ..hdlc import HdlcAddress
from .control import LinkParameters
from .descriptors import AttributeDescriptor, MethodDescriptor, SelectiveAccess
from .enums import Conformance
from .hls_client import HlsGmac
from .link import ApduReceived, LinkConnected, LinkDisconnected, LinkEvent, LinkState
from .link_client import ClientLink
from .session import (
    DEFAULT_CONFORMANCE,
    ActionOutcome,
    Associated,
    AssociationState,
    AttributeValue,
    ClientSession,
    ExchangeFailed,
    Released,
    SessionEvent,
    SetOutcome,
)

__all__ = [
    "DEFAULT_CONFORMANCE",
    "ActionOutcome",
    "Associated",
    "AssociationState",
    "AttributeValue",
    "ClientEvent",
    "ClientSession",
    "DlmsClient",
    "ExchangeFailed",
    "HlsGmac",
    "Released",
    "SessionEvent",
    "SetOutcome",
]

ClientEvent: TypeAlias = SessionEvent | LinkConnected | LinkDisconnected | FrameRejected


class DlmsClient:
    """The session over the HDLC link: what the gateway's optical-port adapter drives.

    Typical use: ``connect`` → :class:`LinkConnected`; ``associate`` → :class:`Associated`;
    ``get``/``set``/``action`` → one outcome event each; ``release`` → :class:`Released`;
    ``disconnect`` → :class:`LinkDisconnected`. After every call, write ``data_to_send()``.
    """

    def __init__(
        self,
        *,
        client: int = 19,
        server: HdlcAddress | None = None,
        password: bytes | None = None,
        conformance: Conformance = DEFAULT_CONFORMANCE,
        parameters: LinkParameters | None = None,
        response_timeout: float = 2.0,
        hls: HlsGmac | None = None,
    ) -> None:
        self.link = ClientLink(
            client=client,
            server=server or HdlcAddress(16),
            parameters=parameters,
            response_timeout=response_timeout,
        )
        self.session = ClientSession(password=password, conformance=conformance, hls=hls)

    @property
    def next_deadline(self) -> float | None:
        """When :meth:`timer` must next run."""
        return self.link.next_deadline

    @property
    def connected(self) -> bool:
        """Whether the HDLC link is up."""
        return self.link.state is LinkState.CONNECTED

    def data_to_send(self) -> bytes:
        """Bytes for the port."""
        return self.link.data_to_send()

    def connect(self, now: float) -> None:
        """Open the HDLC link (SNRM)."""
        self.link.connect(now)

    def disconnect(self, now: float) -> None:
        """Close the HDLC link (DISC); the association ends with it."""
        self.session.reset()
        self.link.disconnect(now)

    def associate(self, now: float) -> None:
        """Send the AARQ."""
        self.link.send_apdu(self.session.associate(), now)

    def get(
        self, attribute: AttributeDescriptor, now: float, access: SelectiveAccess | None = None
    ) -> None:
        """Read one attribute."""
        self.link.send_apdu(self.session.get(attribute, access), now)

    def set(self, attribute: AttributeDescriptor, value: Data, now: float) -> None:
        """Write one attribute."""
        self.link.send_apdu(self.session.set(attribute, value), now)

    def action(self, method: MethodDescriptor, now: float, parameters: Data | None = None) -> None:
        """Invoke one method."""
        self.link.send_apdu(self.session.action(method, parameters), now)

    def release(self, now: float) -> None:
        """Send the RLRQ."""
        self.link.send_apdu(self.session.release(), now)

    def receive_data(self, data: bytes, now: float) -> list[ClientEvent]:
        """Events for the bytes; block transfer continues on its own."""
        return self._session_events(self.link.receive_data(data, now), now)

    def timer(self, now: float) -> list[ClientEvent]:
        """Run the link's response timeout."""
        return self._session_events(self.link.timer(now), now)

    def _session_events(self, link_events: list[LinkEvent], now: float) -> list[ClientEvent]:
        events: list[ClientEvent] = []
        for event in link_events:
            if isinstance(event, ApduReceived):
                session_events, follow_up = self.session.receive_apdu(event.apdu)
                events += session_events
                if follow_up is not None:
                    self.link.send_apdu(follow_up, now)
            elif isinstance(event, LinkDisconnected):
                self.session.reset()
                events.append(event)
            else:
                events.append(event)
        return events
