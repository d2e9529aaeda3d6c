"""What the IEC 62056-21 port needs from the meter, and how it shows it: the LCD format.

:class:`OpticalMeter` is the provider interface the optical port reads and writes through. The
meter model (``meter_emulator/model/``) will implement it; :class:`MemoryMeter` is a plain
in-memory stand-in for tests and demos. Values cross the interface as typed numbers (``Decimal``
kWh, not strings), and this module formats them the way the display does, because Kamstrup's
1107 readout "follows the LCD format" ([1107] §7.4).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum, unique
from typing import Final, Protocol, TypeAlias

from ccc_gateway.protocol.iec62056_21 import DataSet, DataValue

__all__ = [
    "CLOCK",
    "USER_DATA_1_REGISTERS",
    "USER_DATA_2_REGISTERS",
    "LoggerColumn",
    "LoggerReadout",
    "MemoryMeter",
    "MeterTime",
    "OpticalMeter",
    "RegisterReading",
    "RegisterValue",
    "UserData",
    "data_set",
    "format_time",
    "format_value",
    "logger_blocks",
    "parse_digits",
    "parse_time",
]

#: The date-time register: read with R5, set with W5 (or W1) ([1107] §3).
CLOCK: Final = "1.0.0"


@dataclass(frozen=True, slots=True)
class MeterTime:
    """The meter's local time and the flags 1107 sends with it (``NV`` of ``NVYYMMDDhhmmss``)."""

    local: datetime  #: naive local time, as the display shows it
    summer_time: bool = False  #: N: 0 normal time, 1 summer time
    valid: bool = True  #: V: 0 the clock is not set, 1 it is


RegisterValue: TypeAlias = Decimal | int | str | MeterTime


@dataclass(frozen=True, slots=True)
class RegisterReading:
    """One register as the display names it: ``C.D.E`` (A and B suppressed), value and unit."""

    obis: str
    value: RegisterValue
    unit: str | None = None
    #: When the value was reached, for maximum demand (``1.6.0(…*kW)(timestamp)``).
    timestamp: MeterTime | None = None


@dataclass(frozen=True, slots=True)
class LoggerColumn:
    """One channel of a logger: its register and unit (``(1.8.0)(kWh)`` in the R6 header)."""

    obis: str
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class LoggerReadout:
    """A logger's channels and the rows between the requested times, oldest first."""

    columns: tuple[LoggerColumn, ...]
    rows: tuple[tuple[RegisterValue, ...], ...]


@unique
class UserData(Enum):
    """The two readout lists ([1107] §4): 1 is fixed, 2 configurable (the default on every port)."""

    USER_DATA_1 = 1
    USER_DATA_2 = 2


class OpticalMeter(Protocol):
    """The meter as the IEC 62056-21 port sees it. Every call reads or changes the shared model.

    Implementations raise :class:`ValueError` for a value they refuse to store; the port turns
    that into an ``(ER…)`` reply. Register names are ``C.D.E`` strings as the display shows them.
    """

    @property
    def meter_type(self) -> str:
        """The identification after ``/KAM5 ``: the meter type, at most 16 characters."""
        ...

    @property
    def writable_registers(self) -> frozenset[str]:
        """What W1 may write ([1107]: 129.0.0 ActualTariff, 96.5.1, 0.4.2; 1.0.0 is the clock)."""
        ...

    def readout(self, which: UserData) -> Sequence[RegisterReading]:
        """The registers of a readout list, in display order."""
        ...

    def read_register(self, obis: str) -> RegisterReading | None:
        """One register for R1; ``None`` if the meter has no such register."""
        ...

    def write_register(self, obis: str, value: str) -> None:
        """W1 on a writable register; *value* is the text between the brackets."""
        ...

    def clock(self) -> MeterTime:
        """The meter's clock now."""
        ...

    def set_clock(self, time: MeterTime) -> None:
        """W5: set the clock."""
        ...

    def logger(
        self, obis: str, start: datetime | None, end: datetime | None
    ) -> LoggerReadout | None:
        """Rows of logger *obis* (``99.1.0``) from *start* to *end* (open when ``None``)."""
        ...


