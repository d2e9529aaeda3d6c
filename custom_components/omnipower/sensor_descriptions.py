"""The sensor table: every value of the contract a sensor shows, and how to read it.

One description per payload key (docs/mqtt.md); the entities that show them live in
``sensor.py``. Only data here, so the table can be read (and grow) without the entity logic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfReactivePower,
    UnitOfTime,
)
from homeassistant.helpers.typing import StateType

from .data import MeterData, Payload

#: Reactive energy got its own device class after 2025.4; without it the sensor has none.
REACTIVE_ENERGY: Final[SensorDeviceClass | None] = getattr(
    SensorDeviceClass, "REACTIVE_ENERGY", None
)
KVARH: Final = "kvarh"
PHASES: Final = (1, 2, 3)
TARIFFS: Final = tuple(range(1, 9))
BREAKER_STATES: Final = [
    "connected",
    "disconnected",
    "ready_for_reconnection",
    "pre_cutoff_warning",
    "cutoff",
    "cutoff_prepayment",
    "prepayment_low_max_expired",
    "push_button",
    "neutral_fault",
    "log_only",
    "overvoltage",
    "unknown",
]
NO_ERROR: Final = "none"
OTHER_ERROR: Final = "other"
PORT_STATES: Final = ["connecting", "open", "unavailable", "finished"]
#: Error codes with their own (disabled) counter; the total counts every code.
ERROR_CODES: Final = (
    "authentication_failed",
    "keys_swapped",
    "decryption_failed",
    "missing_key",
    "replayed_frame",
    "hcs_error",
    "fcs_error",
    "frame_truncated",
    "malformed_data",
    "unknown_list_version",
    "port_unavailable",
)


@dataclass(frozen=True, kw_only=True)
class OmnipowerSensorEntityDescription(SensorEntityDescription):
    """A value of one contract topic; ``field`` defaults to the key."""

    topic: str
    field: str | None = None
    value_fn: Callable[[Payload], StateType] | None = None
    #: The keys ``value_fn`` reads (None: any key of the topic).
    value_keys: frozenset[str] | None = None
    #: State attributes from the payload (only where the state alone loses information).
    attributes_fn: Callable[[Payload], dict[str, Any] | None] | None = None
    #: Shown while the gateway is online even when readings are stale (diagnostics).
    diagnostic_source: bool = False

    @property
    def watch(self) -> frozenset[str] | None:
        """The payload keys whose change can change this sensor."""
        if self.value_fn is not None:
            return self.value_keys
        return frozenset({self.field or self.key})

    def value(self, payload: Payload) -> StateType:
        """The state from the topic's payload."""
        if self.value_fn is not None:
            return self.value_fn(payload)
        value = payload.get(self.field or self.key)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return None
        return value

    def exists(self, data: MeterData) -> bool:
        """Whether the meter publishes this value."""
        if self.topic not in data.payloads:
            return False
        if self.value_fn is not None:
            return True
        return data.has(self.topic, self.field or self.key)


def _interval_value(key: str) -> Callable[[Payload], StateType]:
    def value(payload: Payload) -> StateType:
        interval = payload.get("interval")
        number = interval.get(key) if isinstance(interval, dict) else None
        return number if isinstance(number, int | float) and not isinstance(number, bool) else None

    return value


def _interval_details(payload: Payload) -> dict[str, Any] | None:
    interval = payload.get("interval")
    if not isinstance(interval, dict):
        return None
    return {
        "interval_start": interval.get("start"),
        "interval_end": interval.get("end"),
        "average_kw": interval.get("average_kw"),
        "complete": interval.get("complete"),
        "weight": interval.get("weight"),
    }


def _month_details(payload: Payload) -> dict[str, Any] | None:
    details = {
        "rule": payload.get("rule"),
        "month": payload.get("month"),
        "peaks": payload.get("peaks"),
        "missing_intervals": payload.get("missing_intervals"),
        "last_month": payload.get("last_month"),
    }
    if "rolling_billing_kw" in payload:
        details["rolling_billing_kw"] = payload["rolling_billing_kw"]
    if payload.get("price_per_kw") is not None:
        details["price_per_kw"] = payload["price_per_kw"]
        details["cost"] = payload.get("cost")
        details["currency"] = payload.get("currency")
    return details


def _step_number(payload: Payload) -> StateType:
    step = payload.get("step")
    index = step.get("index") if isinstance(step, dict) else None
    return index + 1 if isinstance(index, int) and not isinstance(index, bool) else None


def _step_details(payload: Payload) -> dict[str, Any] | None:
    step = payload.get("step")
    if not isinstance(step, dict):
        return None
    return {
        "lower_kw": step.get("lower_kw"),
        "upper_kw": step.get("upper_kw"),
        "price": step.get("price"),
        "currency": payload.get("currency"),
    }


