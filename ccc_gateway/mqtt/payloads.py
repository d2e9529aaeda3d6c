"""Pure builders: a checked push or a meter's state in, the contract's JSON object out.

Every state payload carries ``ts`` (the meter's own time as aware ISO 8601, docs/mqtt.md) and
``schema``; units are in the key names. The builders never see a frame that failed a check: the
decoder only hands out pushes that passed them all (docs/gateway.md, Integrity).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any, Final

from ..meter import MeterView
from ..protocol import Push, Reading
from ..protocol.obis import CLOCK, QuantityKind, quantity_of

__all__ = [
    "SCHEMA_VERSION",
    "diagnostics_payload",
    "dumps",
    "energy_payload",
    "info_payload",
    "meter_time",
    "power_payload",
]

SCHEMA_VERSION: Final = 1

#: Unit → (key suffix, factor to the published unit). Energy goes out in kWh / kvarh, power in
#: W / var, whatever the list sends (DLMS lists send Wh and W, HAN P1 telegrams kWh and kW).
_UNITS: Final[dict[str | None, tuple[str, float]]] = {
    "W": ("w", 1),
    "kW": ("w", 1000),
    "var": ("var", 1),
    "kvar": ("var", 1000),
    "kVAr": ("var", 1000),
    "V": ("v", 1),
    "A": ("a", 1),
    "Hz": ("hz", 1),
    "Wh": ("kwh", 1e-3),
    "kWh": ("kwh", 1),
    "varh": ("kvarh", 1e-3),
    "kvarh": ("kvarh", 1),
    "kVArh": ("kvarh", 1),
    None: ("", 1),
}
_POWER_KINDS: Final = frozenset(
    {
        QuantityKind.POWER,
        QuantityKind.VOLTAGE,
        QuantityKind.CURRENT,
        QuantityKind.POWER_FACTOR,
        QuantityKind.FREQUENCY,
    }
)


def dumps(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, as published."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def meter_time(push: Push, zone: tzinfo, fallback: datetime) -> datetime:
    """The push's own time, made aware in the meter's zone; *fallback* (the host's clock, aware)
    when the push carries no valid time."""
    moment = push.apdu_datetime
    if moment is None:
        clock = push.value(CLOCK)
        moment = clock if clock is not None and hasattr(clock, "to_datetime") else None
    if moment is None:
        return fallback
    try:
        return moment.to_datetime(zone)
    except ValueError:  # MalformedData is a ValueError too: an unspecified field
        return fallback


def _key(reading: Reading) -> str:
    suffix, _ = _UNITS.get(reading.unit, ("", 1))
    return f"{reading.name}_{suffix}" if suffix else reading.name


def _value(reading: Reading) -> int | float:
    _, factor = _UNITS.get(reading.unit, ("", 1))
    if factor == 1:
        value: int | float = reading.value
        return value
    # Six decimals undo the binary noise of the conversion (866636 Wh is 866.636 kWh, not
    # 866.6360000000001) and stay far below any meter's resolution.
    converted: float = round(reading.value * factor, 6)
    return converted


def _numeric(readings: Iterable[Reading], kinds: frozenset[QuantityKind]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for reading in readings:
        if quantity_of(reading.obis).kind in kinds and isinstance(reading.value, int | float):
            out[_key(reading)] = _value(reading)
    return out


def power_payload(push: Push, ts: datetime) -> dict[str, Any] | None:
    """Instantaneous values of one push (non-retained, every push); None if it has none."""
    values = _numeric(push.readings.values(), _POWER_KINDS)
    if not values:
        return None
    imported = values.get("active_power_import_w")
    exported = values.get("active_power_export_w")
    if imported is not None and exported is not None:
        values["net_power_w"] = imported - exported
    return {"ts": ts.isoformat(), "schema": SCHEMA_VERSION, **values}


def energy_payload(push: Push, ts: datetime) -> dict[str, Any] | None:
    """Register values (retained); None for a push that carries no energy register."""
    values = _numeric(push.readings.values(), frozenset({QuantityKind.ENERGY}))
    if not values:
        return None
    return {"ts": ts.isoformat(), "schema": SCHEMA_VERSION, **values}


def info_payload(
    meter: MeterView,
    *,
    gateway_id: str,
    version: str,
    ports: list[str],
    ts: datetime,
    capabilities: Iterable[str] = (),
    commands: Iterable[str] = (),
    signed_commands: bool = False,
) -> dict[str, Any]:
    """Identity and capabilities (retained): what the ports in use can read, which commands run."""
    offered = set(capabilities)
    return {
        "ts": ts.isoformat(),
        "schema": SCHEMA_VERSION,
        "serial": meter.meter_id,
        "gs1": meter.gs1,
        "meter_type": meter.meter_type,
        "firmware": meter.firmware,
        "list_version": meter.list_version,
        "phases": meter.phases,
        "gateway": {"id": gateway_id, "version": version},
        "ports": ports,
        "capabilities": {
            **{
                name: name in offered
                for name in (
                    "breaker",
                    "relays",
                    "prepayment",
                    "tariffs",
                    "load_profile",
                    "power_quality",
                )
            },
            "commands": sorted(commands),
            "signed_commands": signed_commands,
        },
    }


def diagnostics_payload(meter: MeterView, ts: datetime) -> dict[str, Any]:
    """Counters per failure kind, frames ok, last error, port states, last invocation counter.

    Never a key or a password: only counters, codes, texts the errors themselves build (which
    hold no secrets) and port descriptions.
    """
    last = meter.last_error
    return {
        "ts": ts.isoformat(),
        "schema": SCHEMA_VERSION,
        "frames_ok": meter.frames_ok,
        "errors": dict(sorted(meter.errors.items())),
        "last_error": None
        if last is None
        else {"code": last.code, "text": last.text, "hint": last.hint, "at": last.at.isoformat()},
        "ports": {
            status.name: {
                "port": status.description,
                "state": status.state.value,
                "reason": status.reason,
            }
            for status in meter.ports.values()
        },
        "last_invocation_counter": meter.last_invocation_counter,
        "last_push": None if meter.last_push_at is None else meter.last_push_at.isoformat(),
        "scaler_mismatch": [meter.scaler_mismatches[k] for k in sorted(meter.scaler_mismatches)],
    }
