"""The shared logger layouts agree with the shared object table, so the gateway can name every
column it reads and the emulator serves only objects it also exposes."""

from __future__ import annotations

import pytest

from ccc_gateway.protocol.omnipower_logs import (
    BILLING_LOG_1_COLUMNS,
    BILLING_LOG_2_COLUMNS,
    CLOCK,
    CUTOFF_LOG_COLUMNS,
    POWER_QUALITY_LOG_COLUMNS,
    STANDARD_EVENT_LOG_COLUMNS,
    LogColumn,
)
from ccc_gateway.protocol.omnipower_objects import OBJECTS, by_name

LAYOUTS = {
    "standard_event_log": STANDARD_EVENT_LOG_COLUMNS,
    "power_quality_log": POWER_QUALITY_LOG_COLUMNS,
    "cutoff_log": CUTOFF_LOG_COLUMNS,
    "billing_log_1": BILLING_LOG_1_COLUMNS,
    "billing_log_2": BILLING_LOG_2_COLUMNS,
}


@pytest.mark.parametrize("name", LAYOUTS)
def test_every_column_is_an_object_of_the_table(name: str) -> None:
    columns: tuple[LogColumn, ...] = LAYOUTS[name]
    assert columns[0] == CLOCK
    assert by_name(name).class_id == 7
    for column in columns:
        info = by_name(column.name.removesuffix("_time"))
        assert (info.obis, info.class_id) == (column.obis, column.class_id), column
        assert column.attribute == (5 if column.name.endswith("_time") else 2), column
        assert column.capture_object.instance == info.logical_name
    assert len({c.capture_object for c in columns}) == len(columns)  # no column twice


def test_logical_names_are_unique_in_the_table() -> None:
    assert len({o.logical_name for o in OBJECTS}) == len(OBJECTS)
    assert len({o.name for o in OBJECTS}) == len(OBJECTS)