def _limit_details(payload: Payload) -> dict[str, Any] | None:
    return {"interval_limit_kw": payload.get("interval_limit_kw")}


def _demand_sensors() -> list[OmnipowerSensorEntityDescription]:
    """The ``demand`` topic (docs/demand.md): what this interval and this month will cost."""
    power: dict[str, Any] = {
        "topic": "demand",
        "device_class": SensorDeviceClass.POWER,
        "native_unit_of_measurement": UnitOfPower.KILO_WATT,
        "state_class": SensorStateClass.MEASUREMENT,
        "suggested_display_precision": 2,
    }
    return [
        OmnipowerSensorEntityDescription(
            key="demand_projection_kw",
            translation_key="demand_projection",
            value_fn=_interval_value("projection_kw"),
            value_keys=frozenset({"interval"}),
            attributes_fn=_interval_details,
            **power,
        ),
        OmnipowerSensorEntityDescription(
            key="demand_billing_kw",
            field="billing_kw",
            translation_key="demand_billing",
            attributes_fn=_month_details,
            **power,
        ),
        OmnipowerSensorEntityDescription(
            key="demand_headroom_kw",
            field="headroom_kw",
            translation_key="demand_headroom",
            attributes_fn=_limit_details,
            **power,
        ),
        OmnipowerSensorEntityDescription(
            key="demand_step",
            topic="demand",
            translation_key="demand_step",
            value_fn=_step_number,
            value_keys=frozenset({"step", "currency"}),
            attributes_fn=_step_details,
        ),
    ]


def _power(key: str, translation_key: str, **extra: Any) -> OmnipowerSensorEntityDescription:
    reactive = key.endswith("_var")
    return OmnipowerSensorEntityDescription(
        key=key,
        topic="power",
        translation_key=translation_key,
        device_class=SensorDeviceClass.REACTIVE_POWER if reactive else SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfReactivePower.VOLT_AMPERE_REACTIVE
        if reactive
        else UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        **extra,
    )


def _energy(key: str, translation_key: str, **extra: Any) -> OmnipowerSensorEntityDescription:
    reactive = key.endswith("_kvarh")
    return OmnipowerSensorEntityDescription(
        key=key,
        topic="energy",
        translation_key=translation_key,
        device_class=REACTIVE_ENERGY if reactive else SensorDeviceClass.ENERGY,
        native_unit_of_measurement=KVARH if reactive else UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=3,
        **extra,
    )


def _phase(phase: int) -> dict[str, Any]:
    return {"translation_placeholders": {"phase": str(phase)}}


def _tariff(tariff: int) -> dict[str, Any]:
    return {"translation_placeholders": {"tariff": str(tariff)}}


def _errors_total(payload: Payload) -> StateType:
    errors = payload.get("errors")
    if not isinstance(errors, dict):
        return None
    return sum(count for count in errors.values() if isinstance(count, int))


def _error_count(code: str) -> Callable[[Payload], StateType]:
    def value(payload: Payload) -> StateType:
        errors = payload.get("errors")
        count = errors.get(code, 0) if isinstance(errors, dict) else None
        return count if isinstance(count, int) else None

    return value


def _last_error(payload: Payload) -> StateType:
    """A known code, ``other`` for the rest, ``none`` before the first error (not unknown)."""
    last = payload.get("last_error")
    if not isinstance(last, dict) or "code" not in last:
        return NO_ERROR
    code = last["code"]
    return code if code in ERROR_CODES else OTHER_ERROR


def _last_error_details(payload: Payload) -> dict[str, Any] | None:
    """The raw code and the gateway's text (``other`` hides which code it was)."""
    last = payload.get("last_error")
    if not isinstance(last, dict):
        return None
    return {"code": last.get("code"), "text": last.get("text"), "at": last.get("at")}


def _ccc_port(payload: Payload) -> StateType:
    ports = payload.get("ports")
    port = ports.get("ccc") if isinstance(ports, dict) else None
    state = port.get("state") if isinstance(port, dict) else None
    return state if state in PORT_STATES else None


def _tariff_state(payload: Payload) -> StateType:
    tariff = payload.get("active_tariff")
    return str(tariff) if isinstance(tariff, int) and 1 <= tariff <= 8 else None


def _breaker_state(payload: Payload) -> StateType:
    state = payload.get("state")
    return state if state in BREAKER_STATES else "unknown"


