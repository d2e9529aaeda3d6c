"""The meter's registers as the outside sees them: push snapshot (OBIS → raw) and readings.

The push snapshot feeds ``meter_emulator.ports.push_lists``: OBIS codes "A.B.C.D.E.F" mapped to
the raw integer the meter sends at the configured resolution ([HAN]: energy 1 Wh or
10 Wh following the display format, current 0.01 A (0.001 A on CT meters), voltage 1 V or
0.01 V, power factor 0.01, frequency 0.01 Hz), identities as strings, plus ``clock_dst`` for the
APDU date-time. Registers the meter does not have are left out, so the push lists send them as
null-data or omit them, as the list profile says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ccc_gateway.protocol.axdr import CosemDateTime

if TYPE_CHECKING:
    from .engine import MeterEngine

__all__ = ["push_snapshot", "readings"]

_PHASE_C = {1: (21, 22, 31, 32, 33), 2: (41, 42, 51, 52, 53), 3: (61, 62, 71, 72, 73)}
#: Per-phase reactive import / export (Q12 / Q34), which only the HAN P1 telegram carries.
_PHASE_Q = {1: (23, 24), 2: (43, 44), 3: (63, 64)}


def _w(milli: int) -> int:
    """Milli-units to whole units, rounded half up, never negative."""
    return max((milli + 500) // 1000, 0)


def push_snapshot(meter: MeterEngine) -> dict[str, int | str | CosemDateTime]:
    """Raw values by OBIS code (see the module docstring)."""
    config = meter.config
    energy = meter.energy
    identity = meter.identity
    measured = meter.measured
    has_export = identity.type_number.energy_type.has_export
    has_reactive = identity.type_number.energy_type.has_reactive
    e_div = 10**config.energy_scaler
    v_mul = 100 if config.push.voltage_scaler == -2 else 1
    i_mul = 1000 if identity.type_number.ct_connected else 100
    out: dict[str, int | str | CosemDateTime] = {
        "1.1.0.0.5.255": identity.gs1,
        "1.1.96.1.1.255": identity.type_number.code,
        "1.1.0.0.1.255": identity.meter_number,
        "1.1.1.7.0.255": _w(measured.active_mw),
        "1.1.1.8.0.255": energy.wh("a_plus") // e_div,
        "1.1.13.7.0.255": round(measured.power_factor * 100),
        "1.1.14.7.0.255": round(measured.frequency_hz * 100),
        "clock_dst": int(meter.dst()),
    }
    if has_export:
        out["1.1.2.7.0.255"] = _w(-measured.active_mw)
        out["1.1.2.8.0.255"] = energy.wh("a_minus") // e_div
    if has_reactive:
        out["1.1.3.7.0.255"] = _w(measured.reactive_mvar)
        out["1.1.4.7.0.255"] = _w(-measured.reactive_mvar)
        out["1.1.3.8.0.255"] = energy.wh("r_plus") // e_div
        out["1.1.4.8.0.255"] = energy.wh("r_minus") // e_div
    for index, phase in enumerate(measured.phases, start=1):
        p_plus, p_minus, current, voltage, pf = _PHASE_C[index]
        out[f"1.1.{p_plus}.7.0.255"] = _w(phase.active_mw)
        out[f"1.1.{p_plus}.8.0.255"] = energy.wh(f"a_plus_l{index}") // e_div
        if has_export:
            out[f"1.1.{p_minus}.7.0.255"] = _w(-phase.active_mw)
            out[f"1.1.{p_minus}.8.0.255"] = energy.wh(f"a_minus_l{index}") // e_div
        if has_reactive:
            q_plus, q_minus = _PHASE_Q[index]
            out[f"1.1.{q_plus}.7.0.255"] = _w(phase.reactive_mvar)
            out[f"1.1.{q_minus}.7.0.255"] = _w(-phase.reactive_mvar)
        out[f"1.1.{current}.7.0.255"] = round(phase.current_a * i_mul)
        out[f"1.1.{voltage}.7.0.255"] = round(phase.voltage_v * v_mul)
        out[f"1.1.{pf}.7.0.255"] = round(phase.power_factor * 100)
    return out


def _kwh(meter: MeterEngine, name: str) -> float:
    """A register in kWh at the display resolution (truncated)."""
    decimals = meter.config.display_format[1]
    step: int = 10 ** (3 - decimals)
    return meter.energy.wh(name) // step * step / 1000


def readings(meter: MeterEngine) -> dict[str, tuple[Any, str]]:
    """Every register by OBIS C.D.E → (value, unit)."""
    energy = meter.energy
    measured = meter.measured
    out: dict[str, tuple[Any, str]] = {
        "0.0.0": (meter.identity.meter_number, ""),
        "96.1.0": (meter.identity.serial, ""),
        "96.1.1": (meter.identity.type_number.code, ""),
        "0.0.5": (meter.identity.gs1, ""),
        "0.2.0": (meter.identity.firmware, ""),
        "0.9.1": (meter.local().strftime("%H:%M:%S"), ""),
        "0.9.2": (meter.local().strftime("%y-%m-%d"), ""),
        "1.7.0": (_w(measured.active_mw) / 1000, "kW"),
        "2.7.0": (_w(-measured.active_mw) / 1000, "kW"),
        "3.7.0": (_w(measured.reactive_mvar) / 1000, "kvar"),
        "4.7.0": (_w(-measured.reactive_mvar) / 1000, "kvar"),
        "9.7.0": (round(measured.apparent_mva / 1e6, 3) if measured.active_mw >= 0 else 0.0, "kVA"),
        "10.7.0": (round(measured.apparent_mva / 1e6, 3) if measured.active_mw < 0 else 0.0, "kVA"),
        "13.7.0": (round(measured.power_factor, 2), ""),
        "14.7.0": (round(measured.frequency_hz, 2), "Hz"),
        "96.52.1": (int(meter.relays.relay1), ""),
        "96.52.3": (int(meter.relays.relay2), ""),
        "97.97.0": (int(meter.meter_status), ""),
        "129.0.0": (meter.tariff, ""),
        "128.0.0": (meter.breaker.state.value if meter.breaker.present else 0, ""),
        "0.1.0": (meter.debiting.stop_count, ""),
        "0.8.0": (meter.debiting.hour_counter, "h"),
        "82.8.1": (meter.debiting.pulse_input, meter.config.codes.pulse_input_unit_text or ""),
        "0.5.0": (energy.wh("a_plus"), "imp"),  # S0: 1000 imp/kWh = one pulse per Wh
        "32.36.0": (meter.quality.counters.get("swell_l1", 0), ""),
        "32.32.0": (meter.quality.counters.get("sag_l1", 0), ""),
        "32.7.124": (round(meter.quality.thd_pct, 1), "%"),
        "32.37.0": (meter.quality.counters.get("variation_l1", 0), ""),
    }
    for name, code in (
        ("a_plus", "1.8"),
        ("a_minus", "2.8"),
        ("r_plus", "3.8"),
        ("r_minus", "4.8"),
        ("e_plus", "9.8"),
        ("e_minus", "10.8"),
    ):
        if energy.has(name):
            unit = "kWh" if name[0] == "a" else ("kvarh" if name[0] == "r" else "kVAh")
            out[f"{code}.0"] = (_kwh(meter, name), unit)
            for tariff in range(1, 5):
                if energy.has(f"{name}_t{tariff}"):
                    out[f"{code}.{tariff}"] = (_kwh(meter, f"{name}_t{tariff}"), unit)
    for quadrant in range(1, 5):
        if energy.has(f"r{quadrant}"):
            out[f"{4 + quadrant}.8.0"] = (_kwh(meter, f"r{quadrant}"), "kvarh")
    for index, phase in enumerate(measured.phases, start=1):
        p_plus, _p_minus, current, voltage, pf = _PHASE_C[index]
        out[f"{p_plus}.7.0"] = (_w(phase.active_mw) / 1000, "kW")
        out[f"{current}.7.0"] = (round(phase.current_a, 2), "A")
        out[f"{voltage}.7.0"] = (round(phase.voltage_v), "V")
        out[f"{pf}.7.0"] = (round(phase.power_factor, 2), "")
    peaks = meter.peaks
    out["1.6.0"] = (peaks.value("p_plus") / 1000, "kW")
    for tariff in range(1, 5):
        out[f"1.6.{tariff}"] = (peaks.value(f"p_plus_t{tariff}") / 1000, "kW")
    out["3.6.0"] = (peaks.value("q_plus") / 1000, "kvar")
    out["9.6.0"] = (peaks.value("s_plus") / 1000, "kVA")
    out["10.6.0"] = (peaks.value("s_minus") / 1000, "kVA")
    out["1.2.0"] = (peaks.accumulated["p_plus"] / 1000, "kW")
    if meter.prepayment.enabled:
        out["130.0.0"] = (round(meter.prepayment.credit_kwh, 3), "kWh")
        out["130.0.1"] = (round(meter.prepayment.used_after_zero_nj / 3.6e15, 3), "kWh")
        out["130.0.4"] = (meter.prepayment.last_top_up_kwh, "kWh")
        out["130.0.6"] = (meter.prepayment.exception_minutes_left(meter.local()), "min")
        out["130.0.7"] = (round(meter.prepayment.alarm_limit_nj / 3.6e15, 3), "kWh")
    return out
