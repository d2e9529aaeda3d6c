"""The optical poll: read the meter on a schedule, publish state, raise events, back-fill history.

One poll opens one session and reads every object of :data:`POLL_OBJECTS` that the meter has,
plus its clock; the values become the contract's state payloads (published retained on every
poll), the energy registers (merged by the service into the ``energy`` topic), events for what
changed since the previous poll, and the ``clock`` drift. A failed poll publishes nothing (a
value that was not read is not re-sent as if it were), counts ``optical_unavailable`` and is
retried with backoff.

Load profile: at start, after a poll that failed (a gap in our view of the meter), after each
poll once a capture period has closed since the newest interval published (so the history
grows continuously), and on the ``read_load_profile`` command, the profile is read from the
end of what was last published (kept per meter in the state directory, so a restart resumes)
and published as ``load_profile`` batches, at the profile's own capture period, A+, A−, R+,
R− and R1–R4 where it captures them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Final

from ..protocol.errors import RemoteProtocolError
from ..registers import SCALER_OBJECTS
from .billing import ACCUMULATED, COUNTERS, MAXIMA, billing_payload
from .load_profile import (
    ENERGY_OBJECTS,
    ENERGY_UNITS,
    LoadProfileCursor,
    profile_batches,
)
from .logs import EVENT_LOGS, LogCursor, entry_ids, log_events
from .session import (
    LogEntry,
    MeterClock,
    ObjectRefused,
    OpticalDataRejected,
    OpticalError,
    OpticalPort,
    OpticalSession,
)
from .state import LOGGED_TYPES, EventTracker, TariffSource, clock_payload, state_payloads

__all__ = ["POLL_OBJECTS", "LoadProfileCursor", "OpticalPoller", "profile_batches"]

_LOGGER = logging.getLogger(__name__)

POLL_OBJECTS: Final = (
    "coupling_state",
    "coupling_mode",
    "cutoff_basis",
    "coupling_feedback",
    "actual_tariff",
    "tariff_source",
    "tariff_inputs",
    "relay_1",
    "relay_2",
    "prepayment_credit",
    "prepayment_alarm_limit",
    "prepayment_exception_credit",
    "prepayment_last_top_up",
    "meter_status",
    "event_status_a",
    "event_status_b",
    *(f"voltage_thd_l{n}" for n in (1, 2, 3)),
    *(f"current_thd_l{n}" for n in (1, 2, 3)),
    *(f"voltage_sag_count_l{n}" for n in (1, 2, 3)),
    *(f"voltage_swell_count_l{n}" for n in (1, 2, 3)),
    "frequency",
    "power_factor",
    *(f"voltage_l{n}" for n in (1, 2, 3)),
    *ENERGY_OBJECTS,
)
#: The registers whose scaler_unit tells the push's scalers (cached by the port after one read).
SCALER_NAMES: Final = tuple(name for name, _ in SCALER_OBJECTS.values())
#: The debiting period's registers (docs/mqtt.md ``billing``).
BILLING_OBJECTS: Final = (*MAXIMA, *ACCUMULATED, *COUNTERS)
#: How far back the last closed debiting period is looked for in billing logger 2.
BILLING_LOOKBACK: Final = timedelta(days=400)
#: Read once per process: they name the meter (an optical-only meter has no push to do it).
IDENTITY_OBJECTS: Final = ("meter_number", "serial_number", "meter_type", "firmware")
#: How far back a first back-fill reaches (the meter's logger holds more; HA needs weeks at most).
FIRST_BACKFILL: Final = timedelta(days=7)


def _aware(clock: MeterClock, zone: tzinfo) -> datetime:
    return clock.aware(zone)


def energy_values(values: Mapping[str, Any]) -> dict[str, float]:
    """The energy registers read, under the contract's keys (``active_energy_import_kwh``)."""
    out: dict[str, float] = {}
    for name in ENERGY_OBJECTS:
        value = values.get(name)
        if value is not None:
            out[f"{name}_{ENERGY_UNITS.get(name, 'kwh')}"] = round(float(value), 6)
    return out


