"""The model's event, power-quality, cut-off, billing and analysis loggers as class 7 buffers.

Pure functions from the meter model to capture objects and rows, used by
:class:`~.model_provider.ModelProvider`. The columns are the shared ones of
:mod:`ccc_gateway.protocol.omnipower_logs` (whose docstring gives the sources and choices),
restricted to the registers this meter has; values are raw at the scaler of the register a
column captures, as the registers themselves read (energies at ``10**energy_scaler`` Wh,
maxima in W/var/VA, durations in ms, voltages in 0.1 V), so a client scales a column with the
scaler_unit of its register.

The analysis logger keeps the readings of its channels (display units, as the LCD shows them);
a channel whose register the DLMS table has is sent raw at that register's scaler, any other
as float64 in its display unit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from ccc_gateway.protocol.axdr import Data, DataType
from ccc_gateway.protocol.dlms.descriptors import CaptureObject
from ccc_gateway.protocol.obis import obis_to_bytes
from ccc_gateway.protocol.omnipower_logs import (
    BILLING_LOG_1_COLUMNS,
    BILLING_LOG_2_COLUMNS,
    CUTOFF_LOG_COLUMNS,
    POWER_QUALITY_LOG_COLUMNS,
    STANDARD_EVENT_LOG_COLUMNS,
    LogColumn,
)
from ccc_gateway.protocol.omnipower_objects import OBJECTS
from ccc_gateway.protocol.omnipower_objects import CosemObject as ObjectInfo

from ..model.billing import BILLING_DEPTH, BillingRecord
from ..model.clock import naive_from_us
from .model_profiles import CLOCK_COLUMN, NOT_SPECIFIED, date_time
from .model_values import ACCUMULATED, ENERGY, PEAKS, scaler_of

if TYPE_CHECKING:
    from ..model.meter import Meter

__all__ = ["LOGS", "Log", "capture_object"]

_U8, _U16, _U32 = DataType.UNSIGNED, DataType.LONG_UNSIGNED, DataType.DOUBLE_LONG_UNSIGNED

_BY_OBIS: Final = {obj.obis: obj for obj in OBJECTS}
#: Display unit → the table's unit, for analysis channels in kilo units.
_KILO: Final = {"kWh": "Wh", "kW": "W", "kvar": "var", "kvarh": "varh", "kVA": "VA", "kVAh": "VAh"}


def capture_object(column: LogColumn) -> CaptureObject:
    """The capture_object_definition of a shared column."""
    return column.capture_object


def _stamp(local: datetime, *, dst: bool) -> Data:
    return Data(DataType.OCTET_STRING, date_time(local, dst=dst).to_bytes())


def _u32(value: int) -> Data:
    return Data(_U32, max(0, value) & 0xFFFFFFFF)


def _has_column(meter: Meter, column: LogColumn) -> bool:
    """Whether this meter keeps the register a column captures."""
    register = ENERGY.get(column.name)
    if register is not None:
        return meter.energy.has(register)
    peak = PEAKS.get(column.name.removesuffix("_time")) or ACCUMULATED.get(column.name)
    if peak is not None and peak[0] in "qs":
        return meter.identity.type_number.energy_type.has_reactive
    return True


def _columns(meter: Meter, columns: Sequence[LogColumn]) -> list[LogColumn]:
    return [c for c in columns if _has_column(meter, c)]


@dataclass(frozen=True, slots=True)
class Log:
    """How one logger reads from the model: its columns, rows and depth."""

    columns: Callable[[Meter], tuple[CaptureObject, ...]]
    rows: Callable[[Meter], list[tuple[Data, ...]]]
    capacity: Callable[[Meter], int]
    period_s: Callable[[Meter], int] = lambda meter: 0


# --- standard event and power-quality logs ---------------------------------------------------


def _standard_rows(meter: Meter) -> list[tuple[Data, ...]]:
    return [
        (
            _stamp(e.local, dst=e.dst),
            Data(_U8, int(e.code)),
            _u32(e.event_status),
            Data(_U8, e.tariff),
            Data(_U8, int(e.source)),
            _u32(e.duration_ms),
        )
        for e in meter.event_log.entries
    ]


def _quality_rows(meter: Meter) -> list[tuple[Data, ...]]:
    return [
        (
            _stamp(e.local, dst=e.dst),
            Data(_U8, int(e.code)),
            Data(_U8, e.phase),
            _u32(e.duration_ms),
            Data(_U16, min(round(e.extreme_v * 10), 0xFFFF)),
        )
        for e in meter.pq_log.entries
    ]


# --- cut-off log -----------------------------------------------------------------------------


def _cutoff_rows(meter: Meter) -> list[tuple[Data, ...]]:
    """One row per breaker transition, oldest first, at the meter's local time then."""
    clock = meter.clock
    return [
        (
            _stamp(naive_from_us(clock.local_us(r.at_us)), dst=clock.is_dst(r.at_us)),
            Data(_U8, int(r.after)),
        )
        for r in meter.breaker.log
    ]


