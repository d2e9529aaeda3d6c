"""The gateway service: ports → push decoder → meter view → publisher, for every meter.

One task per port (:func:`~.ports.pump`), one for MQTT (:class:`~.mqtt.Publisher`), one for the
periodic diagnostics. They share nothing but the meter views and the outbox, both touched only
from the event loop, so a slow broker or a lost port never stalls the others.

A meter with an optical port also gets an :class:`~.optical.channel.OpticalChannel` (poller and
command executor); when any meter allows commands, one :class:`~.commands.dispatcher.
CommandDispatcher` subscribes to ``<base>/+/cmd/+`` and answers on ``cmd/result``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Final

import aiomqtt

from . import __version__
from .commands.dispatcher import CommandDispatcher, CommandExecutor, CommandResult
from .commands.guard import CommandGuard, MeterCommandPolicy
from .config import CccPortConfig, GatewayConfig, MeterConfig, OpticalPortConfig, host_zone
from .ic_store import FileCounterStore
from .meter import MeterView, PortState, PortStatus
from .mqtt import Delivery, Message, Publisher, Topics
from .mqtt.discovery import discovery_messages
from .mqtt.payloads import (
    diagnostics_payload,
    dumps,
    energy_payload,
    info_payload,
    meter_time,
    power_payload,
)
from .mqtt.publisher import MessageHandler
from .optical.channel import CAPABILITIES, OpticalChannel, OpticalPortFactory
from .optical.session import OpticalError, OpticalPort
from .ports import Backoff, ByteSource, PortUnavailable, ReplayPort, SerialPort, TcpPort, pump
from .protocol import FrameRejected, PushDecoder, PushReceived, SecurityContext
from .registers import PushScalers, RegisterFloor, ScalerMismatch, ScalerStore

__all__ = ["Gateway", "MeterChannel"]

_LOGGER = logging.getLogger(__name__)

#: HCS/FCS failures in a row after which the settings, not line noise, are the likely cause.
CHECKSUM_STREAK: Final = 5
_CHECKSUM_CODES: Final = frozenset({"hcs_error", "fcs_error"})
#: QoS of the frequent, non-retained power message: a lost one is replaced 10 s later.
POWER_QOS: Final = 0
#: Payload keys that are metadata, not values to make sensors of.
_NOT_SENSORS: Final = frozenset({"ts", "schema"})


def port_for(config: CccPortConfig) -> Callable[[], ByteSource]:
    """A factory of fresh port objects (ports are reusable but the loop makes a new one each
    time, so a half-closed transport never leaks into the next attempt)."""
    if config.kind == "tcp":
        return lambda: TcpPort(config.host, config.port)
    if config.kind == "replay":
        return lambda: ReplayPort(
            Path(config.path), realtime=config.realtime, baudrate=config.baudrate
        )
    return lambda: SerialPort(config.path, baudrate=config.baudrate, parity=config.parity)


class MeterChannel:
    """One meter's CCC stream: decoder events become state, log lines and MQTT messages.

    Implements :class:`~.ports.PortSink`; everything here runs synchronously in the reader's
    callback, so a push is on its way to the outbox before the next chunk is read.
    """

    def __init__(
        self,
        config: MeterConfig,
        *,
        gateway: Gateway,
        store: FileCounterStore,
        zone: tzinfo,
    ) -> None:
        self.config = config
        self.gateway = gateway
        self.zone = zone
        self.view = MeterView(config.name, configured_serial=config.serial)
        if config.ccc is not None:
            self.view.ports["ccc"] = PortStatus("ccc", config.ccc.description)
        self.decoder = PushDecoder(
            security=SecurityContext(keys=config.keys(), store=store),
            resolution=config.resolution,
            p1=config.p1,
        )
        self._checksum_streak = 0
        self._failing_code: str | None = None
        self._info_sent = False
        self._port_lost = False
        self._unnamed_warned = False
        self._discovered: set[tuple[str, str]] = set()
        self._energy: dict[str, Any] = {}
        self._energy_ts: datetime | None = None
        self._floor = RegisterFloor()
        self._held_keys: set[str] = set()
        # With a DLMS optical port the push waits for the meter's own scalers (or for the port
        # to fail once): a push read at a wrong scaler would put a wrong register on MQTT.
        optical_dlms = config.optical is not None and config.optical.protocol == "dlms"
        self.scalers = PushScalers(config.resolution, settled=not optical_dlms)
        self._scalers_loaded = False
        self.optical: OpticalChannel | None = None
        if config.optical is not None:
            self.view.ports["optical"] = PortStatus("optical", config.optical.description)
            self.optical = OpticalChannel(
                config.optical,
                gateway.optical_port_factory(config.optical),
                meter=self,
                zone=zone,
                state_dir=gateway.config.state_dir,
                now=self.now,
            )
            self.optical.poller.on_identity = self._optical_identity
            self.optical.poller.on_scalers = self.learn_scalers

    @property
    def ports_description(self) -> str:
        """ "ccc /dev/ttyUSB0, optical /dev/ttyUSB1 (dlms)" for the start-up line."""
        parts = []
        if self.config.ccc is not None:
            parts.append(f"ccc {self.config.ccc.description}")
        if self.config.optical is not None:
            parts.append(f"optical {self.config.optical.description}")
        return ", ".join(parts)

    # -- PortSink ---------------------------------------------------------------------------

    def port_data(self, data: bytes) -> None:
        """Decode what arrived and act on every complete frame."""
        for event in self.decoder.receive_data(data):
            self._handle(event)

    def port_silence(self) -> None:
        """A partial frame left when the line went quiet is reported as truncated."""
        for event in self.decoder.flush():
            self._handle(event)

    def port_state(self, state: PortState, reason: str | None) -> None:
        """Track the port; a newly lost port counts as ``port_unavailable`` and is published."""
        status = self.view.ports["ccc"]
        # Retries go CONNECTING → UNAVAILABLE again and again; one outage counts once.
        newly_lost = state is PortState.UNAVAILABLE and not self._port_lost
        if state is PortState.UNAVAILABLE:
            self._port_lost = True
        elif state is PortState.OPEN:
            self._port_lost = False
        status.state = state
        status.reason = reason
        if newly_lost:
            self.view.record_port_error(
                PortUnavailable.code,
                reason or "port unavailable",
                PortUnavailable.hint,
                now=self.now(),
            )
        if newly_lost or state is PortState.OPEN:
            self.publish_diagnostics()

    # -- events -----------------------------------------------------------------------------

    def _handle(self, event: PushReceived | FrameRejected) -> None:
        if isinstance(event, PushReceived):
            self._accept(event)
        else:
            self._reject(event)

    def _accept(self, event: PushReceived) -> None:
        now = self.now()
        push = event.push
        info_changed = self.view.record_push(push, now=now)
        self._checksum_streak = 0
        if self._failing_code is not None:
            _LOGGER.info("%s: frames decode again after %s", self.config.name, self._failing_code)
            self._failing_code = None
        meter_id = self.view.meter_id
        if meter_id is None:
            if not self._unnamed_warned:
                _LOGGER.warning(
                    "%s: the push names no meter serial, so nothing can be published; set "
                    "serial in its [[meters]] table",
                    self.config.name,
                )
                self._unnamed_warned = True
            return
        if info_changed or not self._info_sent:
            self.publish_info()
        if not self._scalers_loaded:
            self.scalers.load(self.gateway.scaler_store.get(meter_id))
            self._scalers_loaded = True
            if self.scalers.learnt:  # learnt before the meter had a name
                self.gateway.scaler_store.put(meter_id, self.scalers.stored())
        for mismatch in self.scalers.mismatches(push, self.view.meter_type):
            self._scaler_mismatch(mismatch)
        if not self.scalers.settled:
            _LOGGER.debug("%s: push held until the optical port gives the scalers", meter_id)
            return
        push = self.scalers.apply(push)
        ts = meter_time(push, self.zone, now)
        topics = self.gateway.topics
        power = power_payload(push, ts)
        energy = energy_payload(push, ts)
        if self.gateway.config.mqtt.discovery:
            self._discover(meter_id, {"power": power, "energy": energy})
        if power is not None:
            self.gateway.put(
                Message(topics.meter(meter_id, "power"), dumps(power), Delivery.LATEST, POWER_QOS)
            )
        if energy is not None:
            self._publish_energy(meter_id, energy, ts)

    def _reject(self, event: FrameRejected) -> None:
        error = event.error
        self.view.record_rejection(error, event.raw, now=self.now())
        if error.code != self._failing_code:
            # One line per kind of failure, not per frame: a wrong key fails every 10 s.
            _LOGGER.warning(
                "%s: frame rejected, nothing published (%s: %s). %s",
                self.config.name,
                error.code,
                error,
                error.hint,
            )
            self._failing_code = error.code
        else:
            _LOGGER.debug("%s: frame rejected again (%s: %s)", self.config.name, error.code, error)
        if error.code in _CHECKSUM_CODES:
            self._checksum_streak += 1
            if self._checksum_streak == CHECKSUM_STREAK:
                _LOGGER.warning(
                    "%s: %d HCS/FCS errors in a row on %s: wrong baud or parity? The CCC port "
                    "runs at 2400 baud, 8 data bits, no parity, 1 stop bit (8N1)",
                    self.config.name,
                    CHECKSUM_STREAK,
                    self.view.ports["ccc"].description,
                )
        else:
            self._checksum_streak = 0
        self.publish_diagnostics()

    # -- publications -----------------------------------------------------------------------

    def learn_scalers(self, scaler_units: dict[str, tuple[int, int]]) -> None:
        """The optical port's scaler_unit of the registers; the push is read with them."""
        if self.scalers.learn(scaler_units) and self.view.meter_id is not None:
            self.gateway.scaler_store.put(self.view.meter_id, self.scalers.stored())

    def _scaler_mismatch(self, mismatch: ScalerMismatch) -> None:
        """Said once per quantity: the log line, the diagnostics code and entry (HA repairs)."""
        _LOGGER.warning("%s: %s. %s", self.config.name, mismatch, mismatch.hint)
        self.view.scaler_mismatches[mismatch.kind.value] = mismatch.payload()
        self.view.record_port_error(mismatch.code, str(mismatch), mismatch.hint, now=self.now())
        self.publish_diagnostics()

    def _publish_energy(self, meter_id: str, payload: dict[str, Any], ts: datetime) -> None:
        """Registers from the push and from optical reads merge into one retained topic.

        Both are the same meter's registers, so the newest value of each key wins and a key
        once known never disappears because the other port's read lacks it. No key ever goes
        down (:class:`~.registers.RegisterFloor`): a lower reading is held and counted.
        """
        values = {k: v for k, v in payload.items() if k not in _NOT_SENSORS}
        admitted, held = self._floor.admit(values, ts)
        for decrease in held:
            self.view.errors[decrease.code] += 1
            if decrease.key not in self._held_keys:
                self._held_keys.add(decrease.key)
                _LOGGER.warning("%s: %s. %s", self.config.name, decrease, decrease.hint)
            else:
                _LOGGER.debug("%s: %s", self.config.name, decrease)
        self._energy.update(admitted)
        if self._energy_ts is None or ts >= self._energy_ts:
            self._energy_ts = ts
        merged = {"ts": self._energy_ts.isoformat(), "schema": 1, **self._energy}
        self.gateway.put(
            Message(self.gateway.topics.meter(meter_id, "energy"), dumps(merged), Delivery.STATE)
        )

    def publish_optical_energy(self, values: dict[str, float], ts: datetime) -> None:
        """Energy registers read over the optical port."""
        if self.view.meter_id is not None:
            self._publish_energy(self.view.meter_id, values, ts)

    def publish_state(self, name: str, payload: dict[str, Any]) -> None:
        """A retained state topic from the optical side (breaker, tariff, clock, …)."""
        if self.view.meter_id is None:
            return
        topic = self.gateway.topics.meter(self.view.meter_id, name)
        self.gateway.put(Message(topic, dumps(payload), Delivery.STATE))

    def publish_event(self, event: dict[str, Any]) -> None:
        """One ``events`` message (queued while the broker is away)."""
        if self.view.meter_id is None:
            return
        topic = self.gateway.topics.meter(self.view.meter_id, "events")
        self.gateway.put(Message(topic, dumps(event), Delivery.EVENT))

    def publish_load_profile(self, batch: dict[str, Any]) -> None:
        """One ``load_profile`` batch."""
        if self.view.meter_id is None:
            return
        topic = self.gateway.topics.meter(self.view.meter_id, "load_profile")
        self.gateway.put(Message(topic, dumps(batch), Delivery.EVENT))

    def record_optical_error(self, error: OpticalError) -> None:
        """Count an optical failure on the diagnostics topic (once per outage)."""
        status = self.view.ports["optical"]
        newly_lost = status.state is not PortState.UNAVAILABLE
        self.scalers.settled = True  # no scalers to wait for: the configured ones it is
        status.state = PortState.UNAVAILABLE
        status.reason = str(error)
        if newly_lost:
            self.view.record_port_error(error.code, str(error), error.hint, now=self.now())
            self.publish_diagnostics()

    def record_optical_ok(self) -> None:
        """The optical port answered a poll."""
        status = self.view.ports["optical"]
        if status.state is not PortState.OPEN:
            status.state = PortState.OPEN
            status.reason = None
            self.publish_diagnostics()

    def _optical_identity(self, values: dict[str, Any]) -> None:
        if self.view.record_identity(values) or not self._info_sent:
            self.publish_info()

    def answer_command(self, result: CommandResult) -> None:
        """A ``cmd/result`` message (never retained)."""
        assert result.meter is not None
        topic = self.gateway.topics.meter(result.meter, "cmd/result")
        self.gateway.put(Message(topic, dumps(result.payload(self.now())), Delivery.EVENT))

    def _discover(self, meter_id: str, payloads: dict[str, dict[str, Any] | None]) -> None:
        """Home Assistant discovery configs for keys not announced yet (a list may grow)."""
        new: dict[str, list[str]] = {}
        for name, payload in payloads.items():
            for key in payload or {}:
                if key not in _NOT_SENSORS and (name, key) not in self._discovered:
                    self._discovered.add((name, key))
                    new.setdefault(name, []).append(key)
        if not new:
            return
        for message in discovery_messages(
            topics=self.gateway.topics,
            prefix=self.gateway.config.mqtt.discovery_prefix,
            meter_id=meter_id,
            meter_type=self.view.meter_type,
            values=new,
            gateway_version=__version__,
        ):
            self.gateway.put(message)

    def now(self) -> datetime:
        """The host's time, aware in the meter's zone (for diagnostics and fallbacks)."""
        return datetime.now(self.zone)

    def publish_info(self) -> None:
        """The retained info topic, once the meter has an id."""
        meter_id = self.view.meter_id
        if meter_id is None:
            return
        optical = self.config.optical
        payload = info_payload(
            self.view,
            gateway_id=self.gateway.config.gateway_id,
            version=__version__,
            ports=[status.name for status in self.view.ports.values()],
            ts=self.now(),
            capabilities=CAPABILITIES if optical is not None and optical.protocol == "dlms" else (),
            commands=self.config.commands,
            signed_commands=self.gateway.config.command_secret is not None,
        )
        self.gateway.put(
            Message(self.gateway.topics.meter(meter_id, "info"), dumps(payload), Delivery.STATE)
        )
        self._info_sent = True

    def publish_diagnostics(self) -> None:
        """The retained diagnostics topic (every interval and on every error)."""
        meter_id = self.view.meter_id
        if meter_id is None:
            return  # kept in the view; published as soon as the meter has a name
        if not self._info_sent:
            self.publish_info()
        payload = diagnostics_payload(self.view, self.now())
        self.gateway.put(
            Message(
                self.gateway.topics.meter(meter_id, "diagnostics"), dumps(payload), Delivery.STATE
            )
        )


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
        self.optical_port_factory = optical_port_factory or default_optical_port
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
        if any(meter.commands for meter in config.meters):
            secret = config.command_secret
            self.dispatcher = CommandDispatcher(
                CommandGuard(
                    _LivePolicies(self.channels),
                    secret=None if secret is None else secret.reveal().encode(),
                    base_topic=config.mqtt.base_topic,
                ),
                _LiveExecutors(self.channels),
                self._answer,
            )
            self.publisher.add_handler(
                MessageHandler(f"{config.mqtt.base_topic}/+/cmd/+", self._command, qos=1)
            )

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


