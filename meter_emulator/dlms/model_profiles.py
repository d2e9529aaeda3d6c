"""The load profile as a class 7 buffer, and the time stamps every logger shares.

Pure functions from :class:`~meter_emulator.model.Meter` to capture objects and rows, used by
:class:`~.model_provider.ModelProvider`. Layouts:

- **Load profile** 1.1.99.1.0.255, Kamstrup's generic logger layout ([DLMS] §4): the
  clock (0.1.1.0.0.255 attribute 2, local time with the entry's DST bit), LoggerStatus (the
  profile's attribute 255, long-unsigned: the entry's status byte, the emulator's bits of
  :class:`~meter_emulator.model.logs.ProfileStatus`), DataQuality (attribute 254,
  double-long-unsigned, always 0: the model has no data-quality notion), the reserved
  1.1.134.0.1.255 (integer 0), then one register column per configured channel — A+ 1.1.1.8.0,
  A− 1.1.2.8.0, R+ 1.1.3.8.0, R− 1.1.4.8.0, R1–R4 1.1.5–8.8.0 — raw at the registers' scaler,
  so a client scales a column with the scaler_unit of its register.
The event, power-quality, cut-off, billing and analysis loggers are in :mod:`.logs`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

from ccc_gateway.protocol._record import replace
from ccc_gateway.protocol.axdr import CosemDateTime, Data, DataType
from ccc_gateway.protocol.dlms.descriptors import CaptureObject
from ccc_gateway.protocol.obis import obis_to_bytes

from ..model.logs import ProfileStatus

if TYPE_CHECKING:
    from ..model.meter import Meter

__all__ = [
    "CHANNEL_OBIS",
    "CLOCK_COLUMN",
    "NOT_SPECIFIED",
    "date_time",
    "load_profile_columns",
    "load_profile_rows",
]

LOAD_PROFILE: Final = "1.1.99.1.0.255"
#: The clock column every logger starts with.
CLOCK_COLUMN: Final = CaptureObject(8, obis_to_bytes("0.1.1.0.0.255"), 2, 0)
#: Model energy channel → the register that a profile column captures.
CHANNEL_OBIS: Final = {
    "a_plus": "1.1.1.8.0.255",
    "a_minus": "1.1.2.8.0.255",
    "r_plus": "1.1.3.8.0.255",
    "r_minus": "1.1.4.8.0.255",
    "r1": "1.1.5.8.0.255",
    "r2": "1.1.6.8.0.255",
    "r3": "1.1.7.8.0.255",
    "r4": "1.1.8.8.0.255",
}
#: A date-time with every field "not specified" (a maximum not yet reached).
NOT_SPECIFIED: Final = CosemDateTime(0xFFFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, -0x8000, 0)


def date_time(local: datetime, *, dst: bool, invalid: bool = False) -> CosemDateTime:
    """A meter time stamp: local time, deviation not specified, status DST and invalid bits."""
    stamp = CosemDateTime.from_datetime(local, dst=dst)
    return replace(stamp, clock_status=stamp.clock_status | 0x01) if invalid else stamp


def _stamp(local: datetime, *, dst: bool) -> Data:
    return Data(DataType.OCTET_STRING, date_time(local, dst=dst).to_bytes())


def _u32(value: int) -> Data:
    return Data(DataType.DOUBLE_LONG_UNSIGNED, max(0, value) & 0xFFFFFFFF)


# --- load profile ---------------------------------------------------------------------------


def load_profile_columns(meter: Meter) -> tuple[CaptureObject, ...]:
    """Clock, LoggerStatus, DataQuality, reserved, then the configured channels."""
    profile = obis_to_bytes(LOAD_PROFILE)
    return (
        CLOCK_COLUMN,
        CaptureObject(7, profile, 255, 0),
        CaptureObject(7, profile, 254, 0),
        CaptureObject(1, obis_to_bytes("1.1.134.0.1.255"), 2, 0),
        *(
            CaptureObject(3, obis_to_bytes(CHANNEL_OBIS[c]), 2, 0)
            for c in meter.load_profile.channels
        ),
    )


def load_profile_rows(meter: Meter) -> list[tuple[Data, ...]]:
    """Every entry, oldest first, registers at the configured energy resolution."""
    divisor = 10**meter.config.energy_scaler
    return [
        (
            _stamp(entry.local, dst=bool(entry.status & ProfileStatus.DST)),
            Data(DataType.LONG_UNSIGNED, int(entry.status) & 0xFFFF),
            _u32(0),
            Data(DataType.INTEGER, 0),
            *(_u32(value // divisor) for value in entry.values),
        )
        for entry in meter.load_profile.entries
    ]
