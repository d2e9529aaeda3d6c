"""What waits for the broker: latest state per topic, and a bounded queue of events.

docs/mqtt.md and issue 6 §3: while the broker is away the gateway keeps reading, keeps the latest
state, keeps a bounded number of events, and publishes them on reconnect; a reader never blocks
on MQTT. Issue 16: the same outbox lives across a switch to another broker node, and register
updates (:attr:`Delivery.SERIES`) are each kept, in order, so a back-end that bills from them
sees every one. Pure and synchronous, so the readers only ever call :meth:`Outbox.put`.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from dataclasses import dataclass
from enum import Enum

__all__ = ["Delivery", "Message", "Outbox"]


class Delivery(Enum):
    """How a message survives a broker outage."""

    #: Retained on the broker; the latest one is sent again after every reconnect (a broker
    #: without persistence forgets retained messages when it restarts).
    STATE = "state"
    #: Not retained, only the newest pending one matters (power: a reading from five minutes
    #: ago is not news).
    LATEST = "latest"
    #: Not retained, each one matters (typed events, diagnostics snapshots): a bounded FIFO
    #: that drops the oldest when full.
    EVENT = "event"
    #: Retained like STATE, but each one matters too (register readings with their meter
    #: time: a back-end reading the broker's queues bills from every one): queued in order in
    #: the same bounded FIFO as events, and the latest is sent again after a reconnect.
    SERIES = "series"


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT publication. ``retain`` follows from the delivery: only STATE is retained."""

    topic: str
    payload: bytes
    delivery: Delivery
    qos: int = 1

    @property
    def retain(self) -> bool:
        """Retained exactly when the contract keeps the topic's last value on the broker."""
        return self.delivery is Delivery.STATE or self.delivery is Delivery.SERIES


class Outbox:
    """Pending publications in order; STATE and LATEST collapse per topic, EVENTs and SERIES
    are kept each, in one bounded FIFO (the oldest is dropped when it is full)."""

    def __init__(self, max_events: int = 1000) -> None:
        self.max_events = max_events
        self.dropped_events = 0
        self._pending: OrderedDict[str | int, Message] = OrderedDict()
        self._event_keys: deque[int] = deque()
        self._state: dict[str, Message] = {}
        #: SERIES messages pending per topic: the newest of them is the latest state.
        self._series: Counter[str] = Counter()
        self._serial = 0

    def __len__(self) -> int:
        return len(self._pending)

    def put(self, message: Message) -> None:
        """Queue *message*; a newer STATE/LATEST for the same topic replaces the pending one."""
        if message.delivery is Delivery.EVENT or message.delivery is Delivery.SERIES:
            if len(self._event_keys) >= self.max_events:
                self._forget(self._pending.pop(self._event_keys.popleft(), None))
                self.dropped_events += 1
            if message.delivery is Delivery.SERIES:
                self._state[message.topic] = message
                self._series[message.topic] += 1
            self._serial += 1
            self._pending[self._serial] = message
            self._event_keys.append(self._serial)
            return
        if message.delivery is Delivery.STATE:
            self._state[message.topic] = message
        self._pending.pop(message.topic, None)
        self._pending[message.topic] = message

    def pop(self) -> Message | None:
        """The oldest pending message, or None."""
        if not self._pending:
            return None
        key, message = self._pending.popitem(last=False)
        if isinstance(key, int):
            self._event_keys.popleft()
            self._forget(message)
        return message

    def requeue(self, message: Message) -> None:
        """Put back a message whose publication failed, first in line (unless superseded)."""
        if message.delivery is Delivery.EVENT or message.delivery is Delivery.SERIES:
            self._serial += 1
            event_key = -self._serial  # negative: never collides with later serials
            self._event_keys.appendleft(event_key)
            key: str | int = event_key
            if message.delivery is Delivery.SERIES:
                self._series[message.topic] += 1
        else:
            if message.topic in self._pending:
                return  # a newer value is already waiting
            key = message.topic
        self._pending[key] = message
        self._pending.move_to_end(key, last=False)

    def _forget(self, message: Message | None) -> None:
        """A SERIES message left the queue (sent or dropped)."""
        if message is not None and message.delivery is Delivery.SERIES:
            self._series[message.topic] -= 1
            if self._series[message.topic] <= 0:
                del self._series[message.topic]

    def resend_state(self) -> None:
        """After a reconnect: send every topic's latest STATE again, before anything newer.

        A SERIES topic with updates still queued is left out: its newest queued update is the
        latest state and arrives in order; sending the latest first would make the retained
        value go back and forth.
        """
        for topic in reversed(list(self._state)):
            if topic not in self._pending and topic not in self._series:
                self._pending[topic] = self._state[topic]
                self._pending.move_to_end(topic, last=False)
