"""When to (re)publish a meter's Home Assistant discovery payload: sans-I/O bookkeeping.

The payload lists a component per value the meter actually publishes, so it is sent again
whenever a topic shows a key not seen before (a list may grow, the optical port's topics come
later) or what discovery depends on changes (meter type, enabled commands). Keys that are
already announced cost one subset test per publication.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .discovery import DiscoveryMeter, discovery_message, legacy_topics
from .outbox import Message
from .topics import Topics

__all__ = ["DiscoveryAnnouncer"]

#: The topics that become entities (events and commands are announced from the configuration).
_ANNOUNCED = frozenset(
    {
        "power",
        "energy",
        "quality",
        "tariff",
        "breaker",
        "relays",
        "prepayment",
        "status",
        "clock",
        "diagnostics",
        "billing",
        "demand",
    }
)


class DiscoveryAnnouncer:
    """Tracks what one meter's discovery payload announced."""

    def __init__(self, topics: Topics, prefix: str) -> None:
        """Announce under *prefix* (``homeassistant`` by default)."""
        self.topics = topics
        self.prefix = prefix
        self._payloads: dict[str, Mapping[str, Any]] = {}
        self._keys: dict[str, frozenset[str]] = {}
        self._meter: DiscoveryMeter | None = None
        self._cleared: set[str] = set()

    def note(self, meter: DiscoveryMeter, topic: str, payload: Mapping[str, Any]) -> list[Message]:
        """Messages to publish after *payload* went out on *topic* (usually none)."""
        if topic not in _ANNOUNCED:
            return []
        known = self._keys.get(topic)
        if known is not None and payload.keys() <= known and meter == self._meter:
            return []
        self._keys[topic] = (known or frozenset()) | payload.keys()
        self._payloads[topic] = {**self._payloads.get(topic, {}), **payload}
        return self._announce(meter)

    def _announce(self, meter: DiscoveryMeter) -> list[Message]:
        self._meter = meter
        legacy = [
            key
            for topic in ("power", "energy")
            for key in self._keys.get(topic, ())
            if key not in self._cleared
        ]
        self._cleared.update(legacy)
        return [
            *legacy_topics(self.prefix, meter.meter_id, legacy),
            discovery_message(
                topics=self.topics, prefix=self.prefix, meter=meter, payloads=self._payloads
            ),
        ]