def default_optical_port(config: OpticalPortConfig) -> OpticalPort:
    """The real optical port for *config* (DLMS over HDLC, or an IEC 62056-21 readout)."""
    from .optical.ports import open_optical_port

    return open_optical_port(config)


class _LivePolicies(Mapping[str, MeterCommandPolicy]):
    """Command policies by meter id, looked up live: an id may settle after start."""

    def __init__(self, channels: list[MeterChannel]) -> None:
        self._channels = channels

    def _by_id(self) -> dict[str, MeterCommandPolicy]:
        return {
            c.view.meter_id: MeterCommandPolicy(c.config.commands)
            for c in self._channels
            if c.view.meter_id is not None
        }

    def __getitem__(self, key: str) -> MeterCommandPolicy:
        return self._by_id()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id())

    def __len__(self) -> int:
        return len(self._by_id())


class _LiveExecutors(Mapping[str, CommandExecutor]):
    """Each meter's optical executor by meter id, looked up live."""

    def __init__(self, channels: list[MeterChannel]) -> None:
        self._channels = channels

    def _by_id(self) -> dict[str, CommandExecutor]:
        return {
            c.view.meter_id: c.optical.executor
            for c in self._channels
            if c.view.meter_id is not None and c.optical is not None
        }

    def __getitem__(self, key: str) -> CommandExecutor:
        return self._by_id()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id())

    def __len__(self) -> int:
        return len(self._by_id())
