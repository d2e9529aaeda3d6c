"""Energy-based prepayment ([DLMS] §3, 1.1.130.0.x): kWh credit counting down on A+.

- A14_Prepayment (1.1.130.0.0.255) is the remaining credit; it never goes below zero.
- Energy imported at zero credit (inside an exception window, or in the instant before the
  breaker opens) is counted in A14_PrepaymentCredit (1.1.130.0.1.255) and settled at the next
  top-up: new credit = top-up − energy used after zero.
- Below AlarmLimit (1.1.130.0.7.255) the meter flags low credit; if T_PrepaymentLowMax days
  pass without a top-up the breaker opens with state 9.
- At zero credit the breaker opens with state 7, unless inside the daily exception window
  (PrepaymentExceptionStart/End), in which case it opens when the window ends.

Prepayment has no tariffs ([TD] 4.8.13-14). Energy is kept in nanojoules like the registers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Final

from .clock import DAY, naive_to_us
from .config import PrepaymentConfig
from .energy import NJ_PER_WH

__all__ = ["Prepayment"]

NJ_PER_KWH: Final = 1000 * NJ_PER_WH


@dataclass(slots=True)
class Prepayment:
    """The prepayment account of one meter."""

    enabled: bool
    credit_nj: int
    alarm_limit_nj: int
    exception_start: time | None = None
    exception_end: time | None = None
    low_max_days: int = 0
    used_after_zero_nj: int = 0
    last_top_up_kwh: float = 0.0
    low_since_us: int | None = None  # RTC time the credit fell below the alarm limit
    exhausted_reported: bool = False

    @classmethod
    def from_config(cls, config: PrepaymentConfig) -> Prepayment:
        """The account as configured."""
        return cls(
            enabled=config.enabled,
            credit_nj=round(config.credit_kwh * NJ_PER_KWH),
            alarm_limit_nj=round(config.alarm_limit_kwh * NJ_PER_KWH),
            exception_start=config.exception_start,
            exception_end=config.exception_end,
            low_max_days=config.low_max_days,
        )

    @property
    def credit_kwh(self) -> float:
        """Remaining credit, kWh."""
        return self.credit_nj / NJ_PER_KWH

    @property
    def low_credit(self) -> bool:
        """Below the alarm limit."""
        return self.enabled and self.credit_nj < self.alarm_limit_nj

    def in_exception(self, local: datetime) -> bool:
        """Whether *local* lies in the daily exception window."""
        start, end = self.exception_start, self.exception_end
        if start is None or end is None:
            return False
        now = local.time()
        return start <= now < end if start <= end else (now >= start or now < end)

    def exception_minutes_left(self, local: datetime) -> int:
        """PrepaymentExceptionTimeRemaining: minutes until the window ends (0 outside)."""
        edge = self.next_window_edge_local(local)
        if not self.in_exception(local) or edge is None:
            return 0
        return (edge - naive_to_us(local)) // 60_000_000

    def next_window_edge_local(self, local: datetime) -> int | None:
        """Local microseconds of the next start or end of the exception window."""
        if not self.enabled or self.exception_start is None or self.exception_end is None:
            return None
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        edges = sorted(
            midnight + timedelta(days=d, hours=t.hour, minutes=t.minute)
            for d in (0, 1)
            for t in (self.exception_start, self.exception_end)
        )
        return next(naive_to_us(e) for e in edges if e > local)

    def time_to_zero_us(self, import_mw: int) -> int | None:
        """Microseconds until the credit runs out at *import_mw* (None if it does not)."""
        if not self.enabled or import_mw <= 0 or self.credit_nj <= 0:
            return None
        return -(-self.credit_nj // import_mw)

    def time_to_alarm_us(self, import_mw: int) -> int | None:
        """Microseconds until the credit falls below the alarm limit."""
        above = self.credit_nj - self.alarm_limit_nj
        if not self.enabled or import_mw <= 0 or above < 0:
            return None
        return above // import_mw + 1

    def lowmax_deadline(self) -> int | None:
        """RTC microseconds at which LowMax expires (None when not counting)."""
        if not self.enabled or not self.low_max_days or self.low_since_us is None:
            return None
        return self.low_since_us + self.low_max_days * DAY

    def consume(self, nj: int, rtc_us: int) -> bool:
        """Take *nj* of imported energy; True when this crossed below the alarm limit."""
        if not self.enabled or nj <= 0:
            return False
        was_low = self.credit_nj < self.alarm_limit_nj
        taken = min(nj, self.credit_nj)
        self.credit_nj -= taken
        self.used_after_zero_nj += nj - taken
        if not was_low and self.credit_nj < self.alarm_limit_nj:
            self.low_since_us = rtc_us
            return True
        return False

    def top_up(self, kwh: float) -> None:
        """Add credit (after settling energy used after zero)."""
        if not self.enabled:
            raise ValueError("prepayment is not enabled on this meter")
        if not 0 < kwh <= 99_999:
            raise ValueError("a top-up is 0 < kWh <= 99999")
        added = round(kwh * NJ_PER_KWH)
        settled = min(added, self.used_after_zero_nj)
        self.used_after_zero_nj -= settled
        self.credit_nj += added - settled
        self.last_top_up_kwh = kwh
        self.exhausted_reported = False
        if self.credit_nj >= self.alarm_limit_nj:
            self.low_since_us = None

    def set_alarm_limit(self, kwh: float) -> None:
        """Write AlarmLimit (1.1.130.0.7.255, u16 kWh)."""
        if not 0 <= kwh <= 65_535:
            raise ValueError("the alarm limit is 0-65535 kWh")
        self.alarm_limit_nj = round(kwh * NJ_PER_KWH)

    def to_state(self) -> dict[str, Any]:
        """What survives a restart."""
        return {
            "credit_nj": self.credit_nj,
            "alarm_limit_nj": self.alarm_limit_nj,
            "used_after_zero_nj": self.used_after_zero_nj,
            "last_top_up_kwh": self.last_top_up_kwh,
            "low_since_us": self.low_since_us,
            "exhausted_reported": self.exhausted_reported,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`to_state`."""
        self.credit_nj = int(state["credit_nj"])
        self.alarm_limit_nj = int(state["alarm_limit_nj"])
        self.used_after_zero_nj = int(state["used_after_zero_nj"])
        self.last_top_up_kwh = float(state["last_top_up_kwh"])
        self.low_since_us = state["low_since_us"]
        self.exhausted_reported = bool(state["exhausted_reported"])