@dataclass(slots=True)
class OpticalPoller:
    """Polls one meter's optical port; publishes through the callbacks the service gives it."""

    port: OpticalPort
    zone: tzinfo
    interval: float
    meter_id: Callable[[], str | None]
    publish_state: Callable[[str, dict[str, Any]], None]
    publish_event: Callable[[dict[str, Any]], None]
    publish_energy: Callable[[dict[str, float], datetime], None]
    publish_profile: Callable[[dict[str, Any]], None]
    on_error: Callable[[OpticalError], None]
    on_ok: Callable[[], None]
    now: Callable[[], datetime]
    cursor: LoadProfileCursor | None = None
    load_profile: bool = True
    phases: int = 1
    tariff_source: Callable[[], TariffSource] = lambda: "calendar"
    tracker: EventTracker | None = None
    on_identity: Callable[[dict[str, Any]], None] | None = None
    on_scalers: Callable[[dict[str, tuple[int, int]]], None] | None = None
    #: Where the per-meter log cursors live (``<state_dir>/logs``); None: logs are not read.
    log_dir: Path | None = None
    failures: int = 0
    _log_cursor: LogCursor | None = None
    _billing_stops: Any = None
    _billing_read: bool = False
    #: The newest sag and swell read from the power-quality log (``quality.last_voltage_*``).
    _last_pq: dict[str, dict[str, Any]] = field(default_factory=dict)
    _last_period: LogEntry | None = None
    _billing_sent: dict[str, Any] | None = None
    _missing_logs: set[str] = field(default_factory=set)
    _identity_read: bool = False
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _backfill_due: bool = True
    #: The profile's capture period as last read, and the meter's time at the last poll.
    _period_s: int = 900
    _meter_now: datetime | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def run(self) -> None:
        """Poll every *interval* until cancelled; failures back off up to 5 minutes."""
        while True:
            ok = await self.poll_once() is not None
            if ok and self.load_profile and (self._backfill_due or self._period_closed()):
                await self._backfill()
            delay = self.interval if ok else min(300.0, self.interval * 2 ** min(self.failures, 4))
            self._wake.clear()
            try:
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def _period_closed(self) -> bool:
        """A capture period ended since the newest interval published: time to read it."""
        meter = self.meter_id()
        last = None if self.cursor is None or meter is None else self.cursor.get(meter)
        if last is None or self._meter_now is None:
            return False
        return self._meter_now >= last + timedelta(seconds=self._period_s)

    def wake(self) -> None:
        """Poll now (a ``refresh`` command, or a command that changed something)."""
        self._wake.set()

    async def poll_once(self) -> dict[str, dict[str, Any]] | None:
        """One complete poll; the state payloads published, or None when it failed."""
        async with self._lock:
            try:
                async with self.port.session() as session:
                    if not self._identity_read and self.on_identity is not None:
                        self.on_identity(await session.read(IDENTITY_OBJECTS))
                        self._identity_read = True
                    values = await session.read(POLL_OBJECTS)
                    scalers = await session.scaler_units(SCALER_NAMES)
                    clock = await session.read_clock()
                    reference = self.now().astimezone(self.zone)
                    logs = await self._read_logs(session, clock)
                    billing = await self._read_billing(session, clock)
            except RemoteProtocolError as exc:  # bytes that failed a check: the poll is void
                error: OpticalError = OpticalDataRejected(f"{exc.code}: {exc}")
                self.failures += 1
                self._backfill_due = True
                self.on_error(error)
                return None
            except OpticalError as exc:
                self.failures += 1
                self._backfill_due = True  # what happened meanwhile is only in the profile
                self.on_error(exc)
                return None
        self.failures = 0
        self.on_ok()
        if self.on_scalers is not None:
            self.on_scalers(scalers)
        meter = self.meter_id()
        ts = _aware(clock, self.zone)
        self._meter_now = ts
        # The meter answers U L2/L3 only if it has them: its phases, before any push said so.
        phases = 3 if "voltage_l2" in values else self.phases
        payloads = state_payloads(
            {**values, "phases": phases}, ts, tariff_source=self.tariff_source()
        )
        payloads["clock"] = clock_payload(ts, reference, dst=clock.dst)
        if meter is None:
            _LOGGER.debug("optical poll done, but the meter has no id yet: nothing published")
            return payloads
        if self.tracker is None:
            self.tracker = EventTracker(meter, start=int(reference.timestamp()))
        if "standard_event_log" in logs:
            # The meter's own record says it with its time stamps; a diff of polls would
            # repeat it late (and miss what came and went between two polls).
            self.tracker.from_logs = LOGGED_TYPES
        tariff_before = self.tracker.last_tariff()
        for event in self._log_events(meter, logs, tariff_before):
            if event["type"] in ("voltage_sag", "voltage_swell"):
                self._last_pq[event["type"]] = {
                    "at": event.get("started", event["ts"]),
                    "phase": event["phase"],
                    "duration_s": event.get("duration_s", 0.0),
                    "voltage_v": event.get("voltage_v", 0.0),
                }
            self.publish_event(event)
        if "quality" in payloads:
            for kind, last in self._last_pq.items():
                payloads["quality"][f"last_{kind}"] = last
        for event in self.tracker.update(payloads):
            self.publish_event(event)
        for name, payload in payloads.items():
            self.publish_state(name, payload)
        if billing is not None and {**billing, "ts": None} != self._billing_sent:
            self._billing_sent = {**billing, "ts": None}
            self.publish_state("billing", billing)  # on change: maxima move rarely
        energy = energy_values(values)
        if energy:
            self.publish_energy(energy, ts)
        return payloads

    async def _read_billing(
        self, session: OpticalSession, clock: MeterClock
    ) -> dict[str, Any] | None:
        """The ``billing`` payload; billing logger 2 is read again only after a debiting stop."""
        values = await session.read(BILLING_OBJECTS)
        if not any(name in values for name in MAXIMA):
            return None
        times = await session.read_capture_times(list(MAXIMA))
        stops = values.get("debiting_stop_counter")
        if not self._billing_read or stops != self._billing_stops:
            self._billing_read = True
            try:
                entries = await session.read_log(
                    "billing_log_2", clock.local - BILLING_LOOKBACK, clock.local
                )
            except ObjectRefused:
                entries = []
            self._last_period = entries[-1] if entries else None
            self._billing_stops = stops
        ts = clock.aware(self.zone)
        return billing_payload(values, times, self._last_period, ts, self.zone)

    async def _read_logs(
        self, session: OpticalSession, clock: MeterClock
    ) -> dict[str, list[LogEntry]]:
        """Each event log since its cursor (a first poll only sets the cursor)."""
        meter = self.meter_id()
        if self.log_dir is None or meter is None:
            return {}
        if self._log_cursor is None:
            self._log_cursor = LogCursor(self.log_dir / f"{meter}.json")
        out: dict[str, list[LogEntry]] = {}
        now = clock.aware(self.zone)
        for log in EVENT_LOGS:
            if log in self._missing_logs:
                continue
            start = self._log_cursor.start(log)
            # A first read covers only this instant: it proves the log is there and sets the
            # cursor, without the meter's past.
            since = clock.local if start is None else start.astimezone(self.zone)
            try:
                entries = await session.read_log(log, since.replace(tzinfo=None), clock.local)
            except ObjectRefused:
                self._missing_logs.add(log)  # this meter has no such log: events from polls
                continue
            if start is None:
                self._log_cursor.baseline(log, now)
                entries = []
            out[log] = entries
        return out

    def _log_events(
        self, meter: str, logs: Mapping[str, list[LogEntry]], tariff: int | None
    ) -> list[dict[str, Any]]:
        cursor = self._log_cursor
        if cursor is None:
            return []
        events: list[dict[str, Any]] = []
        for log, entries in logs.items():
            ids = entry_ids(meter, log, entries, self.zone)
            fresh = cursor.new(log, entries, ids, self.zone)
            events += log_events(
                log, [(entries[i], ids[i]) for i in fresh], self.zone, last_tariff=tariff
            )
            cursor.advance(log, entries, ids, self.zone)
        return events

    async def read_profile(
        self, start: datetime, end: datetime | None, request_id: str | None
    ) -> int:
        """Read and publish the profile between *start* and *end* (default: now); intervals sent.

        Raises :class:`OpticalError` when the port fails (the command then reports it).
        """
        meter = self.meter_id()
        if meter is None:
            raise OpticalError("the meter's id is not known yet; retry after the first poll")
        stop = end or self._meter_now or self.now()  # the profile is stamped in meter time
        async with self._lock, self.port.session() as session:
            rows = await session.read_load_profile(
                start.astimezone(self.zone).replace(tzinfo=None),
                stop.astimezone(self.zone).replace(tzinfo=None),
            )
        batches = profile_batches(
            rows, zone=self.zone, meter=meter, read_at=self.now(), request_id=request_id
        )
        for batch in batches:
            self.publish_profile(batch)
        if batches:
            self._period_s = int(batches[0]["interval_s"])
        if rows and self.cursor is not None and request_id is None:
            self.cursor.advance(meter, max(_aware(r.end, self.zone) for r in rows))
        return sum(len(b["intervals"]) for b in batches)

    async def _backfill(self) -> None:
        meter = self.meter_id()
        if meter is None:
            return
        last = self.cursor.get(meter) if self.cursor is not None else None
        start = (last + timedelta(seconds=1)) if last else self.now() - FIRST_BACKFILL
        try:
            count = await self.read_profile(start, None, None)
        except OpticalError as exc:
            self.on_error(exc)
            return
        self._backfill_due = False
        if count:
            _LOGGER.info("meter %s: back-filled %d load-profile intervals", meter, count)
