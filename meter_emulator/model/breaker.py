"""Smart disconnect: the CouplingState machine of [DLMS] §3 (1.1.128.0.0.255).

Commands written to CouplingState: 1 disconnect (from anywhere), 2 release for reconnection
(only from 1, → 8), 3 reconnect (only from 8, → 4). The push button opens a connected breaker
(→ 11) and closes one that is released (8) or was opened by the button (11); when
``button_needs_release`` is off it also closes one opened by command (1).

Automatic cut-offs happen only for the configured cut-off bases (1.1.128.0.11.255): prepayment
(→ 7; LowMax expiry → 9), current/power threshold (→ 5 warning, → 6 cut-off), the module's
load-control input (→ 6), neutral fault (→ 12), overvoltage (→ 14). With the "log_only" basis a
threshold breach is logged (→ 13) and the breaker stays closed. When the cause clears,
automatic reconnect (1.1.128.0.10.255 = 1) closes the breaker; manual reconnect leaves it
released (8) for the button or command 3.

Interpretation where the public documents are silent (noted so a reviewer can challenge it):
a prepayment top-up is the release of a prepayment cut-off (7/9 → 8, or → 4 with automatic
reconnect); basis b5 "prepayment no restriction" cuts off at zero credit even inside the
exception window.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum, unique
from typing import Any, Final

from .config import BreakerConfig

__all__ = ["Breaker", "BreakerRefused", "CouplingCommand", "CouplingState", "CutoffRecord"]

#: Cut-off event logger 1.1.99.98.5.255 holds 200 entries ([TD] 4.8.12).
CUTOFF_LOG_DEPTH: Final = 200


@unique
class CouplingState(IntEnum):
    """CouplingState as read ([DLMS] §3)."""

    DISCONNECTED = 1
    CONNECTED = 4
    PRE_CUTOFF_WARNING = 5
    CUTOFF = 6
    CUTOFF_PREPAYMENT = 7
    AWAITING_RECONNECT = 8
    PREPAYMENT_LOWMAX_EXPIRED = 9
    PUSH_BUTTON = 11
    NEUTRAL_FAULT = 12
    LOG_ONLY = 13
    OVERVOLTAGE = 14

    @property
    def closed(self) -> bool:
        """Whether current flows in this state."""
        return self in _CLOSED


_CLOSED: Final = frozenset(
    {CouplingState.CONNECTED, CouplingState.PRE_CUTOFF_WARNING, CouplingState.LOG_ONLY}
)


@unique
class CouplingCommand(IntEnum):
    """Values written to CouplingState."""

    DISCONNECT = 1
    RELEASE = 2
    RECONNECT = 3


class BreakerRefused(ValueError):
    """A breaker command the current state does not allow; nothing changed."""


@dataclass(frozen=True, slots=True)
class CutoffRecord:
    """One entry of the cut-off event log."""

    at_us: int  # meter RTC (UTC microseconds)
    before: CouplingState
    after: CouplingState
    reason: str


@dataclass(slots=True)
class Breaker:
    """The breaker of one meter; *present* False for a meter without one (X10 = 0)."""

    config: BreakerConfig
    present: bool = True
    state: CouplingState = CouplingState.CONNECTED
    log: deque[CutoffRecord] = field(default_factory=lambda: deque(maxlen=CUTOFF_LOG_DEPTH))
    deadline_us: int | None = None  # a timed transition (warning → cut-off → reconnect)
    opened_count: int = 0
    changes: int = 0  # transitions ever (the log keeps only the last 200)

    def __post_init__(self) -> None:
        if self.present and not self.config.initially_connected:
            self.state = CouplingState.DISCONNECTED

    @property
    def closed(self) -> bool:
        """Whether current can flow (always, without a breaker)."""
        return not self.present or self.state.closed

    def watches_supply(self) -> bool:
        """Whether :meth:`check_supply` can act at all: a neutral-fault, overvoltage or power
        threshold basis is configured. Asked first so the common meter skips the sums."""
        config = self.config
        bases = config.cutoff_bases
        return self.present and (
            "neutral_fault" in bases
            or "overvoltage" in bases
            or (
                bool(config.power_threshold_w) and ("current_power" in bases or "log_only" in bases)
            )
        )

    def _has(self, basis: str) -> bool:
        return self.present and basis in self.config.cutoff_bases

    def _move(self, now_us: int, state: CouplingState, reason: str) -> None:
        if state is self.state:
            return
        if self.state.closed and not state.closed:
            self.opened_count += 1
        self.log.append(CutoffRecord(now_us, self.state, state, reason))
        self.changes += 1
        self.state = state
        self.deadline_us = None

    def _cleared(self, now_us: int, reason: str) -> None:
        after = (
            CouplingState.CONNECTED
            if self.config.automatic_reconnect
            else CouplingState.AWAITING_RECONNECT
        )
        self._move(now_us, after, reason)

    # --- commands -------------------------------------------------------------------------

    def write(self, now_us: int, command: int) -> CouplingState:
        """A value written to CouplingState; raises BreakerRefused when not allowed."""
        if not self.present:
            raise BreakerRefused("this meter has no breaker")
        try:
            cmd = CouplingCommand(command)
        except ValueError:
            raise BreakerRefused(
                "CouplingState takes 1 (disconnect), 2 (release), 3 (reconnect)"
            ) from None
        if cmd is CouplingCommand.DISCONNECT:
            self._move(now_us, CouplingState.DISCONNECTED, "command")
        elif cmd is CouplingCommand.RELEASE:
            if self.state is not CouplingState.DISCONNECTED:
                raise BreakerRefused(f"release only from state 1, not {self.state.value}")
            self._move(now_us, CouplingState.AWAITING_RECONNECT, "release command")
        else:
            if self.state is not CouplingState.AWAITING_RECONNECT:
                raise BreakerRefused(f"reconnect only from state 8, not {self.state.value}")
            self._move(now_us, CouplingState.CONNECTED, "reconnect command")
        return self.state

    def press_button(self, now_us: int) -> CouplingState:
        """The push button held down (6 s): toggles where the state allows it."""
        if not self.present:
            raise BreakerRefused("this meter has no breaker")
        if self.state.closed:
            self._move(now_us, CouplingState.PUSH_BUTTON, "push button")
        elif self.state in (CouplingState.AWAITING_RECONNECT, CouplingState.PUSH_BUTTON) or (
            self.state is CouplingState.DISCONNECTED and not self.config.button_needs_release
        ):
            self._move(now_us, CouplingState.CONNECTED, "push button")
        else:
            raise BreakerRefused(f"the push button cannot reconnect from state {self.state.value}")
        return self.state

    # --- automatic cut-offs ---------------------------------------------------------------

    @property
    def prepayment_without_restriction(self) -> bool:
        """Cut-off basis b5: a prepayment cut-off ignores the exception window."""
        return self._has("prepayment_no_restriction")

    def prepayment_exhausted(self, now_us: int, *, low_max: bool = False) -> None:
        """Credit reached zero (or LowMax expired) outside an exception window."""
        if not (self._has("prepayment") or self._has("prepayment_no_restriction")):
            return
        if not self.state.closed:
            return
        target = (
            CouplingState.PREPAYMENT_LOWMAX_EXPIRED if low_max else CouplingState.CUTOFF_PREPAYMENT
        )
        self._move(
            now_us,
            target,
            "prepayment LowMax expired" if low_max else "prepayment credit exhausted",
        )

    def load_control(self, now_us: int, *, cut: bool) -> None:
        """The primary module's load-control input (basis b0: load-controlled)."""
        if not self._has("load_controlled"):
            return
        if cut and self.state.closed:
            self._move(now_us, CouplingState.CUTOFF, "load control")
        elif not cut and self.state is CouplingState.CUTOFF and self.deadline_us is None:
            self._cleared(now_us, "load control released")

    def prepayment_topped_up(self, now_us: int) -> None:
        """New credit releases a prepayment cut-off."""
        if self.state in (CouplingState.CUTOFF_PREPAYMENT, CouplingState.PREPAYMENT_LOWMAX_EXPIRED):
            self._cleared(now_us, "prepayment top-up")

    def check_supply(
        self, now_us: int, *, power_w: float, max_voltage_v: float, neutral_fault: bool
    ) -> None:
        """Threshold, neutral-fault and overvoltage bases, evaluated when the supply changes."""
        if not self.present:
            return
        state = self.state
        if self._has("neutral_fault"):
            if neutral_fault and state.closed:
                self._move(now_us, CouplingState.NEUTRAL_FAULT, "neutral fault")
                return
            if not neutral_fault and state is CouplingState.NEUTRAL_FAULT:
                self._cleared(now_us, "neutral restored")
        if self._has("overvoltage"):
            if max_voltage_v > self.config.overvoltage_disconnect_v and state.closed:
                self._move(now_us, CouplingState.OVERVOLTAGE, f"overvoltage {max_voltage_v:.0f} V")
                return
            if (
                state is CouplingState.OVERVOLTAGE
                and max_voltage_v < self.config.overvoltage_reconnect_v
            ):
                self._cleared(now_us, "voltage normal")
        threshold = self.config.power_threshold_w
        if not threshold or not (self._has("current_power") or self._has("log_only")):
            return
        over = power_w > threshold
        if state is CouplingState.CONNECTED and over:
            if self._has("current_power"):
                self._move(
                    now_us,
                    CouplingState.PRE_CUTOFF_WARNING,
                    f"power {power_w:.0f} W over threshold",
                )
                self.deadline_us = now_us + self.config.warning_s * 1_000_000
            else:
                self._move(
                    now_us,
                    CouplingState.LOG_ONLY,
                    f"power {power_w:.0f} W over threshold (log only)",
                )
        elif state in (CouplingState.PRE_CUTOFF_WARNING, CouplingState.LOG_ONLY) and not over:
            self._move(now_us, CouplingState.CONNECTED, "power below threshold")

    def on_deadline(self, now_us: int, *, power_w: float) -> None:
        """A timed transition is due (called when *now_us* reaches :attr:`deadline_us`)."""
        self.deadline_us = None
        if self.state is CouplingState.PRE_CUTOFF_WARNING:
            if power_w > self.config.power_threshold_w:
                self._move(now_us, CouplingState.CUTOFF, "power threshold cut-off")
                self.deadline_us = now_us + self.config.reconnect_delay_s * 1_000_000
            else:
                self._move(now_us, CouplingState.CONNECTED, "power below threshold")
        elif self.state is CouplingState.CUTOFF:
            self._cleared(now_us, "threshold cut-off time over")

    # --- persistence ----------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """What survives a restart (the breaker is bistable)."""
        return {
            "state": self.state.value,
            "deadline_us": self.deadline_us,
            "opened_count": self.opened_count,
            "changes": self.changes,
            "log": [[r.at_us, r.before.value, r.after.value, r.reason] for r in self.log],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`to_state`."""
        self.state = CouplingState(state["state"])
        self.deadline_us = state["deadline_us"]
        self.opened_count = int(state["opened_count"])
        self.changes = int(state["changes"])
        self.log.clear()
        for at, before, after, reason in state["log"]:
            self.log.append(CutoffRecord(at, CouplingState(before), CouplingState(after), reason))
