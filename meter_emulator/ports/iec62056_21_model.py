"""The meter model behind the IEC 62056-21 port: :class:`ModelOpticalMeter` is an
:class:`~.iec62056_21_meter.OpticalMeter` over :class:`~meter_emulator.model.Meter`.

Every call reads the model at that instant, so a 1107 readout, a CCC push and a DLMS GET made at
the same simulated moment show the same registers (docs/emulator.md), and a W1 on
ActualTariff is the model's :meth:`~meter_emulator.model.Meter.force_tariff`, seen at once by the
other ports. Choices where the model and the 1107 display differ:

- **Identification.** The model's type number has 18 characters (``6841131BN243101040``), the
  identification at most 16, and all of Kamstrup's examples send 15 after ``KAM5 ``
  (``6841138BN143002``): the type number without its country code X14–X16. We send the same 15,
  so ``/KAM5 `` + type fills the 16 characters exactly.
- **Meter number.** The model's readings call it ``0.0.0``; the 1107 display shows it as ``0.0.1``
  ([1107] §7.4), as an 8-digit number. ``96.8.0`` (time of operation, in both readout lists) is
  the model's hour counter; ``0.9.1``/``0.9.2`` are ``hhmmss``/``YYMMDD``.
- **Values.** Energies are sent as the LCD shows them, at the model's display format (Z1: 7.0,
  6.1, 7.2 or 6.3 digits, truncated, with roll-over), because the readout "follows the LCD
  format" ([1107] §4). Other model values are floats; they cross as ``Decimal(str(x))``, the
  shortest decimal that is that float, so ``0.1`` is ``0.1`` and not a binary tail.
- **Maximum demand** (``1.6.x``, ``3.6.x``, ``9.6.0``, ``10.6.0``) comes with the time it was
  reached; before the first integration period there is no maximum, and the value is sent as
  zero without a time.
- **Registers the model does not keep** (``0.128.1``, ``2.6.x``, ``2.2.0``, ``4.6.0``, ``4.2.0``,
  and the unpublished ``96.5.1`` and ``0.4.2``) are absent: a readout leaves them out and R1
  answers ``(ER02)``. W1 can write ActualTariff only (``129.0.0``, 0 clears a forced tariff); the
  clock (``1.0.0``) is set by W5 or W1 through :meth:`ModelOpticalMeter.set_clock`.
- **Logger** ``99.1.0`` is the model's load profile: the capture time with its summer-time flag,
  the entry's status byte (``96.56.2``, the emulator's bits of
  :class:`~meter_emulator.model.logs.ProfileStatus`), then one column per channel in kWh or
  kvarh at the display format (the header example of [1107] §3 shows the same shape).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from ..model.display import format_value as lcd_text
from ..model.logs import ProfileStatus
from ..model.meter import Meter
from .iec62056_21_billing import billing_readings, last_period_lines
from .iec62056_21_meter import (
    CLOCK,
    USER_DATA_1_REGISTERS,
    USER_DATA_2_REGISTERS,
    LoggerColumn,
    LoggerReadout,
    MeterTime,
    RegisterReading,
    RegisterValue,
    UserData,
)

__all__ = [
    "ACTUAL_TARIFF",
    "LOAD_PROFILE",
    "METER_NUMBER",
    "PROFILE_COLUMNS",
    "ModelOpticalMeter",
    "identification",
]

METER_NUMBER: Final = "0.0.1"
ACTUAL_TARIFF: Final = "129.0.0"
LOAD_PROFILE: Final = "99.1.0"
#: The load profile's status column ([1107] §3 header example: ``(96.56.2)()``).
PROFILE_STATUS: Final = "96.56.2"
#: Identification length Kamstrup sends: the type number without its 3-digit country code.
IDENTIFICATION_LENGTH: Final = 15
#: Model energy channel → (1107 register, unit) for the logger header.
PROFILE_COLUMNS: Final = {
    "a_plus": ("1.8.0", "kWh"),
    "a_minus": ("2.8.0", "kWh"),
    "r_plus": ("3.8.0", "kvarh"),
    "r_minus": ("4.8.0", "kvarh"),
    "r1": ("5.8.0", "kvarh"),
    "r2": ("6.8.0", "kvarh"),
    "r3": ("7.8.0", "kvarh"),
    "r4": ("8.8.0", "kvarh"),
}
#: Maximum-demand registers: C.D prefix → (model peak name prefix, unit).
_DEMANDS: Final = {"1.6": ("p_plus", "kW"), "3.6": ("q_plus", "kvar")}
_SINGLE_DEMANDS: Final = {"9.6.0": ("s_plus", "kVA"), "10.6.0": ("s_minus", "kVA")}
#: Accumulated maxima (the sum over billing periods): register → model name, unit.
_ACCUMULATED: Final = {
    "1.2.0": ("p_plus", "kW"),
    "1.2.1": ("p_plus_t1", "kW"),
    "1.2.2": ("p_plus_t2", "kW"),
    "3.2.0": ("q_plus", "kvar"),
}
_ENERGY_UNITS: Final = frozenset({"kWh", "kvarh", "kVAh"})
#: Readings the 1107 display names differently, or not at all.
_RENAMED: Final = {"0.0.0": METER_NUMBER}


def identification(type_code: str) -> str:
    """The identification after ``/KAM5 ``: the type number without its country code."""
    return type_code[:IDENTIFICATION_LENGTH]


def _number(value: Any) -> RegisterValue:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, int | Decimal):
        return value
    return _text(str(value))


def _text(text: str) -> str:
    """Text a data set can carry: ASCII, at most 32 characters, none of ``( ) * / !``
    ([IEC 62056-21] §6.5); anything else in a configured string becomes ``-``."""
    cleaned = "".join(
        c if c.isascii() and c.isprintable() and c not in "()*/!" else "-" for c in text
    )
    return cleaned[:32]


def _kilo(watts: int) -> Decimal:
    return Decimal(watts) / 1000


class ModelOpticalMeter:
    """The model as the 1107 port sees it. *user_data_2* is the port's configurable list
    (object 131.0.3's "User data 2", up to 40 registers; the [1107] default when omitted)."""

    def __init__(self, meter: Meter, *, user_data_2: Sequence[str] = USER_DATA_2_REGISTERS) -> None:
        if len(user_data_2) > 40:
            raise ValueError("User data 2 holds at most 40 registers ([1107] §4)")
        self.meter = meter
        self.user_data_2 = tuple(user_data_2)

    # --- OpticalMeter ----------------------------------------------------------------------

    @property
    def meter_type(self) -> str:
        """The type number's first 15 characters (see the module docstring)."""
        return identification(self.meter.identity.type_number.code)

    @property
    def writable_registers(self) -> frozenset[str]:
        """ActualTariff: the one W1 register the model keeps."""
        return frozenset({ACTUAL_TARIFF})

    def readout(self, which: UserData) -> Sequence[RegisterReading]:
        """The registers of the list the model has, in list order, all read at this instant."""
        names = USER_DATA_1_REGISTERS if which is UserData.USER_DATA_1 else self.user_data_2
        table = self.registers()
        current = [table[name] for name in names if name in table]
        meter = self.meter
        stored = last_period_lines(meter.debiting.records, names, meter.config.display_format)
        return [*current, *stored]  # the last billing period's C.D.E*NN (iec62056_21_billing)

    def read_register(self, obis: str) -> RegisterReading | None:
        """One register by its ``C.D.E`` display code."""
        return self.registers().get(obis)

    def write_register(self, obis: str, value: str) -> None:
        """W1 ``129.0.0(n)``: force tariff *n* (1–4), or 0 to return to the calendar."""
        if obis != ACTUAL_TARIFF:
            raise ValueError(f"{obis} is not writable over IEC 62056-21")
        if not value.isdigit():
            raise ValueError(f"ActualTariff takes a whole number, not {value!r}")
        self.meter.force_tariff(int(value))  # ValueError outside 0-4

    def clock(self) -> MeterTime:
        """The RTC: local time, its summer-time flag, and whether it has been set."""
        return MeterTime(
            self.meter.local(), summer_time=self.meter.dst(), valid=not self.meter.clock.invalid
        )

    def set_clock(self, time: MeterTime) -> None:
        """W5: the N flag settles the repeated autumn hour; a local time that the spring change
        skips raises :class:`ValueError` (the port answers ``(ER04)``)."""
        self.meter.set_time(time.local, dst=time.summer_time)

    def logger(
        self, obis: str, start: datetime | None, end: datetime | None
    ) -> LoggerReadout | None:
        """The load profile between *start* and *end* (inclusive, meter local time)."""
        if obis != LOAD_PROFILE:
            return None
        profile = self.meter.load_profile
        channels = [c for c in profile.channels if c in PROFILE_COLUMNS]
        columns = (
            LoggerColumn(CLOCK),
            LoggerColumn(PROFILE_STATUS),
            *(LoggerColumn(*PROFILE_COLUMNS[c]) for c in channels),
        )
        index = {name: i for i, name in enumerate(profile.channels)}
        display_format = self.meter.config.display_format
        rows: list[tuple[RegisterValue, ...]] = []
        for entry in profile.entries:
            if (start is not None and entry.local < start) or (
                end is not None and entry.local > end
            ):
                continue
            cells: list[RegisterValue] = [
                MeterTime(entry.local, summer_time=ProfileStatus.DST in entry.status),
                int(entry.status),
            ]
            for channel in channels:
                unit = PROFILE_COLUMNS[channel][1]
                cells.append(lcd_text(entry.values[index[channel]] / 1000, unit, display_format))
            rows.append(tuple(cells))
        return LoggerReadout(columns, tuple(rows))

    # --- the register table ----------------------------------------------------------------

    def registers(self) -> dict[str, RegisterReading]:
        """Every register the 1107 display can show, by ``C.D.E``, read at this instant."""
        meter = self.meter
        display_format = meter.config.display_format
        out: dict[str, RegisterReading] = {}
        for code, (value, unit_text) in meter.readings().items():
            code = _RENAMED.get(code, code)
            unit = unit_text or None
            if unit in _ENERGY_UNITS and code.split(".")[1] == "8":
                out[code] = RegisterReading(code, lcd_text(value, unit, display_format), unit)
            elif unit in _ENERGY_UNITS:  # prepayment kWh: kept at the model's 3 decimals
                out[code] = RegisterReading(code, str(_number(value)), unit)
            else:
                out[code] = RegisterReading(code, _number(value), unit)
        local = meter.local()
        out[METER_NUMBER] = RegisterReading(METER_NUMBER, f"{meter.identity.meter_number:08d}")
        out["0.9.1"] = RegisterReading("0.9.1", local.strftime("%H%M%S"))
        out["0.9.2"] = RegisterReading("0.9.2", local.strftime("%y%m%d"))
        out["96.8.0"] = RegisterReading("96.8.0", meter.debiting.hour_counter)
        out[CLOCK] = RegisterReading(CLOCK, self.clock())
        out["1.36.0"] = RegisterReading("1.36.0", meter.peaks.threshold_count)
        for record in meter.debiting.records:
            out.update(billing_readings(record, display_format))
        peaks = meter.peaks
        for prefix, (name, unit) in _DEMANDS.items():
            for tariff in range(5):
                key = name if tariff == 0 else f"{name}_t{tariff}"
                out[f"{prefix}.{tariff}"] = self._peak(f"{prefix}.{tariff}", key, unit)
        for code, (key, unit) in _SINGLE_DEMANDS.items():
            out[code] = self._peak(code, key, unit)
        for code, (key, unit) in _ACCUMULATED.items():
            out[code] = RegisterReading(code, _kilo(peaks.accumulated.get(key, 0)), unit)
        return out

    def _peak(self, code: str, name: str, unit: str) -> RegisterReading:
        peak = self.meter.peaks.maxima.get(name)
        if peak is None:
            return RegisterReading(code, Decimal("0.000"), unit)
        when = MeterTime(peak.local, summer_time=peak.dst)
        return RegisterReading(code, _kilo(peak.value), unit, when)
