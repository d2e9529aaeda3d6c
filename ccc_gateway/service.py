"""The gateway service: ports → push decoder → meter view → publisher, for every meter.

One task per port (:func:`~.ports.pump`), one for MQTT (:class:`~.mqtt.Publisher`), one for the
periodic diagnostics. They share nothing but the meter views and the outbox, both touched only
from the event loop, so a slow broker or a lost port never stalls the others.

Each meter is a :class:`~.meter_channel.MeterChannel`; a meter with an optical port also gets an
:class:`~.optical.channel.OpticalChannel` (poller and command executor). When any meter allows
commands, one :class:`~.commands.dispatcher.CommandDispatcher` subscribes to
``<base>/+/cmd/+`` and answers on ``cmd/result``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

import aiomqtt

from . import __version__
from .commands.dispatcher import CommandDispatcher, CommandExecutor, CommandResult
from .commands.guard import CommandGuard, MeterCommandPolicy
from .commands.live import LiveMapping
from .config import GatewayConfig, OpticalPortConfig, host_zone
from .ic_store import FileCounterStore
from .meter_channel import MeterChannel, port_for
from .mqtt import Delivery, Message, Publisher, Topics
from .mqtt.payloads import dumps
from .mqtt.publisher import MessageHandler
from .optical.channel import OpticalPortFactory
from .optical.session import OpticalPort
from .ports import Backoff, pump

__all__ = ["Gateway", "default_optical_port"]

_LOGGER = logging.getLogger(__name__)


class Gateway:
    """The whole service for one configuration. :meth:`run` until cancelled."""

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
        default_zone = config.timezone or host_zone() or datetime.now().astimezone().tzinfo
        assert default_zone is not None
        self.channels = [
            MeterChannel(meter, gateway=self, store=self.store, zone=meter.timezone or default_zone)
            for meter in config.meters
        ]
        self.dispatcher: CommandDispatcher | None = None
        if any(meter.commands for meter in config.meters):
            secret = config.command_secret
            self.dispatcher = CommandDispatcher(
                CommandGuard(
                    LiveMapping(self._policies),
                    secret=None if secret is None else secret.reveal().encode(),
                    base_topic=config.mqtt.base_topic,
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

    async def run(self) -> None:
        """Read every port and keep MQTT connected until cancelled."""
        _LOGGER.info(
            "omnipower gateway %s (%s): %s; broker %s:%d, topics under %s/",
            self.config.gateway_id,
            __version__,
            ", ".join(f"{c.config.name} on {c.ports_description}" for c in self.channels),
            self.config.mqtt.host,
            self.config.mqtt.port,
            self.config.mqtt.base_topic,
        )
        for channel in self.channels:
            channel.publish_info()
        try:
            await self._run_tasks()
        finally:
            _LOGGER.info("omnipower gateway %s stopped", self.config.gateway_id)

    async def _run_tasks(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.publisher.run(), name="mqtt")
            for channel in self.channels:
                if channel.config.ccc is not None:
                    group.create_task(
                        pump(port_for(channel.config.ccc), channel, backoff=self.port_backoff),
                        name=f"ccc:{channel.config.name}",
                    )
                if channel.optical is not None:
                    group.create_task(channel.optical.run(), name=f"optical:{channel.config.name}")
            group.create_task(self._diagnostics(), name="diagnostics")

    async def aclose(self) -> None:
        """Answer commands still waiting (``shutdown``) before the publisher stops."""
        if self.dispatcher is not None:
            await self.dispatcher.aclose()

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
