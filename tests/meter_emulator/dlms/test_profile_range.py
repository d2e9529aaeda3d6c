"""Range descriptors honour the deviation of their date-times (issue 13).

The profile's stamps are the meter's local time with the deviation not specified and the DST
bit set in summer ([DLMS] §4); the fake meter is GMT+1, so its October stamps are
UTC+2. A bound with a deviation names an instant and must select the entries at that instant.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from ccc_gateway.protocol.axdr import CosemDateTime, Data, DataType
from ccc_gateway.protocol.dlms.descriptors import RangeDescriptor
from meter_emulator.dlms.profile import select_entries

from .fake_meter import CLOCK_COLUMN, FakeMeter


def bound(moment: datetime, deviation: int) -> Data:
    return Data(
        DataType.OCTET_STRING,
        CosemDateTime(
            moment.year,
            moment.month,
            moment.day,
            0xFF,
            moment.hour,
            moment.minute,
            0,
            0xFF,
            deviation,
            0xFF,
        ).to_bytes(),
    )


def selected(low: Data, high: Data) -> list[datetime]:
    meter = FakeMeter()
    rows = meter.profile_rows("load_profile")
    columns = meter.capture_objects("load_profile")
    chosen = select_entries(
        rows,
        columns,
        RangeDescriptor(CLOCK_COLUMN, low, high),
        standard_offset_min=meter.standard_offset_min(),
    )
    assert isinstance(chosen, list)
    return [CosemDateTime.from_bytes(row[0].value).to_naive() for row in chosen]


@pytest.mark.parametrize(
    ("deviation", "first_local"),
    [
        (-0x8000, datetime(2013, 10, 25, 2, 0)),  # not specified: the meter's local time
        (-120, datetime(2013, 10, 25, 2, 0)),  # UTC+2 = the meter's summer time: the same
        (0, datetime(2013, 10, 25, 4, 0)),  # 02:00 UTC is 04:00 on the meter
        (-60, datetime(2013, 10, 25, 3, 0)),  # 02:00 at UTC+1 is 01:00 UTC, 03:00 local
    ],
)
def test_the_deviation_selects_the_rows_at_that_instant(
    deviation: int, first_local: datetime
) -> None:
    low = bound(datetime(2013, 10, 25, 2, 0), deviation)
    high = bound(datetime(2013, 10, 25, 2, 30), deviation)
    rows = selected(low, high)
    assert rows == [first_local.replace(minute=m) for m in (0, 15, 30)]


def test_without_a_known_offset_bounds_compare_field_by_field() -> None:
    meter = FakeMeter()
    low = bound(datetime(2013, 10, 25, 2, 0), 0)
    high = bound(datetime(2013, 10, 25, 2, 30), 0)
    chosen = select_entries(
        meter.profile_rows("load_profile"),
        meter.capture_objects("load_profile"),
        RangeDescriptor(CLOCK_COLUMN, low, high),
    )
    assert isinstance(chosen, list)
    assert len(chosen) == 3