# --- billing loggers -------------------------------------------------------------------------


def _billing_cell(meter: Meter, record: BillingRecord, column: LogColumn) -> Data:
    """One stored value: what the column's register read at the debiting stop."""
    values: Mapping[str, Any] = record.values
    name = column.name
    dst = bool(record.clock_status & 0x80)
    if name == "clock":
        return _stamp(record.local, dst=dst)
    if name in ENERGY:
        wh = int(values.get(f"{ENERGY[name]}_wh", 0))
        return _u32(wh // 10**meter.config.energy_scaler)
    if name.endswith("_time"):
        peak = PEAKS[name.removesuffix("_time")]
        moment = values.get(f"{peak}_max_time")
        if moment is None:
            return Data(DataType.OCTET_STRING, NOT_SPECIFIED.to_bytes())
        peak_dst = bool(values.get(f"{peak}_max_dst", dst))
        return _stamp(datetime.fromisoformat(moment), dst=peak_dst)
    if name in PEAKS:
        return _u32(int(values.get(f"{PEAKS[name]}_max_w", 0)))
    if name in ACCUMULATED:
        return _u32(int(values.get(f"{ACCUMULATED[name]}_max_accumulated_w", 0)))
    return _u32(int(values.get(name, 0)))  # the counters keep their object names


def _billing(columns: Sequence[LogColumn]) -> Log:
    def capture(meter: Meter) -> tuple[CaptureObject, ...]:
        return tuple(capture_object(c) for c in _columns(meter, columns))

    def rows(meter: Meter) -> list[tuple[Data, ...]]:
        present = _columns(meter, columns)
        return [
            tuple(_billing_cell(meter, record, c) for c in present)
            for record in meter.debiting.records
        ]

    return Log(capture, rows, lambda meter: BILLING_DEPTH)


# --- analysis logger -------------------------------------------------------------------------


def _analysis_channel(meter: Meter, code: str) -> tuple[CaptureObject, Callable[[float], Data]]:
    """A channel's column and how a logged reading becomes its cell."""
    obis = f"1.1.{code}.255"
    info: ObjectInfo | None = _BY_OBIS.get(obis)
    if info is None or info.class_id not in (3, 4):
        return CaptureObject(3, obis_to_bytes(obis), 2, 0), lambda v: Data(DataType.FLOAT64, v)
    unit = meter.readings().get(code, (0, ""))[1]
    factor = 1000 if unit in _KILO and _KILO[unit] == info.unit else 1
    divisor = 10.0 ** scaler_of(meter, info.name)

    def cell(value: float) -> Data:
        return Data(DataType.DOUBLE_LONG, round(value * factor / divisor))

    return CaptureObject(info.class_id, obis_to_bytes(obis), 2, 0), cell


def _analysis_columns(meter: Meter) -> tuple[CaptureObject, ...]:
    channels = meter.analysis.channels
    return (CLOCK_COLUMN, *(_analysis_channel(meter, c)[0] for c in channels))


def _analysis_rows(meter: Meter) -> list[tuple[Data, ...]]:
    cells = [_analysis_channel(meter, c)[1] for c in meter.analysis.channels]
    return [
        (_stamp(local, dst=dst), *(cell(v) for cell, v in zip(cells, values, strict=True)))
        for local, values, dst in meter.analysis.entries
    ]


def _analysis_capacity(meter: Meter) -> int:
    return meter.analysis.entries.maxlen or 0


#: Every logger of this module by its name in the shared object table.
LOGS: Final[Mapping[str, Log]] = {
    "standard_event_log": Log(
        lambda m: tuple(capture_object(c) for c in STANDARD_EVENT_LOG_COLUMNS),
        _standard_rows,
        lambda m: m.event_log.depth,
    ),
    "power_quality_log": Log(
        lambda m: tuple(capture_object(c) for c in POWER_QUALITY_LOG_COLUMNS),
        _quality_rows,
        lambda m: m.pq_log.depth,
    ),
    "cutoff_log": Log(
        lambda m: tuple(capture_object(c) for c in CUTOFF_LOG_COLUMNS),
        _cutoff_rows,
        lambda m: m.breaker.log.maxlen or 0,
    ),
    "billing_log_1": _billing(BILLING_LOG_1_COLUMNS),
    "billing_log_2": _billing(BILLING_LOG_2_COLUMNS),
    "analysis_log": Log(
        _analysis_columns,
        _analysis_rows,
        _analysis_capacity,
        lambda m: m.config.analysis_interval_min * 60,
    ),
}
