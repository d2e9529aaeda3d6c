"""One meter inside the service: its CCC stream decoded into state, log lines and MQTT messages.

:class:`MeterChannel` owns the meter's push decoder, its :class:`~.meter.MeterView` and, when the
meter has an optical port, its :class:`~.optical.channel.OpticalChannel`. It names the meter's
topics and merges the energy registers of both ports into one retained topic. What it needs of
the service that owns it is :class:`GatewayLink`, so this module never imports the service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Final, Protocol

from . import __version__
from .commands.dispatcher import CommandResult
from .config import CccPortConfig, GatewayConfig, MeterConfig
from .demand.tracker import DemandTracker
from .ic_store import FileCounterStore
from .meter import MeterView, PortState, PortStatus
from .mqtt import Delivery, Message, Topics
from .mqtt.announcer import DiscoveryAnnouncer
from .mqtt.discovery import DiscoveryMeter
from .mqtt.payloads import (
    diagnostics_payload,
    dumps,
    energy_payload,
    info_payload,
    meter_time,
    power_payload,
)
from .optical.channel import CAPABILITIES, OpticalChannel, OpticalPortFactory
from .optical.session import OpticalError
from .plausibility import assumed_scalers, implausible
from .ports import ByteSource, PortUnavailable, ReplayPort, SerialPort, TcpPort
from .protocol import FrameRejected, PushDecoder, PushReceived, SecurityContext
from .registers import PushScalers, RegisterFloor, ScalerMismatch, ScalerStore

__all__ = ["CHECKSUM_STREAK", "POWER_QOS", "GatewayLink", "MeterChannel", "port_for"]

_LOGGER = logging.getLogger(__name__)

#: HCS/FCS failures in a row after which the settings, not line noise, are the likely cause.
CHECKSUM_STREAK: Final = 5
_CHECKSUM_CODES: Final = frozenset({"hcs_error", "fcs_error"})
#: QoS of the frequent, non-retained power message: a lost one is replaced 10 s later.
POWER_QOS: Final = 0
#: Payload keys that are metadata, not values to make sensors of.
_NOT_SENSORS: Final = frozenset({"ts", "schema"})


class GatewayLink(Protocol):
    """What a meter channel needs of the gateway that owns it (:class:`~.service.Gateway`)."""

    @property
    def config(self) -> GatewayConfig: ...

    @property
    def topics(self) -> Topics: ...

    @property
    def optical_port_factory(self) -> OpticalPortFactory: ...

    @property
    def scaler_store(self) -> ScalerStore: ...

    def put(self, message: Message) -> None:
        """Hand a message to the publisher (never blocks)."""

    def command_counters(self, meter_id: str) -> dict[str, int] | None:
        """Final command answers for *meter_id* by status and reason; None without commands."""


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
        gateway: GatewayLink,
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
            security=SecurityContext(
                keys=config.keys(),
                store=store,
                policy=config.security,
                route=config.hdlc_route(),
            ),
            resolution=config.resolution,
            p1=config.p1,
        )
        self._checksum_streak = 0
        self._failing_code: str | None = None
        self._info_sent = False
        self._port_lost = False
        self._unnamed_warned = False
        self._first_push_logged = False
        self._discovery = (
            DiscoveryAnnouncer(gateway.topics, gateway.config.mqtt.discovery_prefix)
            if gateway.config.mqtt.discovery
            else None
        )
        self._energy: dict[str, Any] = {}
        self._energy_ts: datetime | None = None
        self._floor = RegisterFloor()
        self._held_keys: set[str] = set()
        # With a DLMS optical port the push waits for the meter's own scalers (or for the port
        # to fail once): a push read at a wrong scaler would put a wrong register on MQTT.
        optical_dlms = config.optical is not None and config.optical.protocol == "dlms"
        self.scalers = PushScalers(config.resolution, settled=not optical_dlms)
        self._scalers_loaded = False
        self.demand: DemandTracker | None = None
        if config.demand is not None:
            self.demand = DemandTracker(
                config.demand, zone, state_dir=gateway.config.state_dir, meter=config.name
            )
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
        if not self._first_push_logged:
            # After "connected to MQTT broker" the log would otherwise stay silent while it works.
            _LOGGER.info(
                "%s: first push from meter %s decoded (%d values), publishing to %s",
                self.config.name,
                meter_id,
                len(push.readings),
                topics.meter(meter_id, "power"),
            )
            scalers = assumed_scalers(push)
            if scalers:
                _LOGGER.info(
                    "%s: scalers assumed (the push sends none): %s",
                    self.config.name,
                    ", ".join(f"{unit} x10^{scaler}" for unit, scaler in scalers.items()),
                )
            for flag in implausible(push, config=True):
                _LOGGER.warning("%s: %s", self.config.name, flag)
            self._first_push_logged = True
        power = power_payload(push, ts)
        energy = energy_payload(push, ts)
        if power is not None:
            self.gateway.put(
                Message(topics.meter(meter_id, "power"), dumps(power), Delivery.LATEST, POWER_QOS)
            )
            self._discover("power", power)
        if energy is not None:
            self._publish_energy(meter_id, energy, ts)
        if self.demand is not None and (power is not None or energy is not None):
            self._publish_demand(meter_id, ts, power, energy)

    def _publish_demand(
        self,
        meter_id: str,
        ts: datetime,
        power: dict[str, Any] | None,
        energy: dict[str, Any] | None,
    ) -> None:
        """The retained ``demand`` topic after every push, and its events when an interval
        closes among the month's peaks or the step changes."""
        assert self.demand is not None
        payload, events = self.demand.push(ts, power, energy)
        self._put_demand(meter_id, payload, events)

    def _put_demand(
        self, meter_id: str, payload: dict[str, Any] | None, events: list[dict[str, Any]]
    ) -> None:
        topics = self.gateway.topics
        if payload is not None:
            topic = topics.meter(meter_id, "demand")
            self.gateway.put(Message(topic, dumps(payload), Delivery.STATE))
        for event in events:
            self.gateway.put(
                Message(topics.meter(meter_id, "events"), dumps(event), Delivery.EVENT)
            )

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
            if self.view.meter_id is None and not self._unnamed_warned:
                # A rejected frame never names the meter (its system title is forgeable too).
                _LOGGER.warning(
                    "%s: no checked push has named this meter yet, so its diagnostics wait; "
                    "set serial in its [[meters]] table to see them at once",
                    self.config.name,
                )
                self._unnamed_warned = True
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
            Message(self.gateway.topics.meter(meter_id, "energy"), dumps(merged), Delivery.SERIES)
        )
        self._discover("energy", merged)

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
        self._discover(name, payload)

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
        if self.demand is not None:
            payload, events = self.demand.load_profile(batch)
            self._put_demand(self.view.meter_id, payload, events)

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

    def _discover(self, topic: str, payload: dict[str, Any]) -> None:
        """Home Assistant discovery, when enabled: re-announce the meter if *payload* has
        keys not announced yet (after the payload itself, so the entities find a state)."""
        meter_id = self.view.meter_id
        if self._discovery is None or meter_id is None:
            return
        meter = DiscoveryMeter(
            meter_id=meter_id,
            meter_type=self.view.meter_type,
            gateway_version=__version__,
            commands=self.config.commands,
            signed=self.gateway.config.command_secret is not None,
            events=self.config.optical is not None,
        )
        for message in self._discovery.note(meter, topic, payload):
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
        commands = self.gateway.command_counters(meter_id)
        if commands is not None:
            payload["commands"] = commands
        self.gateway.put(
            Message(
                self.gateway.topics.meter(meter_id, "diagnostics"), dumps(payload), Delivery.STATE
            )
        )
        self._discover("diagnostics", payload)
