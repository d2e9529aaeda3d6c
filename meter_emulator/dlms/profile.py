"""Class 7 (Profile generic), version 1, with both selective accesses of its buffer.

Attributes: 2 buffer, 3 capture_objects, 4 capture_period (s), 5 sort_method, 6 sort_object,
7 entries_in_use, 8 profile_entries; methods 1 reset, 2 capture (Blue Book 4.3.6). Selective
access on the buffer ([DLMS] §4): 1 range_descriptor (entries whose restricting column
lies between two values, optionally only some columns) and 2 entry_descriptor (entries and
columns by 1-based number, 0 meaning "to the last").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, TypeAlias

from ccc_gateway.protocol.axdr import CosemDateTime, Data, DataType
from ccc_gateway.protocol.dlms.descriptors import (
    CaptureObject,
    EntryDescriptor,
    RangeDescriptor,
    SelectiveAccess,
    parse_access_parameters,
)
from ccc_gateway.protocol.dlms.enums import DataAccessResult
from ccc_gateway.protocol.errors import MalformedData

from .interface import ActionHandler, CosemObject, Reader, RequestContext, enum

__all__ = ["ProfileGeneric", "select_entries"]

Row: TypeAlias = tuple[Data, ...]
_FIFO = 1
#: A date-time's deviation when "not specified" (0x8000 on the wire).
DEVIATION_NOT_SPECIFIED: Final = -0x8000


def _double_long_unsigned(value: int) -> Data:
    return Data(DataType.DOUBLE_LONG_UNSIGNED, value)


def _sort_key(value: Data) -> tuple[Any, ...] | None:
    """A comparable form of a restricting value: date-times field by field, numbers as numbers.

    Unspecified date-time fields (0xFF) compare as 0, so a "from" of 00:00 with the seconds
    unspecified still takes the entry at 00:00:00.
    """
    raw = value.value
    if isinstance(raw, CosemDateTime) or (
        value.type == DataType.OCTET_STRING and isinstance(raw, bytes) and len(raw) == 12
    ):
        stamp = raw if isinstance(raw, CosemDateTime) else CosemDateTime.from_bytes(raw)
        fields = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
        return tuple(0 if f in (0xFF, 0xFFFF) else f for f in fields)
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return (raw,)
    return None


def _date_time(value: Data) -> CosemDateTime | None:
    raw = value.value
    if isinstance(raw, CosemDateTime):
        return raw
    if value.type == DataType.OCTET_STRING and isinstance(raw, bytes) and len(raw) == 12:
        return CosemDateTime.from_bytes(raw)
    return None


def _instant(stamp: CosemDateTime, standard_offset_min: int) -> datetime | None:
    """*stamp* as a UTC instant: with its deviation (minutes local → UTC, Blue Book 4.1.6.1),
    or, without one, as the meter's local time (standard offset plus an hour when its DST bit
    is set). None when a date field is not specified (the bound then compares field by field).
    """
    if stamp.year == 0xFFFF or stamp.month > 12 or stamp.day > 31:
        return None
    hour, minute, second = (0 if f == 0xFF else f for f in (stamp.hour, stamp.minute, stamp.second))
    try:
        naive = datetime(stamp.year, stamp.month, stamp.day, hour, minute, second)
    except ValueError:
        return None
    if stamp.deviation != DEVIATION_NOT_SPECIFIED:
        return naive + timedelta(minutes=stamp.deviation)
    return naive - timedelta(minutes=standard_offset_min + (60 if stamp.dst else 0))


def _instant_key(value: Data, standard_offset_min: int | None) -> tuple[Any, ...] | None:
    """A UTC key for a bound or a cell that is a fully dated date-time, else None."""
    if standard_offset_min is None:
        return None
    stamp = _date_time(value)
    if stamp is None:
        return None
    moment = _instant(stamp, standard_offset_min)
    return None if moment is None else (moment,)


def select_entries(
    rows: Sequence[Row],
    capture_objects: Sequence[CaptureObject],
    descriptor: RangeDescriptor | EntryDescriptor,
    *,
    standard_offset_min: int | None = None,
) -> list[Row] | DataAccessResult:
    """The rows (and columns) a selective access asks for.

    A date-time bound that carries a deviation names an instant: it is compared with each
    entry's instant, the meter's local stamps (deviation not specified) being placed in UTC by
    *standard_offset_min* and their DST bit. Bounds without a deviation are the meter's local
    time and compare field by field, as before.
    """
    if isinstance(descriptor, EntryDescriptor):
        first = max(descriptor.from_entry, 1) - 1
        last = descriptor.to_entry or len(rows)
        column_first = max(descriptor.from_selected_value, 1) - 1
        column_last = descriptor.to_selected_value or len(capture_objects)
        return [row[column_first:column_last] for row in rows[first:last]]
    columns = _column_index(capture_objects)
    restricting = columns.get(_identity(descriptor.restricting_object))
    if restricting is None:
        return DataAccessResult.OTHER_REASON
    try:
        low, high = _sort_key(descriptor.from_value), _sort_key(descriptor.to_value)
        bounds = [_date_time(descriptor.from_value), _date_time(descriptor.to_value)]
        by_instant = (
            any(b is not None and b.deviation != DEVIATION_NOT_SPECIFIED for b in bounds)
            and standard_offset_min is not None
        )
        if by_instant:
            low_instant = _instant_key(descriptor.from_value, standard_offset_min)
            high_instant = _instant_key(descriptor.to_value, standard_offset_min)
            if low_instant is not None and high_instant is not None:
                low, high = low_instant, high_instant
            else:
                by_instant = False
    except MalformedData:
        return DataAccessResult.TYPE_UNMATCHED
    if low is None or high is None:
        return DataAccessResult.TYPE_UNMATCHED
    key_of = (lambda cell: _instant_key(cell, standard_offset_min)) if by_instant else _sort_key
    wanted: list[int] = []
    for selected in descriptor.selected_values:
        index = columns.get(_identity(selected))
        if index is None:
            return DataAccessResult.OTHER_REASON
        wanted.append(index)
    out = []
    for row in rows:
        try:
            key = key_of(row[restricting])
        except MalformedData:
            key = None
        if key is not None and low <= key <= high:
            out.append(tuple(row[i] for i in wanted) if wanted else row)
    return out


def _identity(capture: CaptureObject) -> tuple[int, bytes, int, int]:
    return capture.class_id, capture.instance, capture.attribute, capture.data_index


def _column_index(
    capture_objects: Sequence[CaptureObject],
) -> dict[tuple[int, bytes, int, int], int]:
    return {_identity(c): i for i, c in enumerate(capture_objects)}


class ProfileGeneric(CosemObject):
    """A profile whose buffer the meter model keeps; ``rows`` reads it oldest first."""

    class_id = 7
    version = 1
    attribute_count = 8
    method_count = 2

    def __init__(
        self,
        obis: str,
        capture_objects: Sequence[CaptureObject],
        rows: Callable[[], Sequence[Row]],
        *,
        profile_entries: Callable[[], int],
        capture_period: Reader | None = None,
        write_capture_period: Callable[[Data], DataAccessResult] | None = None,
        sort_object: CaptureObject | None = None,
        reset: ActionHandler | None = None,
        capture: ActionHandler | None = None,
        standard_offset_min: int | None = None,
    ) -> None:
        super().__init__(obis)
        #: The meter's standard time offset from UTC (range bounds with a deviation).
        self.standard_offset_min = standard_offset_min
        self.capture_objects = tuple(capture_objects)
        self.rows = rows
        self.readers[2] = self._buffer
        self.readers[3] = lambda: Data(
            DataType.ARRAY, tuple(c.to_data() for c in self.capture_objects)
        )
        self.readers[4] = capture_period or (lambda: _double_long_unsigned(0))
        self.readers[5] = lambda: enum(_FIFO)
        self.readers[6] = lambda: (sort_object or CaptureObject(0, bytes(6), 0, 0)).to_data()
        self.readers[7] = lambda: _double_long_unsigned(len(self.rows()))
        # The logger's depth (Blue Book: "how many entries shall be retained"), not its fill.
        self.readers[8] = lambda: _double_long_unsigned(profile_entries())
        if write_capture_period is not None:
            self.writers[4] = write_capture_period
        if reset is not None:
            self.actions[1] = reset
        if capture is not None:
            self.actions[2] = capture

    def _buffer(self) -> Data:
        return _rows_to_data(self.rows())

    def get(
        self, attribute: int, access: SelectiveAccess | None, context: RequestContext
    ) -> Data | DataAccessResult:
        """The buffer honours both selectors; every other attribute as the base class."""
        if attribute != 2 or access is None:
            return super().get(attribute, access, context)
        try:
            descriptor = parse_access_parameters(access)
        except MalformedData:
            return DataAccessResult.TYPE_UNMATCHED
        selected = select_entries(
            self.rows(),
            self.capture_objects,
            descriptor,
            standard_offset_min=self.standard_offset_min,
        )
        if isinstance(selected, DataAccessResult):
            return selected
        return _rows_to_data(selected)


def _rows_to_data(rows: Sequence[Row]) -> Data:
    return Data(DataType.ARRAY, tuple(Data(DataType.STRUCTURE, row) for row in rows))