# --- the LCD format ----------------------------------------------------------------------------

#: Energy registers show 7 integer digits and 2 decimals, demand 5 and 3 ([1107]).
_ENERGY_UNITS: Final = frozenset({"kWh", "kvarh", "kVAh"})
_DEMAND_UNITS: Final = frozenset({"kW", "kvar", "kVA"})


def format_time(time: MeterTime) -> str:
    """``NVYYMMDDhhmmss``: ``01131212114656`` is 2013-12-12 11:46:56, normal time, valid."""
    return f"{int(time.summer_time)}{int(time.valid)}{time.local:%y%m%d%H%M%S}"


_TIME: Final = re.compile(r"([01])([01])?(\d{12})")


def parse_digits(digits: str) -> datetime:
    """``YYMMDDhhmm[ss]`` in this century (``strptime``'s ``%y`` puts 69–99 in the 1900s)."""
    if not digits.isdigit() or len(digits) not in (10, 12):
        raise ValueError(f"not YYMMDDhhmm[ss]: {digits!r}")
    padded = digits.ljust(12, "0")
    year, month, day, hour, minute, second = (int(padded[i : i + 2]) for i in range(0, 12, 2))
    return datetime(2000 + year, month, day, hour, minute, second)


def parse_time(text: str) -> MeterTime:
    """``NYYMMDDhhmmss`` (as W5 sends it) or ``NVYYMMDDhhmmss``; :class:`ValueError` otherwise."""
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"not a date-time NYYMMDDhhmmss: {text!r}")
    local = parse_digits(match.group(3))
    return MeterTime(local, summer_time=match.group(1) == "1", valid=match.group(2) != "0")


def format_value(value: RegisterValue, unit: str | None) -> str:
    """The value as the display shows it (zero-padded energies and demands). Text is sent as is,
    so a provider that formats at the meter's own register format passes a ``str``."""
    match value:
        case MeterTime():
            return format_time(value)
        case Decimal() if unit in _ENERGY_UNITS:
            return f"{value:010.2f}"
        case Decimal() if unit in _DEMAND_UNITS:
            return f"{value:09.3f}"
        case Decimal() | int() | str():
            return str(value)


def data_set(reading: RegisterReading) -> DataSet:
    """A register as one 1107 data set: ``1.8.0(0000586.12*kWh)``, a demand with its time."""
    values = [DataValue(format_value(reading.value, reading.unit), reading.unit)]
    if reading.timestamp is not None:
        values.append(DataValue(format_time(reading.timestamp)))
    return DataSet(reading.obis, tuple(values))


def logger_blocks(address: str, table: LoggerReadout, rows_per_block: int) -> list[str]:
    """The R6 reply's partial blocks: the header ``99.1.0(4)(1.0.0)()…(1.8.0)(kWh)`` and the first
    rows, then *rows_per_block* rows per block, every line ending CR LF ([1107] §3)."""
    header = f"{address}({len(table.columns)})" + "".join(
        f"({c.obis})({c.unit or ''})" for c in table.columns
    )
    lines = [
        "".join(f"({format_value(v, c.unit)})" for v, c in zip(row, table.columns, strict=False))
        + "\r\n"
        for row in table.rows
    ]
    size = max(rows_per_block, 1)
    blocks = ["".join(lines[first : first + size]) for first in range(0, len(lines), size)]
    return [header + "\r\n" + (blocks[0] if blocks else ""), *blocks[1:]]


# --- an in-memory meter ------------------------------------------------------------------------

_NOON: Final = MeterTime(datetime(2026, 1, 15, 12, 0, 0))

# [1107] §4 / [1107]: the fixed User data 1 and the default User data 2.
USER_DATA_1_REGISTERS: Final = (
    *("0.0.1", "1.8.0", "1.8.1", "1.8.2", "1.8.3", "1.8.4", "96.8.0", "0.128.1", "1.6.0"),
)
USER_DATA_2_REGISTERS: Final = (
    *("0.0.1", "97.97.0", "1.8.0", "1.8.1", "1.8.2", "2.8.0", "2.8.1", "2.8.2"),
    *("3.8.0", "3.8.1", "3.8.2", "4.8.0", "4.8.1", "4.8.2", "1.6.0", "1.6.1", "1.6.2"),
    *("2.6.0", "1.2.0", "2.2.0", "3.6.0", "3.2.0", "4.6.0", "4.2.0", "0.1.0", "96.8.0", "1.0.0"),
)


