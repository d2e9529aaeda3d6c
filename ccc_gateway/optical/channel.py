"""One meter's optical side inside the service: its poller, its command executor, its topics.

:class:`OpticalChannel` owns the :class:`~.poller.OpticalPoller` and the
:class:`~.commands.OpticalCommandExecutor` of one meter and publishes what they produce through
the meter it belongs to, :class:`OpticalMeter` (in the service, the
:class:`~ccc_gateway.meter_channel.MeterChannel`, which names the topics and merges the energy
registers with those of the CCC push). Port trouble is recorded on the meter's diagnostics like a
CCC port's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Final, Protocol, TypeAlias

from ..config import MeterConfig, OpticalPortConfig
from ..meter import MeterView
from .commands import OpticalCommandExecutor
from .poller import LoadProfileCursor, OpticalPoller
from .session import OpticalError, OpticalPort

__all__ = ["CAPABILITIES", "OpticalChannel", "OpticalMeter", "OpticalPortFactory"]

_LOGGER = logging.getLogger(__name__)

OpticalPortFactory: TypeAlias = Callable[[OpticalPortConfig], OpticalPort]

#: What an optical DLMS port lets the gateway publish (info.capabilities).
CAPABILITIES: Final = (
    "breaker",
    "relays",
    "prepayment",
    "tariffs",
    "load_profile",
    "power_quality",
)


class OpticalMeter(Protocol):
    """What the optical channel needs of its meter: a name, the view, and where to publish."""

    @property
    def config(self) -> MeterConfig: ...

    @property
    def view(self) -> MeterView: ...

    def publish_state(self, name: str, payload: dict[str, Any]) -> None:
        """A retained state topic (breaker, tariff, clock, …)."""

    def publish_event(self, event: dict[str, Any]) -> None:
        """One ``events`` message."""

    def publish_load_profile(self, batch: dict[str, Any]) -> None:
        """One ``load_profile`` batch."""

    def publish_optical_energy(self, values: dict[str, float], ts: datetime) -> None:
        """Energy registers read over the optical port."""

    def record_optical_error(self, error: OpticalError) -> None:
        """Count an optical failure on the diagnostics topic."""

    def record_optical_ok(self) -> None:
        """The optical port answered."""


class OpticalChannel:
    """Poller + executor for one meter, publishing through *meter*."""

    def __init__(
        self,
        config: OpticalPortConfig,
        port: OpticalPort,
        *,
        meter: OpticalMeter,
        zone: tzinfo,
        state_dir: Path,
        now: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.port = port
        self.meter = meter
        self._lost = False
        self._answered = False
        self._last_change_command: str | None = None
        self.poller = OpticalPoller(
            port,
            zone,
            config.poll_interval,
            meter_id=lambda: meter.view.meter_id,
            publish_state=meter.publish_state,
            publish_event=meter.publish_event,
            publish_energy=meter.publish_optical_energy,
            publish_profile=meter.publish_load_profile,
            on_error=self._failed,
            on_ok=self._ok,
            now=now,
            cursor=LoadProfileCursor(state_dir / "load_profile.json"),
            load_profile=config.load_profile and config.protocol == "dlms",
            log_dir=state_dir / "logs" if config.protocol == "dlms" else None,
            phases=meter.view.phases or 1,
        )
        self.executor = OpticalCommandExecutor(
            port,
            zone,
            now=now,
            after_change=self._after_command,
            refresh=self._refresh,
            read_load_profile=self.poller.read_profile,
        )
        self.poller.tariff_source = lambda: self.executor.tariff_source

    async def run(self) -> None:
        """Poll until cancelled."""
        await self.poller.run()

    def _after_command(self, payloads: Mapping[str, dict[str, Any]], command_id: str) -> None:
        """Publish the read-back at once; events name the command that caused them."""
        tracker = self.poller.tracker
        if tracker is not None:
            for event in tracker.update(payloads, command_id=command_id):
                self.meter.publish_event(event)
        for name, payload in payloads.items():
            self.meter.publish_state(name, payload)

    async def _refresh(self) -> Mapping[str, Any]:
        started = time.monotonic()
        payloads = await self.poller.poll_once()
        if payloads is None:
            from ..commands.dispatcher import CommandFailed

            raise CommandFailed("port_unavailable", "the optical poll failed; see diagnostics")
        return {"topics": sorted(payloads), "duration_s": round(time.monotonic() - started, 3)}

    def _failed(self, error: OpticalError) -> None:
        if not self._lost:
            _LOGGER.warning(
                "%s: optical port %s: %s. %s",
                self.meter.config.name,
                self.port.description,
                error,
                error.hint,
            )
        self._lost = True
        self.meter.record_optical_error(error)

    def _ok(self) -> None:
        if not self._answered:
            _LOGGER.info(
                "%s: first optical poll on %s answered",
                self.meter.config.name,
                self.port.description,
            )
            self._answered = True
        elif self._lost:
            _LOGGER.info(
                "%s: optical port %s answers again", self.meter.config.name, self.port.description
            )
        self._lost = False
        self.meter.record_optical_ok()