def _descriptions() -> list[OmnipowerSensorEntityDescription]:
    out = [
        _energy("active_energy_import_kwh", "energy_import"),
        _energy("active_energy_export_kwh", "energy_export"),
        _energy("reactive_energy_import_kvarh", "reactive_energy_import"),
        _energy("reactive_energy_export_kvarh", "reactive_energy_export"),
    ]
    for tariff in TARIFFS:
        out += [
            _energy(
                f"active_energy_import_t{tariff}_kwh", "energy_import_tariff", **_tariff(tariff)
            ),
            _energy(
                f"active_energy_export_t{tariff}_kwh", "energy_export_tariff", **_tariff(tariff)
            ),
            _energy(
                f"reactive_energy_import_t{tariff}_kvarh",
                "reactive_energy_import_tariff",
                entity_registry_enabled_default=False,
                **_tariff(tariff),
            ),
            _energy(
                f"reactive_energy_export_t{tariff}_kvarh",
                "reactive_energy_export_tariff",
                entity_registry_enabled_default=False,
                **_tariff(tariff),
            ),
        ]
    for phase in PHASES:
        out += [
            _energy(f"active_energy_import_l{phase}_kwh", "energy_import_phase", **_phase(phase)),
            _energy(f"active_energy_export_l{phase}_kwh", "energy_export_phase", **_phase(phase)),
            _energy(
                f"reactive_energy_import_l{phase}_kvarh",
                "reactive_energy_import_phase",
                entity_registry_enabled_default=False,
                **_phase(phase),
            ),
            _energy(
                f"reactive_energy_export_l{phase}_kvarh",
                "reactive_energy_export_phase",
                entity_registry_enabled_default=False,
                **_phase(phase),
            ),
        ]
    out += [
        _power("active_power_import_w", "power_import"),
        _power("active_power_export_w", "power_export"),
        _power("net_power_w", "net_power"),
        _power("reactive_power_import_var", "reactive_power_import"),
        _power("reactive_power_export_var", "reactive_power_export"),
        OmnipowerSensorEntityDescription(
            key="power_factor",
            topic="power",
            translation_key="power_factor",
            device_class=SensorDeviceClass.POWER_FACTOR,
            state_class=SensorStateClass.MEASUREMENT,
        ),
        OmnipowerSensorEntityDescription(
            key="frequency_hz",
            topic="power",
            translation_key="frequency",
            device_class=SensorDeviceClass.FREQUENCY,
            native_unit_of_measurement=UnitOfFrequency.HERTZ,
            state_class=SensorStateClass.MEASUREMENT,
        ),
    ]
    for phase in PHASES:
        out += [
            _power(f"active_power_import_l{phase}_w", "power_import_phase", **_phase(phase)),
            _power(f"active_power_export_l{phase}_w", "power_export_phase", **_phase(phase)),
            _power(
                f"reactive_power_import_l{phase}_var",
                "reactive_power_import_phase",
                entity_registry_enabled_default=False,
                **_phase(phase),
            ),
            _power(
                f"reactive_power_export_l{phase}_var",
                "reactive_power_export_phase",
                entity_registry_enabled_default=False,
                **_phase(phase),
            ),
            OmnipowerSensorEntityDescription(
                key=f"voltage_l{phase}_v",
                topic="power",
                translation_key="voltage_phase",
                device_class=SensorDeviceClass.VOLTAGE,
                native_unit_of_measurement=UnitOfElectricPotential.VOLT,
                state_class=SensorStateClass.MEASUREMENT,
                **_phase(phase),
            ),
            OmnipowerSensorEntityDescription(
                key=f"current_l{phase}_a",
                topic="power",
                translation_key="current_phase",
                device_class=SensorDeviceClass.CURRENT,
                native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
                state_class=SensorStateClass.MEASUREMENT,
                **_phase(phase),
            ),
            OmnipowerSensorEntityDescription(
                key=f"power_factor_l{phase}",
                topic="power",
                translation_key="power_factor_phase",
                device_class=SensorDeviceClass.POWER_FACTOR,
                state_class=SensorStateClass.MEASUREMENT,
                **_phase(phase),
            ),
            OmnipowerSensorEntityDescription(
                key=f"voltage_thd_l{phase}_pct",
                topic="quality",
                translation_key="voltage_thd_phase",
                native_unit_of_measurement=PERCENTAGE,
                state_class=SensorStateClass.MEASUREMENT,
                **_phase(phase),
            ),
            OmnipowerSensorEntityDescription(
                key=f"current_thd_l{phase}_pct",
                topic="quality",
                translation_key="current_thd_phase",
                native_unit_of_measurement=PERCENTAGE,
                state_class=SensorStateClass.MEASUREMENT,
                **_phase(phase),
            ),
            OmnipowerSensorEntityDescription(
                key=f"voltage_sag_count_l{phase}",
                topic="quality",
                translation_key="voltage_sags_phase",
                state_class=SensorStateClass.TOTAL_INCREASING,
                **_phase(phase),
            ),
            OmnipowerSensorEntityDescription(
                key=f"voltage_swell_count_l{phase}",
                topic="quality",
                translation_key="voltage_swells_phase",
                state_class=SensorStateClass.TOTAL_INCREASING,
                **_phase(phase),
            ),
        ]
    out += [
        OmnipowerSensorEntityDescription(
            key="voltage_unbalance_pct",
            topic="quality",
            translation_key="voltage_unbalance",
            native_unit_of_measurement=PERCENTAGE,
            state_class=SensorStateClass.MEASUREMENT,
        ),
        OmnipowerSensorEntityDescription(
            key="active_tariff",
            topic="tariff",
            translation_key="active_tariff",
            device_class=SensorDeviceClass.ENUM,
            options=[str(tariff) for tariff in TARIFFS],
            value_fn=_tariff_state,
            value_keys=frozenset({"active_tariff"}),
        ),
        OmnipowerSensorEntityDescription(
            key="tariff_source",
            field="source",
            topic="tariff",
            translation_key="tariff_source",
            device_class=SensorDeviceClass.ENUM,
            options=["calendar", "input", "forced"],
        ),
        OmnipowerSensorEntityDescription(
            key="breaker_state",
            topic="breaker",
            translation_key="breaker_state",
            device_class=SensorDeviceClass.ENUM,
            options=BREAKER_STATES,
            value_fn=_breaker_state,
            value_keys=frozenset({"state"}),
        ),
        OmnipowerSensorEntityDescription(
            key="prepayment_credit_kwh",
            field="credit_kwh",
            topic="prepayment",
            translation_key="prepayment_credit",
            device_class=SensorDeviceClass.ENERGY,
            native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        ),
        OmnipowerSensorEntityDescription(
            key="prepayment_alarm_limit_kwh",
            field="alarm_limit_kwh",
            topic="prepayment",
            translation_key="prepayment_alarm_limit",
            device_class=SensorDeviceClass.ENERGY,
            native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        ),
        OmnipowerSensorEntityDescription(
            key="prepayment_last_top_up_kwh",
            field="last_top_up_kwh",
            topic="prepayment",
            translation_key="prepayment_last_top_up",
            device_class=SensorDeviceClass.ENERGY,
            native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        ),
        OmnipowerSensorEntityDescription(
            key="clock_drift_s",
            field="drift_s",
            topic="clock",
            translation_key="clock_drift",
            device_class=SensorDeviceClass.DURATION,
            native_unit_of_measurement=UnitOfTime.SECONDS,
            state_class=SensorStateClass.MEASUREMENT,
            entity_category=EntityCategory.DIAGNOSTIC,
        ),
        OmnipowerSensorEntityDescription(
            key="frames_ok",
            topic="diagnostics",
            translation_key="frames_ok",
            state_class=SensorStateClass.TOTAL_INCREASING,
            entity_category=EntityCategory.DIAGNOSTIC,
            entity_registry_enabled_default=False,
            diagnostic_source=True,
        ),
        OmnipowerSensorEntityDescription(
            key="errors_total",
            topic="diagnostics",
            translation_key="errors_total",
            state_class=SensorStateClass.TOTAL_INCREASING,
            entity_category=EntityCategory.DIAGNOSTIC,
            value_fn=_errors_total,
            value_keys=frozenset({"errors"}),
            diagnostic_source=True,
        ),
        OmnipowerSensorEntityDescription(
            key="last_error",
            topic="diagnostics",
            translation_key="last_error",
            device_class=SensorDeviceClass.ENUM,
            options=[NO_ERROR, OTHER_ERROR, *ERROR_CODES],
            entity_category=EntityCategory.DIAGNOSTIC,
            value_fn=_last_error,
            attributes_fn=_last_error_details,
            value_keys=frozenset({"last_error"}),
            diagnostic_source=True,
        ),
        OmnipowerSensorEntityDescription(
            key="ccc_port",
            topic="diagnostics",
            translation_key="ccc_port",
            device_class=SensorDeviceClass.ENUM,
            options=PORT_STATES,
            entity_category=EntityCategory.DIAGNOSTIC,
            value_fn=_ccc_port,
            value_keys=frozenset({"ports"}),
            diagnostic_source=True,
        ),
    ]
    out += [
        OmnipowerSensorEntityDescription(
            key=f"errors_{code}",
            topic="diagnostics",
            translation_key=f"errors_{code}",
            state_class=SensorStateClass.TOTAL_INCREASING,
            entity_category=EntityCategory.DIAGNOSTIC,
            entity_registry_enabled_default=False,
            value_fn=_error_count(code),
            value_keys=frozenset({"errors"}),
            diagnostic_source=True,
        )
        for code in ERROR_CODES
    ]
    out += _demand_sensors()
    return out


SENSORS: Final = _descriptions()
