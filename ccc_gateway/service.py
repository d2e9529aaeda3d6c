"""The gateway service: ports → push decoder → meter view → publisher, for every meter.

One task per port (:func:`~.ports.pump`), one for MQTT (:class:`~.mqtt.Publisher`), one for the
periodic diagnostics. They share nothing but the meter views and the outbox, both touched only
from the event loop, so a slow broker or a lost port never stalls the others.

Each meter is a :class:`~.meter_channel.MeterChannel`; a meter with an optical port also gets an
:class:`~.optical.channel.OpticalChannel` (poller and command executor). When any meter allows
commands, one :class:`~.commands.dispatcher.CommandDispatcher` subscribes to
``<base>/+/cmd/+`` and answers on ``cmd/result``; the ids it accepts are kept in
``<state_dir>/command_ids.json`` so that none runs twice, across restarts too.

Stopping (:meth:`Gateway.aclose`, or cancelling :meth:`Gateway.run`) goes in this order, so that
every command is answered exactly once and ``offline`` is the last message: the port readers and
pollers stop; the dispatcher refuses new commands, answers the queued ones ``shutdown`` and lets
the running one finish (up to :data:`COMMAND_GRACE`); the publisher sends what is queued, then
``offline``, then disconnects (up to :data:`PUBLISH_GRACE`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import aiomqtt

from . import __version__
from .commands.dispatcher import CommandDispatcher, CommandExecutor, CommandResult
from .commands.guard import MAX_LIFETIME, CommandGuard, MeterCommandPolicy
from .commands.live import LiveMapping
from .commands.seen_ids import FileSeenIds
from .config import GatewayConfig, OpticalPortConfig, host_zone
from .ic_store import FileCounterStore
from .meter_channel import MeterChannel, port_for
from .mqtt import Delivery, Message, Publisher, Topics
from .mqtt.payloads import dumps
from .mqtt.publisher import MessageHandler
from .optical.channel import OpticalPortFactory
from .optical.session import OpticalPort
from .ports import Backoff, pump
from .registers import ScalerStore

__all__ = ["Gateway", "default_optical_port"]

_LOGGER = logging.getLogger(__name__)

#: How long a command already running at shutdown may take to finish with its real answer
#: (a breaker switch and its read-back take a few seconds on the optical port).
COMMAND_GRACE: Final = 10.0
#: How long the publisher may take to send the last answers and ``offline``.
PUBLISH_GRACE: Final = 5.0


class Gateway:
    """The whole service for one configuration. :meth:`run` until :meth:`aclose` (or
    cancelled: the same clean stop)."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        port_backoff: Backoff | None = None,
        mqtt_backoff: Backoff | None = None,
        optical_port_factory: OpticalPortFactory | None = None,
    ) -> None:
        self.config = config
        self.port_backoff = port_backoff
        state_dir = config.state_dir
        self.optical_port_factory = optical_port_factory or (
            lambda optical: default_optical_port(optical, state_dir=state_dir)
        )
        self.topics = Topics(config.mqtt.base_topic, config.gateway_id)
        self.publisher = Publisher(
            config.mqtt,
            self.topics,
            client_id=config.mqtt.client_id or f"omnipower-{config.gateway_id}",
            backoff=mqtt_backoff,
        )
        self.store = FileCounterStore(config.state_dir / "invocation_counters.json")
        self.scaler_store = ScalerStore(config.state_dir / "scalers.json")
        default_zone = config.timezone or host_zone() or datetime.now().astimezone().tzinfo
        assert default_zone is not None
        self.channels = [
            MeterChannel(meter, gateway=self, store=self.store, zone=meter.timezone or default_zone)
            for meter in config.meters
        ]
        self.dispatcher: CommandDispatcher | None = None
        self._stop = asyncio.Event()
        self._stopped = asyncio.Event()
        self._running = False
        if any(meter.commands for meter in config.meters):
            secret = config.command_secret
            seen = FileSeenIds(
                config.state_dir / "command_ids.json",
                now=datetime.now(UTC),
                lifetime=MAX_LIFETIME,
            )
            self.dispatcher = CommandDispatcher(
                CommandGuard(
                    LiveMapping(self._policies),
                    secret=None if secret is None else secret.reveal().encode(),
                    base_topic=config.mqtt.base_topic,
                    seen=seen,
                ),
                LiveMapping(self._executors),
                self._answer,
            )
            self.publisher.add_handler(
                MessageHandler(f"{config.mqtt.base_topic}/+/cmd/+", self._command, qos=1)
            )

    def _policies(self) -> list[tuple[str | None, MeterCommandPolicy]]:
        return [(c.view.meter_id, MeterCommandPolicy(c.config.commands)) for c in self.channels]

    def _executors(self) -> list[tuple[str | None, CommandExecutor | None]]:
        return [
            (c.view.meter_id, None if c.optical is None else c.optical.executor)
            for c in self.channels
        ]

    def _answer(self, result: CommandResult) -> None:
        for channel in self.channels:
            if channel.view.meter_id == result.meter:
                channel.answer_command(result)
                return
        # A command for a meter this gateway does not have: answer on its topic all the same.
        topic = self.topics.meter(str(result.meter), "cmd/result")
        now = datetime.now().astimezone()
        self.put(Message(topic, dumps(result.payload(now)), Delivery.EVENT))

    async def _command(self, message: aiomqtt.Message) -> None:
        assert self.dispatcher is not None
        payload = message.payload
        raw = payload if isinstance(payload, bytes) else str(payload).encode()
        self.dispatcher.receive(
            str(message.topic), raw, retained=bool(message.retain), clear_retained=self._clear
        )

    def _clear(self, topic: str) -> None:
        """Delete a retained command on the broker (an empty retained message)."""
        self.put(Message(topic, b"", Delivery.STATE))

    def put(self, message: Message) -> None:
        """Hand a message to the publisher (never blocks)."""
        self.publisher.put(message)

    def command_counters(self, meter_id: str) -> dict[str, int] | None:
        """For ``diagnostics.commands``: answers by status and ``status:reason``."""
        if self.dispatcher is None:
            return None
        return dict(sorted(self.dispatcher.meter_counters.get(meter_id, {}).items()))

    async def run(self) -> None:
        """Read every port and keep MQTT connected until :meth:`aclose` or cancellation."""
        _LOGGER.info(
            "omnipower gateway %s (%s): %s; broker %s, topics under %s/",
            self.config.gateway_id,
            __version__,
            ", ".join(f"{c.config.name} on {c.ports_description}" for c in self.channels),
            ", then ".join(str(endpoint) for endpoint in self.config.mqtt.brokers),
            self.config.mqtt.base_topic,
        )
        self._running = True
        self._stop.clear()
        self._stopped.clear()
        for channel in self.channels:
            channel.publish_info()
        try:
            async with asyncio.TaskGroup() as group:
                mqtt = group.create_task(self.publisher.run(), name="mqtt")
                readers = []
                for channel in self.channels:
                    if channel.config.ccc is not None:
                        readers.append(
                            group.create_task(
                                pump(
                                    port_for(channel.config.ccc),
                                    channel,
                                    backoff=self.port_backoff,
                                ),
                                name=f"ccc:{channel.config.name}",
                            )
                        )
                    if channel.optical is not None:
                        readers.append(
                            group.create_task(
                                channel.optical.run(), name=f"optical:{channel.config.name}"
                            )
                        )
                readers.append(group.create_task(self._diagnostics(), name="diagnostics"))
                try:
                    await self._stop.wait()
                finally:
                    # Stopped, cancelled, or a task failed: the same order in every case.
                    await self._shut_down(readers, mqtt)
        finally:
            self._running = False
            self._stopped.set()
            _LOGGER.info("omnipower gateway %s stopped", self.config.gateway_id)

    async def aclose(self) -> None:
        """Stop cleanly and return when :meth:`run` has: every pending command answered
        (``shutdown`` where it could not finish), then ``offline``, then disconnected."""
        self._stop.set()
        if self._running:
            await self._stopped.wait()

    async def _shut_down(self, readers: list[asyncio.Task[None]], mqtt: asyncio.Task[None]) -> None:
        # asyncio.wait throughout, not asyncio.timeout: this runs in a task that may itself be
        # cancelled, where Python 3.11's timeout misreads the pending cancellation.
        for task in readers:
            task.cancel()
        if readers:
            await asyncio.wait(readers)
        if self.dispatcher is not None:
            self.dispatcher.stop_accepting()
            await self.dispatcher.aclose(grace=COMMAND_GRACE)
        await self.publisher.close()
        _, pending = await asyncio.wait({mqtt}, timeout=PUBLISH_GRACE)
        if pending:
            _LOGGER.warning(
                "the MQTT broker took over %.0f s to take the last messages; stopping anyway",
                PUBLISH_GRACE,
            )
            mqtt.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await mqtt

    async def _diagnostics(self) -> None:
        while True:
            await asyncio.sleep(self.config.diagnostics_interval)
            for channel in self.channels:
                channel.publish_diagnostics()


def default_optical_port(
    config: OpticalPortConfig, *, state_dir: Path | None = None
) -> OpticalPort:
    """The real optical port for *config* (DLMS over HDLC, or an IEC 62056-21 readout); with
    *state_dir* its HLS-GMAC invocation counters are reserved on disk there."""
    from .optical.hls_counter import HlsCounterFile
    from .optical.ports import open_optical_port

    counters = None
    if state_dir is not None and config.hls:
        counters = HlsCounterFile(state_dir / "optical_hls_counters.json")
    return open_optical_port(config, counters=counters)
