"""What the coordinator keeps of a meter: the latest payload per topic and its availability.

A module of its own so that entities, repairs and commands can share these types without
importing the coordinator that fills them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

type Payload = dict[str, Any]
type EventListener = Callable[[Payload], None]


@dataclass(slots=True)
class MeterData:
    """The latest payload per topic and what availability depends on."""

    payloads: dict[str, Payload] = field(default_factory=dict)
    received_at: dict[str, datetime] = field(default_factory=dict)
    gateway_online: bool | None = None
    last_reading_at: datetime | None = None
    stale: bool = False
    last_events: dict[str, Payload] = field(default_factory=dict)

    def value(self, topic: str, key: str) -> Any:
        """A payload value, None when the topic or key has not been seen."""
        return self.payloads.get(topic, {}).get(key)

    def has(self, topic: str, key: str) -> bool:
        """Whether the meter sent *key* on *topic* (keys appear only when measured)."""
        return key in self.payloads.get(topic, {})
