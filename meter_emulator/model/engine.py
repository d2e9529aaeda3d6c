"""The meter's time machinery: stretches of constant supply between boundaries.

:meth:`MeterEngine.advance_to` moves true time forward in stretches that end at every instant
something can happen — a change of the load source, a tariff switch, a load-profile or
integration period boundary, a debiting stop, the moment the prepayment credit runs out, a
breaker timer — so registers integrate exactly and the outcome is the same however the caller
slices time. Boundaries that belong to the meter's own clock (tariffs, periods, billing) are
computed on the RTC and mapped back to true time, so drift, DST and a set clock move them.
:class:`~.meter.Meter` adds the commands and the read-out on top.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, TypeAlias

from ccc_gateway.protocol.axdr import CosemDateTime
from ccc_gateway.protocol.omnipower_logs import EventCode, PowerQualityCode
from ccc_gateway.protocol.omnipower_logs import TariffSource as WireTariffSource

from .billing import Debiting, PeakPower
from .breaker import Breaker
from .clock import HOUR, MINUTE, MeterClock, from_us, naive_to_us, to_us
from .config import MeterConfig
from .display import Display
from .energy import EnergyRegisters
from .event_log import PowerQualityEntry, PowerQualityLog, StandardEvent, StandardEventLog
from .logs import AnalysisLogger, EventLog, LoadProfile, ProfileStatus
from .power import (
    Measurement,
    Supply,
    measure,
)
from .prepayment import Prepayment
from .quality import PowerQuality, VoltageState
from .source import Action, ConstantLoad, LoadSource
from .status import EventStatus, MeterStatus, Relays, Tamper
from .tariffs import TariffControl

__all__ = ["MeterEngine"]

NEVER: Final = 1 << 62
_PQ_CODES: Final = {
    VoltageState.SAG: PowerQualityCode.VOLTAGE_SAG,
    VoltageState.SWELL: PowerQualityCode.VOLTAGE_SWELL,
    VoltageState.INTERRUPTION: PowerQualityCode.INTERRUPTION,
    VoltageState.NORMAL: PowerQualityCode.INTERRUPTION,  # never logged: NORMAL does not end
}
Snapshot: TypeAlias = dict[str, int | str | CosemDateTime]


class MeterEngine:
    """State and time machinery of one meter (see the module docstring)."""

    def __init__(
        self, config: MeterConfig, *, start: datetime, source: LoadSource | None = None
    ) -> None:
        self.config = config
        self.identity = config.identity
        type_number = config.identity.type_number
        self.now_us = to_us(start)
        self.clock = MeterClock(
            config.gmt_offset_h, config.eu_dst, config.drift_ppm, 0, self.now_us
        )
        self.energy = EnergyRegisters(type_number.energy_type, type_number.phases)
        self.tariffs = TariffControl(config.tariff_control, config.calendar, config.primary_module)
        self.breaker = Breaker(config.breaker, present=type_number.has_breaker)
        self.prepayment = Prepayment.from_config(config.prepayment)
        self.peaks = PeakPower(config.integration_period_min, config.power_threshold_count_w)
        self.debiting = Debiting(config.debiting_stop_day, config.debiting_interval)
        channels = tuple(c for c in config.load_profile_channels if self.energy.has(c))
        self.load_profile = LoadProfile(
            config.integration_period_min, channels, config.load_profile_delta
        )
        self.analysis = AnalysisLogger(config.analysis_interval_min, config.analysis_channels)
        self.quality = PowerQuality(config.nominal_voltage_v, type_number.phases)
        self.tamper = Tamper()
        self.relays = Relays(follows_tariff=config.load_control == 1)
        self.events = EventLog()
        self.event_log = StandardEventLog()
        self.pq_log = PowerQualityLog()
        #: When a magnet or an open cover began (true us), for the duration of its end entry.
        self._tamper_since: dict[str, int] = {}
        self.display = Display(config.display)
        self.event_status = EventStatus.NONE
        self.meter_status = MeterStatus.NONE
        self.invocation_counter = 0
        self.source: LoadSource = source if source is not None else ConstantLoad()
        self.override: Supply | None = None
        self.on_event: Callable[[str, str], None] | None = None
        self._outage_start_us: int | None = None
        self._breaker_seen = 0
        self._due: dict[str, int] = {}
        self.supply = self.source.supply_at(self.now_us)
        self.measured = self._measure()
        self.tariff = self.tariffs.tariff(self.local())
        self.tariff_source = self.tariffs.source
        self.relays.on_tariff(self.tariff)
        self.peaks.start(self.energy.nj)
        self._reset_boundaries()
        self._observe_supply()

    # --- time -----------------------------------------------------------------------------

    def local(self) -> datetime:
        """The meter's local time now (naive)."""
        return self.clock.local(self.now_us)[0]

    def meter_clock(self) -> datetime:
        """The RTC reading now: local wall-clock time (naive), as MeterLike wants."""
        return self.local()

    def meter_clock_at(self, moment: datetime) -> datetime:
        """What the RTC reads at *moment* if nothing sets it before (naive local time)."""
        return self.clock.local(max(to_us(moment), self.now_us))[0]

    def moment_of(self, meter_time: datetime) -> datetime:
        """The first true moment, not before the present, at which the RTC reads *meter_time*.

        In the repeated autumn hour that is the occurrence still ahead; a reading the clock
        skips (spring) or already passed gives the present.
        """
        local = naive_to_us(meter_time)
        base = local - self.clock.gmt_offset_h * HOUR
        ahead = [
            true
            for rtc in (base - HOUR, base)
            if self.clock.local_us(rtc) == local
            and (true := self.clock.true_for_rtc(rtc)) >= self.now_us
        ]
        return from_us(min(ahead) if ahead else self.now_us)

    def dst(self) -> bool:
        """Whether the meter's clock is in summer time now."""
        return self.clock.local(self.now_us)[1]

    def is_powered(self) -> bool:
        """Whether the meter has supply (no supply: no display, no pushes)."""
        return self.measured.powered

    def advance_to(self, moment: datetime) -> None:
        """Advance the simulation to *moment* (aware); earlier moments are ignored."""
        self.advance_to_us(to_us(moment))

    def advance_to_us(self, target_us: int) -> None:
        """Advance to *target_us* (true microseconds)."""
        while self.now_us < target_us:
            end = min(target_us, min(self._due.values()), self._credit_boundary())
            self._integrate(end - self.now_us)
            self.now_us = end
            self._fire_due()

    def resume(self) -> None:
        """Re-derive everything transient after the permanent memory was restored."""
        self.supply = self.source.supply_at(self.now_us)
        self.measured = self._measure()
        self.tariff = self.tariffs.tariff(self.local())
        self.tariff_source = self.tariffs.source
        self._update_meter_status()
        self._breaker_seen = self.breaker.changes
        self._reset_boundaries()

    # --- boundaries -----------------------------------------------------------------------

    def _rtc_boundary(self, rtc_us: int | None) -> int:
        return NEVER if rtc_us is None else self.clock.true_for_rtc(rtc_us)

    def _local_boundary(self, local_us: int | None) -> int:
        if local_us is None:
            return NEVER
        rtc = self.clock.rtc_for_local(local_us, self.clock.rtc_us(self.now_us))
        return self.clock.true_for_rtc(rtc)

    def _next_period(self, minutes: int) -> int:
        rtc = self.clock.rtc_us(self.now_us)
        step = minutes * MINUTE
        return self._rtc_boundary((rtc // step + 1) * step)

    def _reset_boundaries(self) -> None:
        local = self.local()
        nxt = self.source.next_change(self.now_us)
        override = self._due.get("override", NEVER)  # a timed override outlives a clock change
        self._due = {
            "source": NEVER if nxt is None else nxt,
            "period": self._next_period(self.config.integration_period_min),
            "analysis": self._next_period(self.config.analysis_interval_min),
            "variation": self._next_period(10),
            "tariff": self._local_boundary(self.tariffs.next_switch_local(local)),
            "debiting": self._local_boundary(self.debiting.next_stop_local(local)),
            "window": self._local_boundary(self.prepayment.next_window_edge_local(local)),
            "lowmax": self._rtc_boundary(self.prepayment.lowmax_deadline()),
            "breaker": NEVER if self.breaker.deadline_us is None else self.breaker.deadline_us,
            "override": override,
        }

    def _credit_boundary(self) -> int:
        """When the prepayment credit crosses the alarm limit or zero at the present load."""
        if not self.prepayment.enabled:
            return NEVER  # the common case, asked at every step
        import_mw = max(self.measured.active_mw, 0)
        times = [
            t
            for t in (
                self.prepayment.time_to_alarm_us(import_mw),
                self.prepayment.time_to_zero_us(import_mw),
            )
            if t is not None
        ]
        return self.now_us + min(times) if times else NEVER

    def _integrate(self, dt_us: int) -> None:
        if self.measured.powered:
            self.debiting.powered_us += dt_us
            self.quality.accumulate(dt_us, self.measured)
        if self.measured.active_mw or self.measured.reactive_mvar:
            self.energy.integrate(self.measured, dt_us, self.tariff)
        import_mw = self.measured.active_mw
        if import_mw > 0 and self.prepayment.enabled:
            crossed = self.prepayment.consume(
                import_mw * dt_us, self.clock.rtc_us(self.now_us + dt_us)
            )
            if crossed:
                self._record(
                    "low_credit",
                    f"{self.prepayment.credit_kwh:.3f} kWh left",
                    EventStatus.LOW_CREDIT,
                )
                self._log(EventCode.LOW_CREDIT)
                self._due["lowmax"] = self._rtc_boundary(self.prepayment.lowmax_deadline())

    def _fire_due(self) -> None:
        now = self.now_us
        due = self._due
        if due["source"] <= now:
            self.supply = self.source.supply_at(now)
            for action in self.source.actions_at(now):
                self.apply(action)
            nxt = self.source.next_change(now)
            due["source"] = NEVER if nxt is None else nxt
            self._observe_supply()
        if due["override"] <= now:
            due["override"] = NEVER
            self.override = None
            self._observe_supply()
        if due["breaker"] <= now:
            self.breaker.on_deadline(now, power_w=self._power_w())
            self._after_breaker_change()
            self._observe_supply()  # a reconnected load may breach the threshold again
        if due["variation"] <= now:
            for phase in self.quality.close_interval():
                self._record("voltage_variation", f"L{phase} 10-minute mean outside Un ± 10 %")
            due["variation"] = self._next_period(10)
        if due["tariff"] <= now:
            self._update_tariff()
        if due["period"] <= now:
            self._close_period()
            due["period"] = self._next_period(self.config.integration_period_min)
        if due["analysis"] <= now:
            if self.measured.powered:
                local, dst = self.clock.local(self.now_us)
                self.analysis.capture(local, self.readings(), dst=dst)
            due["analysis"] = self._next_period(self.config.analysis_interval_min)
        if due["debiting"] <= now:
            self._debiting_stop()
        if due["window"] <= now:
            due["window"] = self._local_boundary(
                self.prepayment.next_window_edge_local(self.local())
            )
        if due["lowmax"] <= now:
            due["lowmax"] = NEVER
            if self.prepayment.low_credit:
                self.breaker.prepayment_exhausted(now, low_max=True)
                self._after_breaker_change()
        if self.prepayment.enabled:  # checked here too: this runs at every scenario step
            self._check_credit()

    def _check_credit(self) -> None:
        p = self.prepayment
        if (
            p.enabled
            and p.credit_nj == 0
            and self.breaker.closed
            and (self.breaker.prepayment_without_restriction or not p.in_exception(self.local()))
        ):
            if not p.exhausted_reported:
                self._record("credit_exhausted", "prepayment credit is 0")
                self._log(EventCode.CREDIT_EXHAUSTED)
                p.exhausted_reported = True
            self.breaker.prepayment_exhausted(self.now_us)
            self._after_breaker_change()

    def _power_w(self) -> float:
        """The installation's demand (what a threshold sees, even with the breaker open)."""
        return sum(p.active_w for p in self.supply.phases[: self.config.phases])

    def _measure(self) -> Measurement:
        supply = self.override if self.override is not None else self.supply
        return measure(supply, phases=self.config.phases, connected=self.breaker.closed)

    def _observe_supply(self) -> None:
        """The supply changed: re-measure, detect events, let the breaker react."""
        was_powered = self.measured.powered
        supply = self.override if self.override is not None else self.supply
        before = self.breaker.state
        if self.breaker.watches_supply():
            self.breaker.check_supply(
                self.now_us,
                power_w=sum(p.active_w for p in supply.phases[: self.config.phases]),
                max_voltage_v=max((p.voltage_v for p in supply.phases), default=0.0),
                neutral_fault=supply.neutral_fault,
            )
        self.measured = self._measure()
        if self.breaker.state is not before:
            self._after_breaker_change()
        self._power_transitions(was_powered)
        for event in self.quality.observe(self.now_us, self.local, supply, self.measured):
            kind = f"voltage_{event.kind.value}"
            detail = f"L{event.phase} {event.extreme_v:.0f} V for {event.duration_s:.1f} s"
            flag = {
                VoltageState.SAG: EventStatus.VOLTAGE_SAG,
                VoltageState.SWELL: EventStatus.VOLTAGE_SWELL,
            }
            self._record(kind, detail, flag.get(event.kind, EventStatus.NONE))
            local, dst = self.clock.local(self.now_us)
            self.pq_log.add(
                PowerQualityEntry(
                    local,
                    dst,
                    _PQ_CODES[event.kind],
                    event.phase,
                    round(event.duration_s * 1000),
                    event.extreme_v,
                )
            )

    def _power_transitions(self, was_powered: bool) -> None:
        powered = self.measured.powered
        if was_powered and not powered:
            self._outage_start_us = self.now_us
            self.load_profile.flag(ProfileStatus.POWER_FAILURE)
            self._record("power_failure", "supply lost", EventStatus.POWER_FAILURE)
            self._log(EventCode.POWER_DOWN)
        elif powered and not was_powered and self._outage_start_us is not None:
            start = self._outage_start_us
            self._outage_start_us = None
            battery = self.identity.type_number.battery_backup
            self.clock.outage(start, self.now_us, battery=battery)
            seconds = (self.now_us - start) / 1e6
            self._record("power_restored", f"after {seconds:.0f} s")
            self._log(EventCode.POWER_UP, duration_us=self.now_us - start)
            if self.clock.invalid:
                self._record("clock_invalid", "supercap empty", EventStatus.CLOCK_INVALID)
                self._log(EventCode.CLOCK_INVALID)
                self.load_profile.flag(ProfileStatus.CLOCK_INVALID)
            self._reset_boundaries()

    def _after_breaker_change(self) -> None:
        self.measured = self._measure()
        self._due["breaker"] = (
            NEVER if self.breaker.deadline_us is None else self.breaker.deadline_us
        )
        new = min(self.breaker.changes - self._breaker_seen, len(self.breaker.log))
        for record in list(self.breaker.log)[len(self.breaker.log) - new :]:
            self._record(
                "breaker_changed", f"{record.before.value}->{record.after.value} {record.reason}"
            )
        self._breaker_seen = self.breaker.changes
        if not self.breaker.closed:
            self.event_status |= EventStatus.BREAKER_OPENED
            self.load_profile.flag(ProfileStatus.BREAKER_OPEN)

    def _update_tariff(self) -> None:
        local = self.local()
        tariff = self.tariffs.tariff(local)
        source = self.tariffs.source
        if tariff != self.tariff:
            self._record("tariff_changed", f"{self.tariff}->{tariff} ({source.value})")
            self.relays.on_tariff(tariff)
        if (tariff, source) != (self.tariff, self.tariff_source):
            self.tariff, self.tariff_source = tariff, source
            self._log(EventCode.TARIFF_CHANGED)  # a new source alone is logged too
        self._due["tariff"] = self._local_boundary(self.tariffs.next_switch_local(local))

    def _close_period(self) -> None:
        local, dst = self.clock.local(self.now_us)
        if self.measured.powered:
            self.load_profile.capture(
                local, dst, self.energy.snapshot_wh(self.load_profile.channels)
            )
            self.peaks.close(local, dst, self.tariff, self.energy.nj)
        else:
            self.peaks.start(self.energy.nj)

    def _debiting_stop(self) -> None:
        self.debiting.stop(self.local(), self.clock.status(self.now_us), self.energy.nj, self.peaks)
        self._record("debiting_stop", f"period {self.debiting.stop_count}")
        self._log(EventCode.DEBITING_STOP)
        self._due["debiting"] = self._local_boundary(self.debiting.next_stop_local(self.local()))

    def _record(self, kind: str, detail: str, flag: EventStatus = EventStatus.NONE) -> None:
        self.events.add(self.local(), kind, detail)
        self.event_status |= flag
        if self.on_event is not None:
            self.on_event(kind, detail)

    def _log(
        self,
        code: EventCode,
        *,
        duration_us: int = 0,
        at: tuple[datetime, bool] | None = None,
    ) -> None:
        """Write the standard event log now (or stamped *at* a given meter time and DST)."""
        local, dst = at if at is not None else self.clock.local(self.now_us)
        self.event_log.add(
            StandardEvent(
                local,
                dst,
                code,
                int(self.event_status),
                self.tariff,
                WireTariffSource[self.tariff_source.name],
                duration_us // 1000,
            )
        )

    def _update_meter_status(self) -> None:
        status = MeterStatus.NONE
        if self.tamper.magnet:
            status |= MeterStatus.MAGNET
        if self.tamper.cover_open:
            status |= MeterStatus.COVER_OPEN
        self.meter_status = status

    def apply(self, action: Action) -> None:
        """Apply a scenario action now (the meter's commands; see :class:`~.meter.Meter`)."""
        raise NotImplementedError

    def readings(self) -> dict[str, tuple[Any, str]]:
        """Every register by OBIS C.D.E (see :class:`~.meter.Meter`)."""
        raise NotImplementedError
