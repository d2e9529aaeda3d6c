"""Topic names of the MQTT contract (docs/mqtt.md), in one place."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Topics"]


@dataclass(frozen=True, slots=True)
class Topics:
    """``<base>/<meter>/<name>`` and the bridge's availability topic."""

    base: str
    gateway_id: str

    @property
    def bridge_state(self) -> str:
        """Retained ``online``/``offline``; the broker sets ``offline`` through the LWT."""
        return f"{self.base}/bridge/{self.gateway_id}/state"

    def meter(self, meter_id: str, name: str) -> str:
        """A meter topic such as ``omnipower/27581522/power``."""
        return f"{self.base}/{meter_id}/{name}"

    def commands(self, meter_id: str) -> str:
        """The filter for every command topic of one meter."""
        return f"{self.base}/{meter_id}/cmd/+"
