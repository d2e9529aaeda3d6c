"""Which broker to try next: a list of endpoints, in order at start, round-robin on loss.

Issue 16: gateways of a building or a utility pilot publish to a clustered broker whose nodes
are separate endpoints. At start the list is tried in order (the first is the preferred node,
so an operator can spread gateways by ordering their lists). Once a connection is lost, the
*next* node is tried at once, not the lost one again: the lost node is the likely broken one,
and every other node of a cluster serves the same topics. Only after a whole round of the list
has failed does the gateway wait, with the backoff growing per failed round, so a whole cluster
that is down is not hammered and a single lost node costs no wait at all.

Pure and synchronous: the publisher asks :meth:`EndpointRotation.next_attempt` what to do and
reports the outcome; tests drive it without sockets or clocks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..config.models import BrokerEndpoint

__all__ = ["Attempt", "Endpoint", "EndpointRotation"]

#: One broker node (the configuration's type: ``[mqtt] endpoints`` holds them).
Endpoint = BrokerEndpoint


@dataclass(frozen=True, slots=True)
class Attempt:
    """Connect to *endpoint* after waiting *delay* seconds."""

    endpoint: Endpoint
    delay: float
    #: Position of the endpoint in the configured list (0 = preferred).
    index: int


class EndpointRotation:
    """The order of connection attempts over *endpoints*; *delay(n)* is the wait after the
    n-th (0-based) round of the whole list that failed."""

    def __init__(self, endpoints: Sequence[Endpoint], delay: Callable[[int], float]) -> None:
        if not endpoints:
            raise ValueError("at least one broker endpoint is needed")
        self.endpoints = tuple(endpoints)
        self._delay = delay
        self._index = 0
        #: Attempts that failed in a row since the last connection (or since start).
        self._failures = 0
        #: Full rounds of the list that failed in a row.
        self._rounds = 0
        self._pending_wait = 0.0

    @property
    def current(self) -> Endpoint:
        """The endpoint of the last (or next) attempt."""
        return self.endpoints[self._index]

    def next_attempt(self) -> Attempt:
        """The endpoint to try now and how long to wait before trying it."""
        delay, self._pending_wait = self._pending_wait, 0.0
        return Attempt(self.endpoints[self._index], delay, self._index)

    def failed(self) -> None:
        """The attempt could not connect: move on; after a whole failed round, back off."""
        self._advance()
        self._failures += 1
        if self._failures % len(self.endpoints) == 0:
            self._pending_wait = self._delay(self._rounds)
            self._rounds += 1

    def connected(self) -> None:
        """The attempt connected: the failure count starts again."""
        self._failures = 0
        self._rounds = 0
        self._pending_wait = 0.0

    def lost(self) -> None:
        """An established connection broke: the next endpoint is tried at once.

        With a single endpoint there is nothing else to try, so the first retry waits the
        initial backoff (as the gateway always did) instead of spinning on a dead broker.
        """
        self._advance()
        self._failures = 0
        self._rounds = 0
        if len(self.endpoints) == 1:
            self._pending_wait = self._delay(0)
            self._rounds = 1

    def _advance(self) -> None:
        self._index = (self._index + 1) % len(self.endpoints)
