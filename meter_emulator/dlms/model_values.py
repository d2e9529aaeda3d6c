"""The model's values as A-XDR, and writes as model commands: the tables behind
:class:`~.model_provider.ModelProvider` (whose docstring states the conventions).

Registers are read as the CCC push reads them (``Meter.push_snapshot``) where the push carries
them, so both ports give the same raw integers at the same instant.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import time
from typing import Final, TypeAlias

from ccc_gateway.protocol.axdr import Data, DataType
from ccc_gateway.protocol.dlms.enums import DataAccessResult
from ccc_gateway.protocol.omnipower_logs import TariffSource as WireTariffSource

from ..model.energy import NJ_PER_WH
from ..model.meter import Meter
from ..model.tariffs import TariffSource

__all__ = [
    "ACCUMULATED",
    "CUTOFF_BITS",
    "ENERGY",
    "NO_WINDOW",
    "OK",
    "PEAKS",
    "REFUSED",
    "Read",
    "Write",
    "read_table",
    "scaler_of",
    "write_table",
]

Read: TypeAlias = Callable[[], Data | None]
Write: TypeAlias = Callable[[int], DataAccessResult]

_U8, _U16, _U32 = DataType.UNSIGNED, DataType.LONG_UNSIGNED, DataType.DOUBLE_LONG_UNSIGNED
OK: Final = DataAccessResult.SUCCESS
REFUSED: Final = DataAccessResult.OTHER_REASON
#: CutoffBasis bits ([DLMS] §3) ↔ the model's cut-off basis names.
CUTOFF_BITS: Final = {
    "load_controlled": 0x01,
    "prepayment": 0x02,
    "current_power": 0x04,
    "neutral_fault": 0x08,
    "log_only": 0x10,
    "prepayment_no_restriction": 0x20,
    "overvoltage": 0x40,
}
#: Shared-table energy names → the model's registers.
ENERGY: Final = {
    "active_energy_import": "a_plus",
    "active_energy_export": "a_minus",
    "reactive_energy_import": "r_plus",
    "reactive_energy_export": "r_minus",
    **{f"active_energy_import_t{t}": f"a_plus_t{t}" for t in range(1, 5)},
    **{f"reactive_energy_import_t{t}": f"r_plus_t{t}" for t in range(1, 5)},
    **{f"reactive_energy_q{q}": f"r{q}" for q in range(1, 5)},
    "apparent_energy_import": "e_plus",
    "apparent_energy_export": "e_minus",
}
#: Maximum-demand objects → the model's peak names (data sheet "Power registers").
PEAKS: Final = {
    "max_active_power_import": "p_plus",
    **{f"max_active_power_import_t{t}": f"p_plus_t{t}" for t in range(1, 5)},
    "max_reactive_power_import": "q_plus",
    **{f"max_reactive_power_import_t{t}": f"q_plus_t{t}" for t in range(1, 5)},
    "max_apparent_power_import": "s_plus",
    "max_apparent_power_export": "s_minus",
}
#: Accumulated maxima (the sum of each debiting period's maximum) → the model's names.
ACCUMULATED: Final = {
    "accumulated_max_active_power_import": "p_plus",
    "accumulated_max_active_power_import_t1": "p_plus_t1",
    "accumulated_max_active_power_import_t2": "p_plus_t2",
    "accumulated_max_reactive_power_import": "q_plus",
}
#: TariffSource of the model → its wire value (omnipower_logs.TariffSource).
_SOURCES: Final = {source.name: int(WireTariffSource[source.name]) for source in TariffSource}
#: Instantaneous registers read from the push snapshot: name → (OBIS, A-XDR type).
_INSTANT: Final = {
    "active_power_import": ("1.1.1.7.0.255", _U32),
    "active_power_export": ("1.1.2.7.0.255", _U32),
    "reactive_power_import": ("1.1.3.7.0.255", _U32),
    "reactive_power_export": ("1.1.4.7.0.255", _U32),
    **{f"current_l{n}": (f"1.1.{11 + 20 * n}.7.0.255", _U32) for n in (1, 2, 3)},
    **{f"voltage_l{n}": (f"1.1.{12 + 20 * n}.7.0.255", _U16) for n in (1, 2, 3)},
    "power_factor": ("1.1.13.7.0.255", _U16),
    "frequency": ("1.1.14.7.0.255", _U16),
}
#: Seconds after local midnight; this value means "no exception window".
NO_WINDOW: Final = 0xFFFFFFFF


def _seconds(moment: time | None) -> int:
    return NO_WINDOW if moment is None else moment.hour * 3600 + moment.minute * 60 + moment.second


def read_table(meter: Meter) -> dict[str, tuple[DataType, Read]]:
    """Each object's A-XDR type and how to read it now."""
    p = meter.prepayment

    def of(kind: DataType, get: Callable[[], int | str]) -> tuple[DataType, Read]:
        def read() -> Data:
            value = get()
            if isinstance(value, str):
                return Data(DataType.VISIBLE_STRING, value)
            return Data(kind, value)

        return kind, read

    def snapshot(obis: str) -> Callable[[], int]:
        def read() -> int:
            value = meter.push_snapshot().get(obis, 0)
            return value if isinstance(value, int) else 0

        return read

    def energy(register: str) -> Callable[[], int]:
        return lambda: meter.energy.wh(register) // 10**meter.config.energy_scaler

    def counter(kind: str, phase: int) -> Callable[[], int]:
        return lambda: meter.quality.counters.get(f"{kind}_l{phase}", 0)

    def peak(key: str) -> Callable[[], int]:
        return lambda: meter.peaks.value(key)

    def accumulated(key: str) -> Callable[[], int]:
        return lambda: meter.peaks.accumulated.get(key, 0)

    def thd() -> int:
        return round(meter.quality.thd_pct * 10)  # one THD for every phase in the model

    reads: dict[str, tuple[DataType, Read]] = {
        "meter_number": of(_U32, lambda: meter.identity.meter_number),
        "serial_number": of(_U32, lambda: meter.identity.serial),
        "meter_type": of(DataType.VISIBLE_STRING, lambda: meter.identity.type_number.code),
        "firmware": of(DataType.VISIBLE_STRING, lambda: meter.identity.firmware),
        **{name: of(_U32, energy(register)) for name, register in ENERGY.items()},
        **{name: of(kind, snapshot(obis)) for name, (obis, kind) in _INSTANT.items()},
        **{name: of(_U32, peak(key)) for name, key in PEAKS.items()},
        **{name: of(_U32, accumulated(key)) for name, key in ACCUMULATED.items()},
        "debiting_stop_counter": of(_U32, lambda: meter.debiting.stop_count),
        "hour_counter": of(_U32, lambda: meter.debiting.hour_counter),
        "power_threshold_counter": of(_U32, lambda: meter.peaks.threshold_count),
        "pulse_input": of(_U32, lambda: meter.debiting.pulse_input),
        "tariff_source": of(_U8, lambda: _SOURCES[meter.tariffs.source.name]),
        "tariff_inputs": of(
            _U8, lambda: int(meter.tariffs.inputs[0]) | 2 * int(meter.tariffs.inputs[1])
        ),
        "event_code": of(_U8, lambda: int(e[-1].code) if (e := meter.event_log.entries) else 0),
        "pq_event_code": of(_U8, lambda: int(q[-1].code) if (q := meter.pq_log.entries) else 0),
        "pq_event_phase": of(_U8, lambda: q[-1].phase if (q := meter.pq_log.entries) else 0),
        "pq_event_extreme_voltage": of(
            _U16,
            lambda: min(round(q[-1].extreme_v * 10), 0xFFFF) if (q := meter.pq_log.entries) else 0,
        ),
        "event_duration": of(_U32, lambda: last_duration_ms(meter)),
        **{f"voltage_thd_l{n}": of(_U16, thd) for n in (1, 2, 3)},
        **{f"voltage_sag_count_l{n}": of(_U32, counter("sag", n)) for n in (1, 2, 3)},
        **{f"voltage_swell_count_l{n}": of(_U32, counter("swell", n)) for n in (1, 2, 3)},
        **{f"voltage_variation_count_l{n}": of(_U32, counter("variation", n)) for n in (1, 2, 3)},
        "voltage_unbalance": of(_U16, lambda: round(meter.quality.unbalance_pct * 10)),
        "coupling_state": of(_U8, lambda: int(meter.breaker.state)),
        "coupling_mode": of(_U8, lambda: int(meter.breaker.config.automatic_reconnect)),
        "cutoff_basis": of(_U8, lambda: _cutoff_basis(meter)),
        "coupling_feedback": of(_U8, lambda: _feedback(meter)),
        "prepayment_credit": of(_U32, lambda: p.credit_nj // NJ_PER_WH),
        "prepayment_exception_credit": of(_U32, lambda: p.used_after_zero_nj // NJ_PER_WH),
        "prepayment_last_top_up": of(_U32, lambda: round(p.last_top_up_kwh * 1000)),
        "prepayment_exception_start": of(_U32, lambda: _seconds(p.exception_start)),
        "prepayment_exception_end": of(_U32, lambda: _seconds(p.exception_end)),
        "prepayment_time_remaining": of(
            _U16, lambda: min(p.exception_minutes_left(meter.local()), 0xFFFF)
        ),
        "prepayment_alarm_limit": of(
            _U16, lambda: min(round(p.alarm_limit_nj / NJ_PER_WH / 1000), 0xFFFF)
        ),
        "prepayment_low_max_days": of(_U8, lambda: p.low_max_days),
        "actual_tariff": of(_U8, lambda: meter.tariff),
        "relay_1": of(_U8, lambda: int(meter.relays.relay1)),
        "relay_2": of(_U8, lambda: int(meter.relays.relay2)),
        "meter_status": of(_U8, lambda: int(meter.meter_status)),
        "event_status_a": of(_U32, lambda: int(meter.event_status)),
        "event_status_b": of(_U32, lambda: int(meter.event_status)),
    }
    return reads


def last_duration_ms(meter: Meter) -> int:
    """event_duration 1.1.135.0.1.255: the duration column of the most recent entry of
    either event log (a power-quality entry wins a tie: it is written when its event ends)."""
    standard = meter.event_log.entries[-1] if meter.event_log.entries else None
    quality = meter.pq_log.entries[-1] if meter.pq_log.entries else None
    if quality is not None and (standard is None or quality.local >= standard.local):
        return quality.duration_ms
    return standard.duration_ms if standard is not None else 0


def scaler_of(meter: Meter, name: str) -> int:
    """The scaler of object *name*'s value on this meter (the push resolution, docs/emulator.md
    item 4): energies at the configured Wh step, voltages and currents as the push sends them."""
    config = meter.config
    if name in ENERGY:
        return config.energy_scaler
    if name.startswith("current_l"):
        return -3 if meter.identity.type_number.ct_connected else -2
    if name.startswith("voltage_l"):
        return config.push.voltage_scaler
    if name in ("power_factor", "frequency"):
        return -2
    if name.startswith("voltage_thd") or name in ("pq_event_extreme_voltage", "voltage_unbalance"):
        return -1
    if name.startswith("prepayment_") or name == "event_duration":
        return -3  # Wh in a kWh register; ms in a register of seconds
    return 0


def _cutoff_basis(meter: Meter) -> int:
    bases = meter.breaker.config.cutoff_bases
    return sum(bit for name, bit in CUTOFF_BITS.items() if name in bases)


def _feedback(meter: Meter) -> int:
    """Phase voltages present (over 160 V, the display's supply indicator), valid, comm OK;
    a timed transition of the breaker (warning → cut-off → reconnect) is "pending"."""
    bits = 0x08 | 0x10
    for index, phase in enumerate(meter.measured.phases):
        if phase.voltage_v > 160:
            bits |= 1 << index
    if meter.breaker.deadline_us is not None:
        bits |= 0x40
    return bits


def write_table(meter: Meter) -> dict[str, Write]:
    """How each writable object's attribute 2 becomes a model command (see model_provider)."""
    p = meter.prepayment

    def coupling(value: int) -> DataAccessResult:
        if value not in (1, 2, 3):
            return REFUSED
        meter.write_coupling(value)
        return OK

    def flag(set_it: Callable[[bool], None]) -> Write:
        def write(value: int) -> DataAccessResult:
            if value not in (0, 1):
                return REFUSED
            set_it(bool(value))
            return OK

        return write

    def coupling_mode(automatic: bool) -> None:
        config = meter.breaker.config
        meter.breaker.config = dataclasses.replace(config, automatic_reconnect=automatic)

    def cutoff_basis(value: int) -> DataAccessResult:
        if value & ~0x7F:
            return REFUSED
        names = frozenset(n for n, bit in CUTOFF_BITS.items() if value & bit)
        meter.breaker.config = dataclasses.replace(meter.breaker.config, cutoff_bases=names)
        return OK

    def credit(value: int) -> DataAccessResult:
        added_nj = value * NJ_PER_WH - p.credit_nj
        if added_nj < 0:
            return REFUSED
        if added_nj:
            meter.top_up(added_nj / (1000 * NJ_PER_WH))
        return OK

    def window(which: str) -> Write:
        def write(value: int) -> DataAccessResult:
            if value == NO_WINDOW:
                setattr(p, which, None)
            elif value < 86_400:
                setattr(p, which, time(value // 3600, value // 60 % 60, value % 60))
            else:
                return REFUSED
            meter.resume()  # re-derive the window's boundaries
            return OK

        return write

    def alarm_limit(kwh: int) -> DataAccessResult:
        meter.set_alarm_limit(kwh)
        return OK

    def low_max(value: int) -> DataAccessResult:
        p.low_max_days = value
        return OK

    def tariff(value: int) -> DataAccessResult:
        meter.force_tariff(value or None)  # ValueError above 4 → other-reason
        return OK

    def relay(number: int) -> Write:
        return flag(lambda on: meter.set_relay(number, on))

    def meter_number(value: int) -> DataAccessResult:
        meter.identity = dataclasses.replace(meter.identity, meter_number=value)
        return OK

    def clear_events(value: int) -> DataAccessResult:
        meter.clear_event_status(value)
        return OK

    return {
        "meter_number": meter_number,
        "coupling_state": coupling,
        "coupling_mode": flag(coupling_mode),
        "cutoff_basis": cutoff_basis,
        "prepayment_credit": credit,
        "prepayment_exception_start": window("exception_start"),
        "prepayment_exception_end": window("exception_end"),
        "prepayment_alarm_limit": alarm_limit,
        "prepayment_low_max_days": low_max,
        "actual_tariff": tariff,
        "relay_1": relay(1),
        "relay_2": relay(2),
        "event_status_b": clear_events,
    }
