"""The meter: every function of the data sheet, advanced by a simulated clock passed in.

:class:`Meter` is the public face: the commands (breaker, prepayment, tariff, relays, tamper,
clock, supply override) and the read-out (push snapshot, readings, display). The time
machinery lives in :mod:`.engine`. The model never reads the wall clock, never does I/O and
never logs; a refused command raises ValueError and changes nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from ccc_gateway.protocol.axdr import CosemDateTime
from ccc_gateway.protocol.omnipower_logs import EventCode

from .breaker import CouplingState
from .clock import from_us, naive_from_us
from .engine import NEVER, MeterEngine
from .logs import ProfileStatus
from .power import PHASE_CURRENT_INDICATOR_W, SUPPLY_INDICATOR_V, Supply
from .registers import push_snapshot, readings
from .software_codes import ALARM_INPUT_MODULES, PULSE_INPUT_MODULES
from .source import Action, ActionKind
from .status import EventStatus

__all__ = ["Meter", "S0Output"]

Snapshot: TypeAlias = dict[str, int | str | CosemDateTime]


@dataclass(frozen=True, slots=True)
class S0Output:
    """The S0 output's timing: the pulse count, length, current rate and the power at which
    pulses of that length (with equal pauses) saturate."""

    pulses: int
    pulse_ms: int
    rate_hz: float
    max_power_w: int


class Meter(MeterEngine):
    """One emulated OMNIPOWER meter."""

    #: The module's alarm input (see :meth:`set_alarm_input`).
    alarm_input: bool = False

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
                with contextlib.suppress(ValueError):  # no pulse input on this module (Z3)
                    self.add_input_pulses(int(action.value))
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

    def add_input_pulses(self, count: int) -> int:
        """Pulses on the primary module's pulse input (Z3 with "pulse in"); the new count."""
        module = self.config.primary_module
        if module not in PULSE_INPUT_MODULES:
            raise ValueError(f"primary module configuration {module} (Z3) has no pulse input")
        if count < 0:
            raise ValueError("a pulse count is never negative")
        self.debiting.pulse_input += count
        return self.debiting.pulse_input

    def set_alarm_input(self, closed: bool) -> bool:
        """The module's alarm input closed or open; whether the alarm is now active.

        The input exists on the Z3 configurations with "alarm in" (inverted on some); Z8
        activates it or not: deactivated, the input is ignored. Becoming active logs an event
        and latches EventStatusA's alarm bit.
        """
        module = self.config.primary_module
        if module not in ALARM_INPUT_MODULES:
            raise ValueError(f"primary module configuration {module} (Z3) has no alarm input")
        active = closed != ALARM_INPUT_MODULES[module] and self.config.codes.alarm_input_active
        if active and not self.alarm_input:
            self._record("alarm", "alarm input active", EventStatus.ALARM_INPUT)
        self.alarm_input = active
        return active

    def led(self) -> str:
        """The consumption LED (1000 imp/kWh): "flashing" while importing, else "on" or "off"
        as Z2 says."""
        if self.measured.active_mw > 0 and self.breaker.closed:
            return "flashing"
        return "on" if self.config.codes.led_lit_without_consumption else "off"

    def s0_output(self) -> S0Output:
        """The S0 pulse output now: 1000 imp/kWh of A+, pulses of Z8's length (30 or 80 ms)."""
        pulse_ms = self.config.codes.s0_pulse_ms
        wanted_hz = max(self.measured.active_mw, 0) / 3_600_000  # 1 Wh = 1 pulse
        limit_hz = 1000 / (2 * pulse_ms)  # a pause at least as long as the pulse (EN 62053-31)
        return S0Output(
            pulses=self.energy.wh("a_plus"),
            pulse_ms=pulse_ms,
            rate_hz=round(min(wanted_hz, limit_hz), 4),
            max_power_w=round(limit_hz * 3600),
        )

    def activate_firmware(self, firmware: str) -> None:
        """A verified firmware image was activated (image transfer): the software revision
        changes (1.1.0.2.0.255 and the readout's 0.2.0); everything else carries on."""
        if not firmware or not firmware.isascii() or not firmware.isprintable():
            raise ValueError("a printable ASCII software revision")
        self.identity = dataclasses.replace(self.identity, firmware=firmware)

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
        """Apply or remove a magnet (the standard event log gets its start and its end)."""
        ended = self.tamper.magnet and not active
        if self.tamper.set_magnet(active):
            self._record("tamper", "magnet", EventStatus.MAGNET)
            self._tamper_since["magnet"] = self.now_us
            self._log(EventCode.MAGNET_DETECTED)
        elif ended:
            since = self._tamper_since.pop("magnet", self.now_us)
            self._log(EventCode.MAGNET_GONE, duration_us=self.now_us - since)
        self._update_meter_status()

    def set_cover(self, opened: bool) -> None:
        """Open or close the terminal cover (logged when it opens and when it closes)."""
        closed = self.tamper.cover_open and not opened
        if self.tamper.set_cover(opened):
            self._record("tamper", "terminal cover opened", EventStatus.COVER_OPENED)
            self._tamper_since["cover"] = self.now_us
            self._log(EventCode.TERMINAL_COVER_OPENED)
        elif closed:
            since = self._tamper_since.pop("cover", self.now_us)
            self._log(EventCode.TERMINAL_COVER_CLOSED, duration_us=self.now_us - since)
        self._update_meter_status()

    def clear_event_status(self, mask: int = 0xFFFFFFFF) -> None:
        """Clear latched event bits (writing EventStatusB)."""
        self.event_status &= EventStatus(~mask & 0x3FF)
        self._log(EventCode.EVENT_STATUS_CLEARED)

    def set_time(self, local: datetime, *, dst: bool | None = None) -> None:
        """Set the RTC to naive local *local*; the log keeps the old and the new time."""
        before = self.clock.local(self.now_us)
        self.clock.set_local(self.now_us, local, dst=dst)
        self._clock_adjusted(before, f"set to {local.isoformat()}")

    def shift_time(self, seconds: float) -> None:
        """Adjust the RTC by *seconds*; the log keeps the old and the new time."""
        before = self.clock.local(self.now_us)
        self.clock.shift(self.now_us, seconds)
        self._clock_adjusted(before, f"shifted {seconds:+g} s")

    def _clock_adjusted(self, before: tuple[datetime, bool], detail: str) -> None:
        self.load_profile.flag(ProfileStatus.CLOCK_SET)
        self._record("clock_adjusted", detail, EventStatus.CLOCK_ADJUSTED)
        self._log(EventCode.CLOCK_ADJUSTED_OLD, at=before)
        self._log(EventCode.CLOCK_ADJUSTED_NEW)
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

    def configure_display(self, name: str, codes: tuple[str, ...]) -> None:
        """Remote display configuration: replace the auto, manual or battery list (16/30/8
        readings the meter has; the manual list keeps the legal readings)."""
        known = frozenset(self.readings()) | frozenset({"0.0.0"})
        self.display.configure(name, tuple(codes), known)

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
            # Module indication: which module communicates (the primary module when Z3 has
            # one); the radio network symbol on meters with radio (X11).
            "module": "primary" if self.config.primary_module else None,
            "radio": self.identity.type_number.radio,
            "text": self._text_field(),
        }
        return self.display.render(
            self.now_us,
            self.readings(),
            symbols,
            self.config.display_format,
            powered=measured.powered,
        )

    def _text_field(self) -> str | None:
        """The text field: additional text on the meter's function (the emulator's choice of
        texts: a warning before a cut-off, a cut-off, low credit)."""
        state = self.breaker.state if self.breaker.present else None
        if state is CouplingState.PRE_CUTOFF_WARNING:
            return "WARNING"
        if state is not None and not state.closed and state is not CouplingState.DISCONNECTED:
            return "CUT-OFF"
        if self.prepayment.enabled and self.prepayment.low_credit:
            return "CREDIT-LOW"
        return None

    def true_time(self) -> datetime:
        """The simulation's true (UTC) time."""
        return from_us(self.now_us)

    def local_at(self, true_us: int) -> datetime:
        """Meter local time at another true instant (naive)."""
        return naive_from_us(self.clock.local_us(self.clock.rtc_us(true_us)))