def _default_registers() -> dict[str, RegisterReading]:
    regs = [
        RegisterReading("0.0.1", "12345678"),
        RegisterReading("97.97.0", 0),
        RegisterReading("96.8.0", 49),
        RegisterReading("0.128.1", 1),
        RegisterReading("0.1.0", 3),
        RegisterReading("129.0.0", 1),
        RegisterReading("96.5.1", 0),
        RegisterReading("0.4.2", 1),
    ]
    for c, unit, total in ((1, "kWh", "586.12"), (2, "kWh", "12.5"), (3, "kvarh", "40.1")):
        regs.append(RegisterReading(f"{c}.8.0", Decimal(total), unit))
        for tariff in range(1, 5):
            share = Decimal(total) / 4 if tariff <= 2 else Decimal(0)
            regs.append(RegisterReading(f"{c}.8.{tariff}", share.quantize(Decimal("0.01")), unit))
    regs += [
        RegisterReading(f"4.8.{t}", Decimal("3.2") if t == 0 else Decimal(0), "kvarh")
        for t in range(3)
    ]
    demand_time = MeterTime(datetime(2026, 1, 10, 18, 15))
    for obis, unit in (("1.6", "kW"), ("2.6", "kW"), ("3.6", "kvar"), ("4.6", "kvar")):
        for tariff in range(3):
            regs.append(RegisterReading(f"{obis}.{tariff}", Decimal("1.5"), unit, demand_time))
    regs += [
        RegisterReading(f"{c}.2.0", Decimal("12.75"), u)
        for c, u in ((1, "kW"), (2, "kW"), (3, "kvar"), (4, "kvar"))
    ]
    return {r.obis: r for r in regs}


@dataclass
class MemoryMeter:
    """A meter held in dictionaries: what the port's tests and the demo read before the model."""

    meter_type: str = "6841131BN243101"
    registers: dict[str, RegisterReading] = field(default_factory=_default_registers)
    time: MeterTime = _NOON
    writable_registers: frozenset[str] = frozenset({"129.0.0", "96.5.1", "0.4.2"})
    user_data_2: tuple[str, ...] = USER_DATA_2_REGISTERS
    loggers: dict[str, LoggerReadout] = field(default_factory=dict)

    def readout(self, which: UserData) -> Sequence[RegisterReading]:
        if which is UserData.USER_DATA_1:
            names: tuple[str, ...] = USER_DATA_1_REGISTERS
        else:
            names = self.user_data_2
        return [r for name in names if (r := self.read_register(name)) is not None]

    def read_register(self, obis: str) -> RegisterReading | None:
        if obis == CLOCK:
            return RegisterReading(CLOCK, self.time)
        return self.registers.get(obis)

    def write_register(self, obis: str, value: str) -> None:
        if obis not in self.writable_registers:
            raise ValueError(f"{obis} is not writable")
        if not value.isdigit():
            raise ValueError(f"{obis} takes a whole number, not {value!r}")
        old = self.registers.get(obis, RegisterReading(obis, 0))
        self.registers[obis] = RegisterReading(obis, int(value), old.unit)

    def clock(self) -> MeterTime:
        return self.time

    def set_clock(self, time: MeterTime) -> None:
        self.time = time

    def logger(
        self, obis: str, start: datetime | None, end: datetime | None
    ) -> LoggerReadout | None:
        table = self.loggers.get(obis)
        if table is None:
            return None
        rows = tuple(
            row
            for row in table.rows
            if not isinstance(row[0], MeterTime)
            or ((start is None or row[0].local >= start) and (end is None or row[0].local <= end))
        )
        return LoggerReadout(table.columns, rows)
