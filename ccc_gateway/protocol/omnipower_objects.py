"""The COSEM objects of an OMNIPOWER meter that the gateway reads and the emulator serves.

One table, shared by both sides, so an object's logical name, class, unit and access can never
disagree between the DLMS server and its client. Source: Kamstrup "DLMS/COSEM objects,
OMNIPOWER" (2015) as summarised in [DLMS] §3 — note Kamstrup's B = 1 in every
electricity OBIS code. Power-quality objects (THD, sags, swells, unbalance) are not in that 2015
list; they use the standard IEC 62056-6-1 codes with Kamstrup's B = 1, marked ``standard_obis``:
a real meter may publish them elsewhere, which the gateway then reports as object-undefined.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum, IntFlag
from typing import Final

__all__ = [
    "BREAKER_STATE_NAMES",
    "OBJECTS",
    "Access",
    "CosemObject",
    "CouplingFeedback",
    "CouplingState",
    "CouplingWrite",
    "CutoffBasis",
    "MeterStatus",
    "by_name",
]


class Access(Enum):
    """What the optical LLS association (client 19) may do with attribute 2."""

    READ = "R"
    READ_WRITE = "RW"
    #: Writable only through a primary module; read-write-denied from the optical port.
    MODULE_WRITE = "R(W)"


@dataclass(frozen=True, slots=True)
class CosemObject:
    """One object: where it is, what it is, and how its value is scaled."""

    name: str
    obis: str
    class_id: int
    access: Access = Access.READ
    unit: str | None = None
    #: The scaler the emulator's default configuration gives (class 3/4 only).
    scaler: int = 0
    standard_obis: bool = False

    @property
    def logical_name(self) -> bytes:
        """The 6-byte logical name of attribute 1."""
        return bytes(int(part) for part in self.obis.split("."))


class CouplingState(IntEnum):
    """CouplingState 1.1.128.0.0.255 as read ([DLMS] §3)."""

    DISCONNECTED = 1
    CONNECTED = 4
    PRE_CUTOFF_WARNING = 5
    CUTOFF = 6
    CUTOFF_PREPAYMENT = 7
    READY_FOR_RECONNECTION = 8
    PREPAYMENT_LOW_MAX_EXPIRED = 9
    PUSH_BUTTON = 11
    NEUTRAL_FAULT = 12
    LOG_ONLY = 13
    OVERVOLTAGE = 14


class CouplingWrite(IntEnum):
    """What a client writes to CouplingState."""

    DISCONNECT = 1
    RELEASE = 2  # only from DISCONNECTED
    RECONNECT = 3  # only from READY_FOR_RECONNECTION


#: The contract's breaker ``state`` names (docs/mqtt.md); anything else is ``unknown``.
BREAKER_STATE_NAMES: Final = {
    CouplingState.DISCONNECTED: "disconnected",
    CouplingState.CONNECTED: "connected",
    CouplingState.PRE_CUTOFF_WARNING: "pre_cutoff_warning",
    CouplingState.CUTOFF: "cutoff",
    CouplingState.CUTOFF_PREPAYMENT: "cutoff_prepayment",
    CouplingState.READY_FOR_RECONNECTION: "ready_for_reconnection",
    CouplingState.PREPAYMENT_LOW_MAX_EXPIRED: "prepayment_low_max_expired",
    CouplingState.PUSH_BUTTON: "push_button",
    CouplingState.NEUTRAL_FAULT: "neutral_fault",
    CouplingState.LOG_ONLY: "log_only",
    CouplingState.OVERVOLTAGE: "overvoltage",
}


class CutoffBasis(IntFlag):
    """CutoffBasis 1.1.128.0.11.255 bits."""

    LOAD_CONTROLLED = 0x01
    PREPAYMENT = 0x02
    CURRENT_POWER = 0x04
    NEUTRAL_FAULT = 0x08
    LOG_ONLY = 0x10
    PREPAYMENT_NO_RESTRICTION = 0x20
    OVERVOLTAGE = 0x40


class CouplingFeedback(IntFlag):
    """CouplingFeedback 1.1.128.0.18.255 bits."""

    VOLTAGE_L1 = 0x01
    VOLTAGE_L2 = 0x02
    VOLTAGE_L3 = 0x04
    VALID = 0x08
    COMMUNICATION_OK = 0x10
    TRANSITION_PENDING = 0x40
    SWITCH_ERROR = 0x80


class MeterStatus(IntFlag):
    """MeterStatus 1.1.97.97.0.255 bits that the contract names."""

    RESET = 0x01
    MAGNET = 0x04
    COVER_OPEN = 0x40
    APS = 0x80


_R, _RW, _MW = Access.READ, Access.READ_WRITE, Access.MODULE_WRITE


def _phases(
    name: str, obis: str, unit: str | None, scaler: int, *, standard: bool = False
) -> list[CosemObject]:
    """L1–L3 objects whose C field is 32/52/72-style: *obis* holds ``{c}`` for C."""
    out = []
    for phase, offset in ((1, 0), (2, 20), (3, 40)):
        c = int(obis.split(".")[2]) + offset
        parts = obis.split(".")
        parts[2] = str(c)
        out.append(
            CosemObject(
                name.format(phase=phase),
                ".".join(parts),
                3,
                _R,
                unit,
                scaler,
                standard_obis=standard,
            )
        )
    return out


OBJECTS: Final[tuple[CosemObject, ...]] = (
    # Identity
    CosemObject("meter_number", "1.1.0.0.1.255", 1, _RW),
    CosemObject("serial_number", "1.1.96.1.0.255", 1),
    CosemObject("meter_type", "1.1.96.1.1.255", 1),
    CosemObject("firmware", "1.1.0.2.0.255", 1),
    CosemObject("clock", "0.1.1.0.0.255", 8, _RW),
    # Energy registers (Wh at scaler 0; the emulator may configure 1 for 10 Wh)
    CosemObject("active_energy_import", "1.1.1.8.0.255", 3, _R, "Wh"),
    *(
        CosemObject(f"active_energy_import_t{t}", f"1.1.1.8.{t}.255", 3, _R, "Wh")
        for t in range(1, 5)
    ),
    CosemObject("active_energy_export", "1.1.2.8.0.255", 3, _R, "Wh"),
    CosemObject("reactive_energy_import", "1.1.3.8.0.255", 3, _R, "varh"),
    CosemObject("reactive_energy_export", "1.1.4.8.0.255", 3, _R, "varh"),
    # Instantaneous values
    CosemObject("active_power_import", "1.1.1.7.0.255", 3, _R, "W"),
    CosemObject("active_power_export", "1.1.2.7.0.255", 3, _R, "W"),
    CosemObject("reactive_power_import", "1.1.3.7.0.255", 3, _R, "var"),
    CosemObject("reactive_power_export", "1.1.4.7.0.255", 3, _R, "var"),
    *_phases("current_l{phase}", "1.1.31.7.0.255", "A", -2),
    *_phases("voltage_l{phase}", "1.1.32.7.0.255", "V", 0),
    CosemObject("power_factor", "1.1.13.7.0.255", 3, _R, None, -2),
    CosemObject("frequency", "1.1.14.7.0.255", 3, _R, "Hz", -2),
    *(
        CosemObject(f"reactive_energy_import_t{t}", f"1.1.3.8.{t}.255", 3, _R, "varh")
        for t in range(1, 5)
    ),
    *(
        CosemObject(f"reactive_energy_q{q}", f"1.1.{4 + q}.8.0.255", 3, _R, "varh")
        for q in range(1, 5)
    ),
    CosemObject("apparent_energy_import", "1.1.9.8.0.255", 3, _R, "VAh"),
    CosemObject("apparent_energy_export", "1.1.10.8.0.255", 3, _R, "VAh"),
    # Peak power over the integration period (class 4: capture_time is when it was reached)
    CosemObject("max_active_power_import", "1.1.1.6.0.255", 4, _R, "W"),
    *(
        CosemObject(f"max_active_power_import_t{t}", f"1.1.1.6.{t}.255", 4, _R, "W")
        for t in range(1, 5)
    ),
    CosemObject("max_reactive_power_import", "1.1.3.6.0.255", 4, _R, "var"),
    *(
        CosemObject(f"max_reactive_power_import_t{t}", f"1.1.3.6.{t}.255", 4, _R, "var")
        for t in range(1, 5)
    ),
    CosemObject("max_apparent_power_import", "1.1.9.6.0.255", 4, _R, "VA"),
    CosemObject("max_apparent_power_export", "1.1.10.6.0.255", 4, _R, "VA"),
    # Accumulated maxima: the sum of each debiting period's maximum (data sheet)
    CosemObject("accumulated_max_active_power_import", "1.1.1.2.0.255", 3, _R, "W"),
    CosemObject("accumulated_max_active_power_import_t1", "1.1.1.2.1.255", 3, _R, "W"),
    CosemObject("accumulated_max_active_power_import_t2", "1.1.1.2.2.255", 3, _R, "W"),
    CosemObject("accumulated_max_reactive_power_import", "1.1.3.2.0.255", 3, _R, "var"),
    # Debiting (billing) counters; see omnipower_logs for the choices of OBIS code
    CosemObject("debiting_stop_counter", "1.1.0.1.0.255", 1),
    CosemObject("hour_counter", "1.1.96.8.0.255", 3, _R, "h"),
    CosemObject("power_threshold_counter", "1.1.1.36.0.255", 1, standard_obis=True),
    CosemObject("pulse_input", "1.1.82.8.1.255", 3, _R, None, standard_obis=True),
    # Power quality (standard OBIS, see the module docstring)
    *_phases("voltage_thd_l{phase}", "1.1.32.7.124.255", "%", -1, standard=True),
    *_phases("current_thd_l{phase}", "1.1.31.7.124.255", "%", -1, standard=True),
    *_phases("voltage_sag_count_l{phase}", "1.1.32.32.0.255", None, 0, standard=True),
    *_phases("voltage_swell_count_l{phase}", "1.1.32.36.0.255", None, 0, standard=True),
    # 10-minute means outside Un ± 10 % (EN 50160), the code the 1107 readings use for L1
    *_phases("voltage_variation_count_l{phase}", "1.1.32.37.0.255", None, 0, standard=True),
    # Largest deviation of a phase voltage from the mean of the three (3-phase meters only)
    CosemObject("voltage_unbalance", "1.1.135.0.4.255", 3, _R, "%", -1),
    # Breaker
    CosemObject("coupling_state", "1.1.128.0.0.255", 1, _RW),
    CosemObject("coupling_mode", "1.1.128.0.10.255", 1, _RW),
    CosemObject("cutoff_basis", "1.1.128.0.11.255", 1, _MW),
    CosemObject("coupling_feedback", "1.1.128.0.18.255", 1),
    # Prepayment (kWh, counting down)
    CosemObject("prepayment_credit", "1.1.130.0.0.255", 3, _MW, "kWh"),
    CosemObject("prepayment_exception_credit", "1.1.130.0.1.255", 3, _R, "kWh"),
    CosemObject("prepayment_last_top_up", "1.1.130.0.4.255", 4, _R, "kWh"),
    CosemObject("prepayment_exception_start", "1.1.130.0.2.255", 1, _RW),
    CosemObject("prepayment_exception_end", "1.1.130.0.3.255", 1, _RW),
    CosemObject("prepayment_time_remaining", "1.1.130.0.6.255", 1),
    CosemObject("prepayment_alarm_limit", "1.1.130.0.7.255", 1, _RW),
    CosemObject("prepayment_low_max_days", "1.1.128.0.9.255", 1, _RW),
    # Tariff, relays, status
    CosemObject("actual_tariff", "1.1.129.0.0.255", 1, _RW),
    CosemObject("tariff_source", "1.1.129.0.1.255", 1),  # omnipower_logs.TariffSource
    CosemObject("tariff_inputs", "1.1.129.0.2.255", 1),  # b0 input 1, b1 input 2
    CosemObject("relay_1", "1.1.96.52.1.255", 1, _RW),
    CosemObject("relay_2", "1.1.96.52.3.255", 1, _RW),
    CosemObject("meter_status", "1.1.97.97.0.255", 1),
    CosemObject("event_status_a", "0.1.96.10.1.255", 1),
    CosemObject("event_status_b", "0.1.96.10.2.255", 1, _RW),
    # The last logged event (omnipower_logs: the columns of the event logs)
    CosemObject("event_code", "1.1.96.11.0.255", 1, standard_obis=True),
    CosemObject("pq_event_code", "1.1.96.11.4.255", 1, standard_obis=True),
    CosemObject("event_duration", "1.1.135.0.1.255", 3, _R, "s", -3),
    CosemObject("pq_event_extreme_voltage", "1.1.135.0.2.255", 3, _R, "V", -1),
    CosemObject("pq_event_phase", "1.1.135.0.3.255", 1),
    # Profiles
    CosemObject("load_profile", "1.1.99.1.0.255", 7),
    CosemObject("analysis_log", "1.1.99.2.0.255", 7),
    CosemObject("billing_log_1", "1.1.98.1.0.255", 7),
    CosemObject("billing_log_2", "1.1.98.2.0.255", 7),
    CosemObject("standard_event_log", "1.1.99.98.0.255", 7, standard_obis=True),
    CosemObject("power_quality_log", "1.1.99.98.4.255", 7, standard_obis=True),
    CosemObject("cutoff_log", "1.1.99.98.5.255", 7),
)

_BY_NAME: Final = {obj.name: obj for obj in OBJECTS}


def by_name(name: str) -> CosemObject:
    """The object called *name* (KeyError names the unknown one)."""
    return _BY_NAME[name]
