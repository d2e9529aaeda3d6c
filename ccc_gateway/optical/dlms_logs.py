"""Reading a meter log (class 7 profile generic) by range over DLMS, column by capture object.

The columns are matched by their capture_object_definition against the shared column lists of
:mod:`ccc_gateway.protocol.omnipower_logs`, never by position (a meter leaves out the columns
of registers it lacks). A register column is scaled with the scaler_unit of its register, as a
plain read is; a class-4 capture_time column (attribute 5) and the clock column are meter times.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Final, TypeAlias

from ..protocol.axdr import CosemDateTime, Data, DataType
from ..protocol.dlms.descriptors import AttributeDescriptor, CaptureObject, RangeDescriptor
from ..protocol.errors import MalformedData
from ..protocol.obis import obis_to_bytes
from ..protocol.omnipower_logs import (
    BILLING_LOG_1_COLUMNS,
    BILLING_LOG_2_COLUMNS,
    CUTOFF_LOG_COLUMNS,
    POWER_QUALITY_LOG_COLUMNS,
    STANDARD_EVENT_LOG_COLUMNS,
    LogColumn,
)
from ..protocol.omnipower_objects import CosemObject, by_name
from .session import LogEntry, MeterClock, ObjectRefused

__all__ = ["LOG_COLUMNS", "meter_clock_of", "read_log"]

#: The columns each log may have, by the log's name in the shared object table.
LOG_COLUMNS: Final[dict[str, tuple[LogColumn, ...]]] = {
    "standard_event_log": STANDARD_EVENT_LOG_COLUMNS,
    "power_quality_log": POWER_QUALITY_LOG_COLUMNS,
    "cutoff_log": CUTOFF_LOG_COLUMNS,
    "billing_log_1": BILLING_LOG_1_COLUMNS,
    "billing_log_2": BILLING_LOG_2_COLUMNS,
}
_UNIT_FACTORS: Final = {30: 1e-3, 32: 1e-3}  # Wh → kWh, varh → kvarh (as ports.py)

Getter: TypeAlias = Callable[[AttributeDescriptor, Any], Awaitable[Data | None]]
ScalerOf: TypeAlias = Callable[[CosemObject], Awaitable[tuple[int, int]]]


def meter_clock_of(cell: Data) -> MeterClock | None:
    """A date-time cell; None when the meter left it unspecified (no maximum yet)."""
    raw = cell.value
    if isinstance(raw, CosemDateTime):
        stamp = raw
    elif cell.type == DataType.OCTET_STRING and len(raw) == 12:
        stamp = CosemDateTime.from_bytes(bytes(raw))
    else:
        return None
    try:
        return MeterClock(stamp.to_naive(), stamp.dst)
    except (ValueError, MalformedData):  # "not specified": the meter's way of saying none
        return None


async def read_log(
    get: Getter, scaler_of: ScalerOf, name: str, start: datetime, end: datetime
) -> list[LogEntry]:
    """The entries of log *name* within [*start*, *end*] (naive meter local times)."""
    log = by_name(name)
    known = {(c.class_id, obis_to_bytes(c.obis), c.attribute): c for c in LOG_COLUMNS[name]}
    columns_raw = await get(AttributeDescriptor(7, log.logical_name, 3), None)
    if columns_raw is None or columns_raw.type != DataType.ARRAY:
        raise ObjectRefused(name, "capture_objects not readable")
    columns = [CaptureObject.from_data(item) for item in columns_raw.value]
    named = [known.get((c.class_id, c.instance, c.attribute)) for c in columns]
    if not named or named[0] is None or named[0].name != "clock":
        raise ObjectRefused(name, "the log does not start with the clock column")
    access = RangeDescriptor(
        columns[0],
        Data(DataType.OCTET_STRING, CosemDateTime.from_datetime(start, dst=False).to_bytes()),
        Data(DataType.OCTET_STRING, CosemDateTime.from_datetime(end, dst=False).to_bytes()),
    ).to_access()
    buffer = await get(AttributeDescriptor(7, log.logical_name, 2), access)
    if buffer is None or buffer.type != DataType.ARRAY:
        raise ObjectRefused(name, "buffer not readable with a range")
    factors: dict[int, float] = {}
    for index, column in enumerate(named):
        if column is not None and column.class_id in (3, 4) and column.attribute == 2:
            scaler, unit = await scaler_of(by_name(column.name))
            factors[index] = 10.0**scaler * _UNIT_FACTORS.get(unit, 1.0)
    entries = []
    for row in buffer.value:
        clock = meter_clock_of(row.value[0]) if row.value else None
        if clock is None:
            continue  # an entry without its time stamp cannot be placed: never guessed
        values: dict[str, Any] = {}
        for index, (column, cell) in enumerate(zip(named, row.value, strict=False)):
            if column is None or index == 0:
                continue
            if column.attribute == 5:
                values[column.name] = meter_clock_of(cell)
            elif index in factors and isinstance(cell.value, int):
                values[column.name] = round(cell.value * factors[index], 6)
            else:
                values[column.name] = cell.value
        entries.append(LogEntry(clock, values))
    return entries
