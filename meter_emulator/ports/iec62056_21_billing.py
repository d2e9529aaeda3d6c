"""Billing-period values on the IEC 62056-21 port: ``C.D.E*NN`` from the billing logger.

IEC 62056-61 (OBIS) gives a stored billing-period value the F group: ``1.8.0*12`` is A+ at the
end of the billing period whose counter (``0.1.0``) read 12, ``0.1.2*12`` the time that period
ended. The meter keeps every value of the data sheet's "Permanent memory" table at each
debiting stop (:mod:`meter_emulator.model.billing`); this module shows them as the display
would: energies at the LCD's register format, maxima in kW/kvar/kVA with the time they were
reached, counters as integers. NN is the debiting-stop counter modulo 100, two digits.

Emulator's choices (the Kamstrup 1107 document lists no ``*NN`` codes): R1 answers every stored
period (up to the logger's 36); a readout appends the last period's values of the registers its
list names, each right after the list, followed by ``0.1.2*NN``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Final

from ..model.billing import BillingRecord
from ..model.display import format_value as lcd_text
from .iec62056_21_meter import MeterTime, RegisterReading

__all__ = ["BILLING_TIME", "billing_readings", "last_period_lines", "period_suffix"]

#: IEC 62056-61: the time stamp of a billing period.
BILLING_TIME: Final = "0.1.2"
#: Register (display code) → (stored value's key, unit) for energies.
_ENERGIES: Final = {
    "1.8.0": ("a_plus", "kWh"),
    **{f"1.8.{t}": (f"a_plus_t{t}", "kWh") for t in range(1, 5)},
    "2.8.0": ("a_minus", "kWh"),
    "3.8.0": ("r_plus", "kvarh"),
    **{f"3.8.{t}": (f"r_plus_t{t}", "kvarh") for t in range(1, 5)},
    "4.8.0": ("r_minus", "kvarh"),
    "9.8.0": ("e_plus", "kVAh"),
    "10.8.0": ("e_minus", "kVAh"),
}
#: Maximum demand with its time: register → (peak name, unit).
_MAXIMA: Final = {
    "1.6.0": ("p_plus", "kW"),
    "1.6.1": ("p_plus_t1", "kW"),
    "1.6.2": ("p_plus_t2", "kW"),
    "3.6.0": ("q_plus", "kvar"),
    "3.6.1": ("q_plus_t1", "kvar"),
    "3.6.2": ("q_plus_t2", "kvar"),
    "9.6.0": ("s_plus", "kVA"),
    "10.6.0": ("s_minus", "kVA"),
}
_ACCUMULATED: Final = {
    "1.2.0": ("p_plus", "kW"),
    "1.2.1": ("p_plus_t1", "kW"),
    "1.2.2": ("p_plus_t2", "kW"),
    "3.2.0": ("q_plus", "kvar"),
}
#: Counters: register → stored key (96.8.0 is the hour counter, as in the readout lists).
_COUNTERS: Final = {
    "0.1.0": "debiting_stop_counter",
    "96.8.0": "hour_counter",
    "1.36.0": "power_threshold_counter",
    "82.8.1": "pulse_input",
}


def period_suffix(record: BillingRecord) -> str:
    """``*NN``: the period's debiting-stop counter, two digits."""
    return f"*{int(record.values['debiting_stop_counter']) % 100:02d}"


def _kilo(watts: int) -> Decimal:
    return Decimal(watts) / 1000


def billing_readings(
    record: BillingRecord, display_format: tuple[int, int]
) -> dict[str, RegisterReading]:
    """Every stored value of one period by ``C.D.E*NN`` (only the registers the meter kept)."""
    values = record.values
    suffix = period_suffix(record)
    dst = bool(record.clock_status & 0x80)
    out: dict[str, RegisterReading] = {}

    def put(
        code: str,
        value: Decimal | int | str | MeterTime,
        unit: str | None = None,
        timestamp: MeterTime | None = None,
    ) -> None:
        out[code + suffix] = RegisterReading(code + suffix, value, unit, timestamp)

    for code, (key, unit) in _ENERGIES.items():
        if f"{key}_wh" in values:
            put(code, lcd_text(int(values[f"{key}_wh"]) / 1000, unit, display_format), unit)
    for code, (key, unit) in _MAXIMA.items():
        if f"{key}_max_w" not in values:
            continue
        moment = values.get(f"{key}_max_time")
        when = (
            None
            if moment is None
            else MeterTime(
                datetime.fromisoformat(moment),
                summer_time=bool(values.get(f"{key}_max_dst", dst)),
            )
        )
        put(code, _kilo(int(values[f"{key}_max_w"])), unit, timestamp=when)
    for code, (key, unit) in _ACCUMULATED.items():
        if f"{key}_max_accumulated_w" in values:
            put(code, _kilo(int(values[f"{key}_max_accumulated_w"])), unit)
    for code, key in _COUNTERS.items():
        if key in values:
            put(code, int(values[key]))
    put(BILLING_TIME, MeterTime(record.local, summer_time=dst))
    return out


def last_period_lines(
    records: Sequence[BillingRecord], names: Sequence[str], display_format: tuple[int, int]
) -> list[RegisterReading]:
    """The readout's appendix: the last period's value of each listed register, then its time."""
    if not records:
        return []
    record = records[-1]
    table = billing_readings(record, display_format)
    suffix = period_suffix(record)
    lines = [table[name + suffix] for name in names if name + suffix in table]
    return [*lines, table[BILLING_TIME + suffix]]
