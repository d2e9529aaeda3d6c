"""The emulator's DLMS server: the HDLC server link joined to one application session per link.

Sans-I/O like the link under it: ``receive_data(data, now)`` returns events, answers are queued
for ``data_to_send()``, ``timer(now)`` runs the link's timeouts at ``next_deadline``. The optical
port adapter owns the pty or socket and the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from ccc_gateway.protocol.dlms.control import LinkParameters
from ccc_gateway.protocol.dlms.link import (
    ApduReceived,
    LinkConnected,
    LinkDisconnected,
    LinkEvent,
)
from ccc_gateway.protocol.dlms.link_server import ServerLink

from .application import ServerSession
from .association import AssociationConfig
from .registry import ObjectRegistry

__all__ = ["DlmsServer", "Served", "ServerEvent"]


@dataclass(frozen=True, slots=True)
class Served:
    """One request answered: for the emulator's log and the tests."""

    association: str | None
    request: bytes
    response: bytes


ServerEvent: TypeAlias = LinkEvent | Served


class DlmsServer:
    """One meter's DLMS/COSEM server on one port."""

    def __init__(
        self,
        registry: ObjectRegistry,
        associations: Sequence[AssociationConfig],
        *,
        physical_address: int = 32,
        parameters: LinkParameters | None = None,
        inactivity_timeout: float = 20.0,
        inter_frame_timeout: float = 0.5,
    ) -> None:
        self.registry = registry
        self.associations = tuple(associations)
        self.link = ServerLink(
            logical={a.logical_device for a in self.associations},
            physical=physical_address,
            parameters=parameters,
            inactivity_timeout=inactivity_timeout,
            inter_frame_timeout=inter_frame_timeout,
        )
        self.session: ServerSession | None = None

    @property
    def next_deadline(self) -> float | None:
        """When :meth:`timer` must next run."""
        return self.link.next_deadline

    def data_to_send(self) -> bytes:
        """Bytes for the port."""
        return self.link.data_to_send()

    def receive_data(self, data: bytes, now: float) -> list[ServerEvent]:
        """Events for the bytes; every request is answered before this returns."""
        return self._handle(self.link.receive_data(data, now))

    def timer(self, now: float) -> list[ServerEvent]:
        """Run the link's inter-frame and inactivity timeouts."""
        return self._handle(self.link.timer(now))

    def _handle(self, events: list[LinkEvent]) -> list[ServerEvent]:
        out: list[ServerEvent] = []
        for event in events:
            out.append(event)
            if isinstance(event, LinkConnected):
                self.session = ServerSession(
                    self.registry,
                    self.associations,
                    client_sap=event.client.logical,
                    logical_device=event.server.logical,
                )
            elif isinstance(event, LinkDisconnected):
                self.session = None
            elif isinstance(event, ApduReceived) and self.session is not None:
                response = self.session.handle(event.apdu)
                self.link.send_apdu(response)
                out.append(Served(self.session.association_name, event.apdu, response))
        return out
