"""Class 7 (Profile generic), version 1, with both selective accesses of its buffer.

Attributes: 2 buffer, 3 capture_objects, 4 capture_period (s), 5 sort_method, 6 sort_object,
7 entries_in_use, 8 profile_entries; methods 1 reset, 2 capture (Blue Book 4.3.6). Selective
access on the buffer (PROTOCOL.md 2.3.3): 1 range_descriptor (entries whose restricting column
lies between two values, optionally only some columns) and 2 entry_descriptor (entries and
columns by 1-based number, 0 meaning "to the last").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

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


def select_entries(
    rows: Sequence[Row],
    capture_objects: Sequence[CaptureObject],
    descriptor: RangeDescriptor | EntryDescriptor,
) -> list[Row] | DataAccessResult:
    """The rows (and columns) a selective access asks for."""
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
    except MalformedData:
        return DataAccessResult.TYPE_UNMATCHED
    if low is None or high is None:
        return DataAccessResult.TYPE_UNMATCHED
    wanted: list[int] = []
    for selected in descriptor.selected_values:
        index = columns.get(_identity(selected))
        if index is None:
            return DataAccessResult.OTHER_REASON
        wanted.append(index)
    out = []
    for row in rows:
        try:
            key = _sort_key(row[restricting])
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
        capture_period: Reader | None = None,
        write_capture_period: Callable[[Data], DataAccessResult] | None = None,
        profile_entries: int = 0,
        sort_object: CaptureObject | None = None,
        reset: ActionHandler | None = None,
        capture: ActionHandler | None = None,
    ) -> None:
        super().__init__(obis)
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
        self.readers[8] = lambda: _double_long_unsigned(profile_entries or len(self.rows()))
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
        selected = select_entries(self.rows(), self.capture_objects, descriptor)
        if isinstance(selected, DataAccessResult):
            return selected
        return _rows_to_data(selected)


def _rows_to_data(rows: Sequence[Row]) -> Data:
    return Data(DataType.ARRAY, tuple(Data(DataType.STRUCTURE, row) for row in rows))
