"""The loggers of an OMNIPOWER meter as DLMS profiles: logical names, event codes and columns.

Shared by the emulator, which serves the profiles, and the gateway, which reads them, so a
column's meaning can never disagree between the two. Every profile is class 7 (profile generic)
and is read by range on its clock column or by entry; ``profile_entries`` (attribute 8) is the
logger's depth, ``entries_in_use`` (attribute 7) how many it holds.

Sources and choices ([DLMS] §3 lists only the load profile, the billing loggers and the
cut-off log; the data sheet names the values, not their objects):

- **Standard event log** 1.1.99.98.0.255 and its event-code object 1.1.96.11.0.255: the
  IEC 62056-6-1 event-log codes (0.0.99.98.0 / 0.0.96.11.0) with Kamstrup's B = 1. Event codes
  1–6 and 40–43 are the IDIS ones (standard event log: 1 power down, 2 power up, 4/5 clock
  adjusted old/new date-time, 6 clock invalid; fraud: 40/41 terminal cover removed/closed, 42/43
  strong DC field detected/gone), as listed in public IDIS-conformant meter manuals; 231 and up
  are in IDIS's manufacturer-specific range and are the emulator's.
- **Power-quality log** 1.1.99.98.4.255 (IEC 62056-6-1 0.0.99.98.4, power quality), its code
  object 1.1.96.11.4.255. One entry per finished sag, swell or interruption, stamped when it
  ended (so entries are in time order and a range cursor never skips one); its start is the
  stamp minus the duration.
- **Cut-off log** 1.1.99.98.5.255 ([DLMS] §3, [TD] 4.8.12).
- **Billing loggers** 1.1.98.1.0.255 and 1.1.98.2.0.255 ([DLMS] §3): one entry per
  debiting stop. Logger 1 holds the data sheet's "Various" and "Energy registers" columns of its
  "Permanent memory" table, logger 2 its "Power registers"; both carry the debiting-stop
  counter, so their entries pair up.
- **Analysis logger** 1.1.99.2.0.255 (IEC 62056-6-1 load profile 2): the clock, then its (up to
  24) configured registers.
- Objects in C = 135 (manufacturer-specific) are the emulator's: the duration of the last logged
  event, the last power-quality event's extreme voltage and phase.

Only the columns of registers the meter has are present (an A+ only meter has no R+ column); a
client maps columns by their capture object, never by position.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, unique
from typing import Final

from .dlms.descriptors import CaptureObject
from .obis import obis_to_bytes

__all__ = [
    "ANALYSIS_LOG",
    "BILLING_LOG_1",
    "BILLING_LOG_1_COLUMNS",
    "BILLING_LOG_2",
    "BILLING_LOG_2_COLUMNS",
    "CLOCK",
    "CUTOFF_LOG",
    "CUTOFF_LOG_COLUMNS",
    "LOAD_PROFILE",
    "POWER_QUALITY_LOG",
    "POWER_QUALITY_LOG_COLUMNS",
    "STANDARD_EVENT_LOG",
    "STANDARD_EVENT_LOG_COLUMNS",
    "EventCode",
    "LogColumn",
    "PowerQualityCode",
    "TariffSource",
]

LOAD_PROFILE: Final = "1.1.99.1.0.255"
ANALYSIS_LOG: Final = "1.1.99.2.0.255"
BILLING_LOG_1: Final = "1.1.98.1.0.255"
BILLING_LOG_2: Final = "1.1.98.2.0.255"
STANDARD_EVENT_LOG: Final = "1.1.99.98.0.255"
POWER_QUALITY_LOG: Final = "1.1.99.98.4.255"
CUTOFF_LOG: Final = "1.1.99.98.5.255"


@unique
class EventCode(IntEnum):
    """Codes of the standard event log (see the module docstring for the numbering)."""

    POWER_DOWN = 1
    POWER_UP = 2
    CLOCK_ADJUSTED_OLD = 4  #: the entry's clock column holds the time before the adjustment
    CLOCK_ADJUSTED_NEW = 5  #: ... and this one the time after it
    CLOCK_INVALID = 6
    TERMINAL_COVER_OPENED = 40
    TERMINAL_COVER_CLOSED = 41
    MAGNET_DETECTED = 42
    MAGNET_GONE = 43
    TARIFF_CHANGED = 231  #: tariff and source columns hold the new tariff and why
    DEBITING_STOP = 232
    LOW_CREDIT = 233
    CREDIT_EXHAUSTED = 234
    EVENT_STATUS_CLEARED = 235


@unique
class PowerQualityCode(IntEnum):
    """Codes of the power-quality log (EN 50160 classes, emulator's numbering)."""

    VOLTAGE_SAG = 1  #: below 90 % Un
    VOLTAGE_SWELL = 2  #: above 110 % Un
    INTERRUPTION = 3  #: below 5 % Un


@unique
class TariffSource(IntEnum):
    """TariffSource 1.1.129.0.1.255: why the tariff of ActualTariff is active (emulator's)."""

    DISABLED = 0  #: no tariff control (Z13 = 000): always tariff 1
    CALENDAR = 1  #: register control, the tariff calendar
    INPUT = 2  #: the module's tariff inputs
    FORCED = 3  #: forced by a write to ActualTariff


@dataclass(frozen=True, slots=True)
class LogColumn:
    """One column of a profile: a capture_object_definition and the name the projects use.

    ``name`` is the object's name in :data:`~ccc_gateway.protocol.omnipower_objects.OBJECTS`
    (``clock`` for the time stamp), with ``_time`` appended for a class-4 capture_time column.
    """

    name: str
    class_id: int
    obis: str
    attribute: int = 2

    @property
    def capture_object(self) -> CaptureObject:
        """The capture_object_definition a profile's attribute 3 lists for this column."""
        return CaptureObject(self.class_id, obis_to_bytes(self.obis), self.attribute, 0)


#: Every logger starts with the meter clock: local time with the DST bit of its status.
CLOCK: Final = LogColumn("clock", 8, "0.1.1.0.0.255")


def _register(name: str, obis: str) -> LogColumn:
    return LogColumn(name, 3, obis)


def _data(name: str, obis: str) -> LogColumn:
    return LogColumn(name, 1, obis)


def _maximum(name: str, obis: str) -> tuple[LogColumn, LogColumn]:
    return LogColumn(name, 4, obis, 2), LogColumn(f"{name}_time", 4, obis, 5)


STANDARD_EVENT_LOG_COLUMNS: Final = (
    CLOCK,
    _data("event_code", "1.1.96.11.0.255"),
    _data("event_status_a", "0.1.96.10.1.255"),  # after the event: its bit is already set
    _data("actual_tariff", "1.1.129.0.0.255"),  # the tariff in force after the event
    _data("tariff_source", "1.1.129.0.1.255"),
    _register("event_duration", "1.1.135.0.1.255"),  # power up: the outage; closed: how long
)

POWER_QUALITY_LOG_COLUMNS: Final = (
    CLOCK,  # when the event ended
    _data("pq_event_code", "1.1.96.11.4.255"),
    _data("pq_event_phase", "1.1.135.0.3.255"),  # 1-3
    _register("event_duration", "1.1.135.0.1.255"),
    _register("pq_event_extreme_voltage", "1.1.135.0.2.255"),  # lowest (sag) or highest
)

CUTOFF_LOG_COLUMNS: Final = (CLOCK, _data("coupling_state", "1.1.128.0.0.255"))

#: Billing logger 1: "Various" and "Energy registers" of the data sheet's permanent memory.
BILLING_LOG_1_COLUMNS: Final = (
    CLOCK,  # "RTC w/Quality info": the clock status byte is in the date-time
    _data("debiting_stop_counter", "1.1.0.1.0.255"),
    _register("active_energy_import", "1.1.1.8.0.255"),
    *(_register(f"active_energy_import_t{t}", f"1.1.1.8.{t}.255") for t in range(1, 5)),
    _register("active_energy_export", "1.1.2.8.0.255"),
    _register("reactive_energy_import", "1.1.3.8.0.255"),
    _register("reactive_energy_export", "1.1.4.8.0.255"),
    _register("apparent_energy_import", "1.1.9.8.0.255"),
    _register("apparent_energy_export", "1.1.10.8.0.255"),
    *(_register(f"reactive_energy_import_t{t}", f"1.1.3.8.{t}.255") for t in range(1, 5)),
    _register("hour_counter", "1.1.96.8.0.255"),
    _data("power_threshold_counter", "1.1.1.36.0.255"),
    _register("pulse_input", "1.1.82.8.1.255"),
)

#: Billing logger 2: "Power registers" (maxima of the period with their times, accumulated).
BILLING_LOG_2_COLUMNS: Final = (
    CLOCK,
    *_maximum("max_active_power_import", "1.1.1.6.0.255"),
    _register("accumulated_max_active_power_import", "1.1.1.2.0.255"),
    *_maximum("max_active_power_import_t1", "1.1.1.6.1.255"),
    *_maximum("max_active_power_import_t2", "1.1.1.6.2.255"),
    _register("accumulated_max_active_power_import_t1", "1.1.1.2.1.255"),
    _register("accumulated_max_active_power_import_t2", "1.1.1.2.2.255"),
    *_maximum("max_reactive_power_import", "1.1.3.6.0.255"),
    *_maximum("max_reactive_power_import_t1", "1.1.3.6.1.255"),
    *_maximum("max_reactive_power_import_t2", "1.1.3.6.2.255"),
    _register("accumulated_max_reactive_power_import", "1.1.3.2.0.255"),
    *_maximum("max_apparent_power_import", "1.1.9.6.0.255"),
    *_maximum("max_apparent_power_export", "1.1.10.6.0.255"),
    _data("debiting_stop_counter", "1.1.0.1.0.255"),
)
