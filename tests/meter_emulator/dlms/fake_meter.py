"""A dictionary-backed MeterProvider: the emulator's DLMS server tested without the model."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from ccc_gateway.protocol._record import replace
from ccc_gateway.protocol.axdr import CosemDateTime, Data, DataType
from ccc_gateway.protocol.dlms.descriptors import CaptureObject
from ccc_gateway.protocol.dlms.enums import ActionResult, DataAccessResult
from ccc_gateway.protocol.obis import obis_to_bytes
from ccc_gateway.protocol.omnipower_objects import OBJECTS, by_name

CLOCK_COLUMN = CaptureObject(8, obis_to_bytes("0.1.1.0.0.255"), 2, 0)
LOAD_PROFILE_COLUMNS = (
    CLOCK_COLUMN,
    CaptureObject(7, obis_to_bytes("1.1.99.1.0.255"), 255, 0),  # LoggerStatus
    CaptureObject(7, obis_to_bytes("1.1.99.1.0.255"), 254, 0),  # DataQuality
    CaptureObject(1, obis_to_bytes("1.1.134.0.1.255"), 2, 0),  # reserved
    CaptureObject(3, obis_to_bytes("1.1.1.8.0.255"), 2, 0),
    CaptureObject(3, obis_to_bytes("1.1.2.8.0.255"), 2, 0),
    CaptureObject(3, obis_to_bytes("1.1.3.8.0.255"), 2, 0),
    CaptureObject(3, obis_to_bytes("1.1.4.8.0.255"), 2, 0),
)
START = datetime(2013, 10, 25)


def stamp(moment: datetime) -> Data:
    """A profile time stamp as Kamstrup sends it (day of week and hundredths unspecified)."""
    return Data(
        DataType.OCTET_STRING,
        CosemDateTime(
            moment.year,
            moment.month,
            moment.day,
            0xFF,
            moment.hour,
            moment.minute,
            moment.second,
            0,
            -0x8000,
            0x80,
        ).to_bytes(),
    )


def _row(index: int) -> tuple[Data, ...]:
    """One entry of the Kamstrup logger layout ([DLMS] §4)."""
    return (
        stamp(START + timedelta(minutes=15 * index)),
        Data(DataType.LONG_UNSIGNED, 0),
        Data(DataType.DOUBLE_LONG_UNSIGNED, 0),
        Data(DataType.INTEGER, 0),
        *(Data(DataType.DOUBLE_LONG_UNSIGNED, 1000 * index + c) for c in range(4)),
    )


class FakeMeter:
    """Every object of the shared table with a plain value; a three-phase meter by default."""

    def __init__(self, *, phases: int = 3, profile_entries: int = 96) -> None:
        self.phases = phases
        self.values: dict[str, Data] = {}
        for info in OBJECTS:
            if info.class_id in (1, 3, 4):
                self.values[info.name] = Data(DataType.DOUBLE_LONG_UNSIGNED, 1000)
        self.values["meter_number"] = Data(DataType.DOUBLE_LONG_UNSIGNED, 12345678)
        self.values["meter_type"] = Data(DataType.VISIBLE_STRING, "6841131BN243101040")
        self.values["voltage_l1"] = Data(DataType.LONG_UNSIGNED, 230)
        for name in ("coupling_state", "coupling_mode", "cutoff_basis", "actual_tariff"):
            self.values[name] = Data(DataType.UNSIGNED, 4 if name == "coupling_state" else 1)
        self.now = CosemDateTime(2013, 10, 26, 6, 12, 0, 0, 0xFF, -0x8000, 0x80)
        self.rows = [_row(i) for i in range(profile_entries)]
        self.period = 900
        self.writes: list[tuple[str, Data]] = []

    def has(self, name: str) -> bool:
        if self.phases == 1 and ("_l2" in name or "_l3" in name):
            return False
        return name not in ("billing_log_1", "billing_log_2", "cutoff_log")

    def value(self, name: str) -> Data | None:
        return self.values.get(name)

    def write(self, name: str, value: Data) -> DataAccessResult:
        current = self.values.get(name)
        if current is None or current.type != value.type:
            return DataAccessResult.TYPE_UNMATCHED
        self.writes.append((name, value))
        if name == "coupling_state":
            state = {1: 1, 2: 8, 3: 4}.get(int(value.value))
            if state is None:
                return DataAccessResult.OTHER_REASON
            value = Data(DataType.UNSIGNED, state)
        self.values[name] = value
        return DataAccessResult.SUCCESS

    def scaler(self, name: str) -> int:
        return by_name(name).scaler

    def status(self, name: str) -> Data | None:
        return Data(DataType.UNSIGNED, 0)

    def capture_time(self, name: str) -> CosemDateTime | None:
        return self.now

    def clock(self) -> CosemDateTime:
        return self.now

    def set_clock(self, value: CosemDateTime) -> DataAccessResult:
        self.now = value
        return DataAccessResult.SUCCESS

    def shift_clock(self, seconds: int) -> ActionResult:
        moment = self.now.to_naive() + timedelta(seconds=seconds)
        self.now = replace(self.now, hour=moment.hour, minute=moment.minute, second=moment.second)
        return ActionResult.SUCCESS

    def capture_objects(self, name: str) -> Sequence[CaptureObject]:
        return LOAD_PROFILE_COLUMNS

    def profile_rows(self, name: str) -> Sequence[tuple[Data, ...]]:
        return self.rows

    def profile_entries(self, name: str) -> int:
        return 1000  # the capacity, not the 96 entries in use

    def capture_period(self, name: str) -> int:
        return self.period

    def standard_offset_min(self) -> int:
        return 60  # GMT+1, as the default meter

    def set_capture_period(self, name: str, seconds: int) -> DataAccessResult:
        if seconds not in (300, 900, 1800, 3600):
            return DataAccessResult.OTHER_REASON
        self.period = seconds
        return DataAccessResult.SUCCESS
