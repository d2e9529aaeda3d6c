"""The meter: every function of the data sheet, advanced by a simulated clock passed in.

:class:`Meter` is the public face: the commands (breaker, prepayment, tariff, relays, tamper,
clock, supply override) and the read-out (push snapshot, readings, display). The time
machinery lives in :mod:`.engine`. The model never reads the wall clock, never does I/O and
never logs; a refused command raises ValueError and changes nothing.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any, TypeAlias

from ccc_gateway.protocol.axdr import CosemDateTime

from .breaker import CouplingState
from .clock import from_us, naive_from_us
from .engine import NEVER, MeterEngine
from .logs import ProfileStatus
from .power import PHASE_CURRENT_INDICATOR_W, SUPPLY_INDICATOR_V, Supply
from .registers import push_snapshot, readings
from .source import Action, ActionKind
from .status import EventStatus

__all__ = ["Meter"]

Snapshot: TypeAlias = dict[str, int | str | CosemDateTime]


class Meter(MeterEngine):
    """One emulated OMNIPOWER meter."""

    # --- actions and commands (validated: a refused one changes nothing) ------------------

    def apply(self, action: Action) -> None:
        """Apply a scenario action now."""
        match action.kind:
            case ActionKind.MAGNET:
                self.set_magnet(bool(action.value))
            case ActionKind.COVER:
                self.set_cover(bool(action.value))
            case ActionKind.BUTTON:
                with contextlib.suppress(ValueError):  # a press the state ignores
                    self.press_button()
            case ActionKind.TOP_UP:
                self.top_up(action.value)
            case ActionKind.TARIFF_INPUTS:
                bits = int(action.value)
                self.set_tariff_inputs(bool(bits & 1), bool(bits & 2))
            case ActionKind.PULSES:
                self.debiting.pulse_input += int(action.value)
            case ActionKind.LOAD_CONTROL:
                self.set_load_control_input(bool(action.value))

    def set_override(self, supply: Supply | None, *, seconds: float | None = None) -> None:
        """Replace the source's supply (control socket), for *seconds* or until cleared.

        None returns to the source at once.
        """
        self.override = supply
        until = self.now_us + round(seconds * 1_000_000) if seconds is not None else None
        self._due["override"] = NEVER if supply is None or until is None else until
        self._observe_supply()

    def write_coupling(self, value: int) -> CouplingState:
        """Write CouplingState (1 disconnect, 2 release, 3 reconnect)."""
        state = self.breaker.write(self.now_us, value)
        self._after_breaker_change()
        self._check_credit()
        return state

    def press_button(self) -> CouplingState:
        """The left push button held for 6 s (breaker) — also steps the manual display list."""
        state = self.breaker.press_button(self.now_us)
        self._after_breaker_change()
        self._check_credit()
        return state

    def set_load_control_input(self, cut: bool) -> CouplingState:
        """The primary module's load-control input (cut-off basis "load_controlled")."""
        self.breaker.load_control(self.now_us, cut=cut)
        self._after_breaker_change()
        return self.breaker.state

    def top_up(self, kwh: float) -> None:
        """Add prepayment credit; releases a prepayment cut-off."""
        self.prepayment.top_up(kwh)
        self._record("top_up", f"{kwh:g} kWh")
        if self.prepayment.credit_nj > 0:
            self.breaker.prepayment_topped_up(self.now_us)
            self._after_breaker_change()
        self._due["lowmax"] = self._rtc_boundary(self.prepayment.lowmax_deadline())

    def set_alarm_limit(self, kwh: float) -> None:
        """Write the prepayment AlarmLimit."""
        self.prepayment.set_alarm_limit(kwh)

    def force_tariff(self, tariff: int | None) -> None:
        """Write ActualTariff (0 or None clears the force)."""
        self.tariffs.force(tariff)
        if tariff:
            self.event_status |= EventStatus.TARIFF_FORCED
        self._update_tariff()

    def set_tariff_inputs(self, first: bool, second: bool) -> None:
        """The module's tariff inputs."""
        self.tariffs.set_inputs(first, second)
        self._update_tariff()

    def set_relay(self, relay: int, on: bool) -> None:
        """Switch load-control relay 1 or 2."""
        self.relays.set(relay, on)
        self._record("relay_changed", f"relay {relay} {'on' if on else 'off'}")

    def set_magnet(self, active: bool) -> None:
        """Apply or remove a magnet."""
        if self.tamper.set_magnet(active):
            self._record("tamper", "magnet", EventStatus.MAGNET)
        self._update_meter_status()

    def set_cover(self, opened: bool) -> None:
        """Open or close the terminal cover."""
        if self.tamper.set_cover(opened):
            self._record("tamper", "terminal cover opened", EventStatus.COVER_OPENED)
        self._update_meter_status()

    def clear_event_status(self, mask: int = 0xFFFFFFFF) -> None:
        """Clear latched event bits (writing EventStatusB)."""
        self.event_status &= EventStatus(~mask & 0x3FF)

    def set_time(self, local: datetime, *, dst: bool | None = None) -> None:
        """Set the RTC to naive local *local*."""
        self.clock.set_local(self.now_us, local, dst=dst)
        self.load_profile.flag(ProfileStatus.CLOCK_SET)
        self._record("clock_adjusted", f"set to {local.isoformat()}", EventStatus.CLOCK_ADJUSTED)
        self._reset_boundaries()

    def shift_time(self, seconds: float) -> None:
        """Adjust the RTC by *seconds*."""
        self.clock.shift(self.now_us, seconds)
        self.load_profile.flag(ProfileStatus.CLOCK_SET)
        self._record("clock_adjusted", f"shifted {seconds:+g} s", EventStatus.CLOCK_ADJUSTED)
        self._reset_boundaries()

    def debiting_stop_now(self) -> None:
        """An external debiting stop (Z7 = 0, module input or command)."""
        self._debiting_stop()

    def next_invocation_counter(self) -> int:
        """The next general-glo-ciphering IC (persisted by the store)."""
        self.invocation_counter += 1
        return self.invocation_counter

    # --- reading --------------------------------------------------------------------------

    def push_snapshot(self) -> Snapshot:
        """Raw register values for the CCC push lists, at the configured resolution."""
        return push_snapshot(self)

    def readings(self) -> dict[str, tuple[Any, str]]:
        """Every register by OBIS C.D.E: (value, unit), for the display and the control socket."""
        return readings(self)

    def display_press(self) -> None:
        """A short press of the left push button: steps the manual (or battery) list."""
        self.display.press(self.now_us, powered=self.measured.powered)

    def display_text(self) -> str:
        """What the LCD shows now, as text."""
        measured = self.measured
        p, q = measured.active_mw, measured.reactive_mvar
        quadrant = (1 if q >= 0 else 4) if p >= 0 else (2 if q >= 0 else 3)
        breaker = self.breaker.state.name.lower() if self.breaker.present else None
        symbols = {
            f"T{self.tariff}": self.tariffs.control != 0 or self.tariffs.forced is not None,
            "Q": quadrant if p or q else None,
            "breaker": breaker,
            "tamper": "active"
            if (self.tamper.magnet or self.tamper.cover_open)
            else (
                "latched"
                if self.event_status & (EventStatus.MAGNET | EventStatus.COVER_OPENED)
                else None
            ),
            "prepay": f"{self.prepayment.credit_kwh:.1f}kWh" if self.prepayment.enabled else None,
            "U>160V": any(ph.voltage_v > SUPPLY_INDICATOR_V for ph in measured.phases),
            "P>2.3W": any(
                abs(ph.active_mw) / 1000 > PHASE_CURRENT_INDICATOR_W for ph in measured.phases
            ),
            "error": "clock" if self.clock.invalid else None,
        }
        return self.display.render(
            self.now_us,
            self.readings(),
            symbols,
            self.config.display_format,
            powered=measured.powered,
        )

    def true_time(self) -> datetime:
        """The simulation's true (UTC) time."""
        return from_us(self.now_us)

    def local_at(self, true_us: int) -> datetime:
        """Meter local time at another true instant (naive)."""
        return naive_from_us(self.clock.local_us(self.clock.rtc_us(true_us)))
