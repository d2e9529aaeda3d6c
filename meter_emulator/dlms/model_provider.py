"""The meter model behind the DLMS server: :class:`ModelProvider` is a
:class:`~.provider.MeterProvider` over :class:`~meter_emulator.model.Meter`, and
:func:`dlms_server_for` builds the server the optical port (or its mux) runs.

Every call reads the model at that instant, so a GET, a CCC push and a 1107 readout made at the
same simulated moment show the same registers, and a SET is the model's own command, seen at
once by the other ports (PROTOCOL.md 4 item 10). The rights (who may write what) are the
registry's; this module only turns values into A-XDR and writes into model commands.

Values and scalers (PROTOCOL.md 4 item 4): registers are raw integers at the meter's configured
resolution, the very numbers the CCC push carries (``Meter.push_snapshot``), and attribute 3
says so: energies at ``10**energy_scaler`` Wh (1 Wh or 10 Wh), voltages at 1 V or 0.01 V,
currents at 0.01 A (0.001 A on CT meters), power factor and frequency at 0.01, THD at 0.1 %.
Prepayment registers count Wh: the table's kWh at scaler −3.

Writes, and the results a refusal gets:

- **CouplingState** takes 1 disconnect, 2 release (only from 1), 3 reconnect (only from 8), as
  the model's breaker does; a transition its state forbids is *temporary-failure* (valid later,
  not now), any other value *other-reason*.
- **ActualTariff**: 1–4 forces that tariff, **0 returns to the calendar or the module's
  inputs** — the convention the gateway's tariff command relies on (PROTOCOL.md is silent); the
  model has 4 tariffs, so 5–8 are *other-reason*.
- **A14_Prepayment** (primary module only): the new credit; the difference is booked as a
  top-up, which first settles energy used after zero, as the model's top-up does. Credit is never
  lowered this way (*other-reason*).
- **EventStatusB**: the bits written are cleared from the latched event status.
- **Clock**: attribute 2 sets the local time, the DST bit settling the repeated autumn hour.
  Inside the summer-time window the DST bit must be set (PROTOCOL.md 2.3.4); a set without it,
  a time the clock skips, or a field left unspecified is *other-reason*. shift_time takes
  −900…900 s (Blue Book class 8).
- **Load profile capture_period**: the model's integration period is a configuration code (Z4),
  so only the current value is accepted.
- Everything else: a wrong A-XDR type is *type-unmatched*, a value out of range *other-reason*.

Objects the model does not keep are absent (object-undefined): L2/L3 on a single-phase meter,
A−/R± where the energy type lacks them, current THD, and the breaker and prepayment objects on a
meter without a breaker.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime, time
from typing import Final

from ccc_gateway.protocol.axdr import CosemDateTime, Data, DataType
from ccc_gateway.protocol.dlms.control import LinkParameters
from ccc_gateway.protocol.dlms.descriptors import CaptureObject
from ccc_gateway.protocol.dlms.enums import ActionResult, DataAccessResult

from ..model.breaker import BreakerRefused
from ..model.energy import NJ_PER_WH
from ..model.meter import Meter
from .model_profiles import (
    NOT_SPECIFIED,
    billing_columns,
    billing_rows,
    cutoff_columns,
    cutoff_rows,
    date_time,
    load_profile_columns,
    load_profile_rows,
)
from .provider import build_omnipower_registry, omnipower_associations
from .server import DlmsServer

__all__ = ["ModelProvider", "dlms_server_for"]

type Row = tuple[Data, ...]
type Read = Callable[[], Data | None]
type Write = Callable[[int], DataAccessResult]

_U8, _U16, _U32 = DataType.UNSIGNED, DataType.LONG_UNSIGNED, DataType.DOUBLE_LONG_UNSIGNED
_OK: Final = DataAccessResult.SUCCESS
_REFUSED: Final = DataAccessResult.OTHER_REASON
#: CutoffBasis bits (PROTOCOL.md 2.3.4) ↔ the model's cut-off basis names.
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
_ENERGY: Final = {
    "active_energy_import": "a_plus",
    "active_energy_export": "a_minus",
    "reactive_energy_import": "r_plus",
    "reactive_energy_export": "r_minus",
    **{f"active_energy_import_t{t}": f"a_plus_t{t}" for t in range(1, 5)},
}
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
_BREAKER_OBJECTS: Final = ("coupling_", "cutoff_basis", "prepayment_")
#: Seconds after local midnight; this value means "no exception window".
NO_WINDOW: Final = 0xFFFFFFFF
#: Blue Book class 8 shift_time limits (seconds).
SHIFT_LIMIT_S: Final = 900


def _seconds(moment: time | None) -> int:
    return NO_WINDOW if moment is None else moment.hour * 3600 + moment.minute * 60 + moment.second


class ModelProvider:
    """The OMNIPOWER objects of one :class:`Meter` (see the module docstring)."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self._reads: dict[str, tuple[DataType, Read]] = self._read_table()
        self._writes: dict[str, Write] = self._write_table()
        self._profile_key: object = None
        self._profile_rows: list[Row] = []

    # --- MeterProvider ------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        meter = self.meter
        kind = meter.identity.type_number.energy_type
        if name[-3:] in ("_l2", "_l3") and int(name[-1]) > meter.config.phases:
            return False
        if name.startswith("current_thd"):
            return False  # the model keeps the voltage THD only
        if name.startswith(_BREAKER_OBJECTS):
            return meter.breaker.present
        if name in _ENERGY:
            return meter.energy.has(_ENERGY[name])
        if name in ("active_power_export",):
            return kind.has_export
        if name in ("reactive_power_import", "reactive_power_export"):
            return kind.has_reactive
        return True

    def value(self, name: str) -> Data | None:
        entry = self._reads.get(name)
        return None if entry is None else entry[1]()

    def write(self, name: str, value: Data) -> DataAccessResult:
        write = self._writes.get(name)
        entry = self._reads.get(name)
        if write is None or entry is None:
            return DataAccessResult.READ_WRITE_DENIED
        if value.type != entry[0] or not isinstance(value.value, int):
            return DataAccessResult.TYPE_UNMATCHED
        try:
            return write(int(value.value))
        except BreakerRefused:
            return DataAccessResult.TEMPORARY_FAILURE
        except ValueError:
            return _REFUSED

    def scaler(self, name: str) -> int:
        config = self.meter.config
        if name in _ENERGY:
            return config.energy_scaler
        if name.startswith("current_l"):
            return -3 if self.meter.identity.type_number.ct_connected else -2
        if name.startswith("voltage_l"):
            return config.push.voltage_scaler
        if name in ("power_factor", "frequency"):
            return -2
        if name.startswith("voltage_thd"):
            return -1
        if name.startswith("prepayment_"):
            return -3  # Wh, in a kWh register
        return 0

    def status(self, name: str) -> Data | None:
        return Data(_U8, 0)

    def capture_time(self, name: str) -> CosemDateTime | None:
        if name == "max_active_power_import":
            peak = self.meter.peaks.maxima.get("p_plus")
            return NOT_SPECIFIED if peak is None else date_time(peak.local, dst=peak.dst)
        return NOT_SPECIFIED  # the model does not keep when the last top-up was made

    def clock(self) -> CosemDateTime:
        meter = self.meter
        return date_time(meter.local(), dst=meter.dst(), invalid=meter.clock.invalid)

    def set_clock(self, value: CosemDateTime) -> DataAccessResult:
        fields = (value.month, value.day, value.hour, value.minute, value.second)
        if value.year == 0xFFFF or any(f == 0xFF for f in fields):
            return _REFUSED
        try:
            local = datetime(
                value.year, value.month, value.day, value.hour, value.minute, value.second
            )
            if self._summer_time(local) and not value.dst:
                return _REFUSED  # PROTOCOL.md 2.3.4: inside the DST window bit 7 must be set
            self.meter.set_time(local, dst=value.dst)
        except ValueError:
            return _REFUSED
        return _OK

    def _summer_time(self, local: datetime) -> bool:
        """Whether the meter's own table puts *local* in summer time for sure (False in the
        repeated autumn hour, where the DST bit is what tells the two apart)."""
        now = self.meter.now_us
        outcomes = set()
        for dst in (True, False):
            probe = dataclasses.replace(self.meter.clock)  # never touch the meter's own clock
            probe.set_local(now, local, dst=dst)  # ValueError: a time the clock skips
            outcomes.add(probe.is_dst(probe.rtc_us(now)))
        return outcomes == {True}

    def shift_clock(self, seconds: int) -> ActionResult:
        if not -SHIFT_LIMIT_S <= seconds <= SHIFT_LIMIT_S:
            return ActionResult.OTHER_REASON
        self.meter.shift_time(seconds)
        return ActionResult.SUCCESS

    def capture_objects(self, name: str) -> Sequence[CaptureObject]:
        match name:
            case "load_profile":
                return load_profile_columns(self.meter)
            case "billing_log_1":
                return billing_columns(self.meter, 1)
            case "billing_log_2":
                return billing_columns(self.meter, 2)
            case _:
                return cutoff_columns()

    def profile_rows(self, name: str) -> Sequence[Row]:
        match name:
            case "load_profile":
                return self._load_profile()
            case "billing_log_1":
                return billing_rows(self.meter, 1)
            case "billing_log_2":
                return billing_rows(self.meter, 2)
            case _:
                return cutoff_rows(self.meter)

    def capture_period(self, name: str) -> int:
        return self.meter.config.integration_period_min * 60 if name == "load_profile" else 0

    def set_capture_period(self, name: str, seconds: int) -> DataAccessResult:
        return _OK if seconds == self.capture_period(name) else _REFUSED

    # --- reading ------------------------------------------------------------------------------

    def _load_profile(self) -> list[Row]:
        """The rows, rebuilt only when the logger changed (a GET reads them several times)."""
        entries = self.meter.load_profile.entries
        key = (len(entries), entries[-1] if entries else None, self.meter.config.energy_scaler)
        if key != self._profile_key:
            self._profile_rows = load_profile_rows(self.meter)
            self._profile_key = key
        return self._profile_rows

    def _read_table(self) -> dict[str, tuple[DataType, Read]]:
        meter = self.meter
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

        def thd() -> int:
            return round(meter.quality.thd_pct * 10)  # one THD for every phase in the model

        reads: dict[str, tuple[DataType, Read]] = {
            "meter_number": of(_U32, lambda: meter.identity.meter_number),
            "serial_number": of(_U32, lambda: meter.identity.serial),
            "meter_type": of(DataType.VISIBLE_STRING, lambda: meter.identity.type_number.code),
            "firmware": of(DataType.VISIBLE_STRING, lambda: meter.identity.firmware),
            **{name: of(_U32, energy(register)) for name, register in _ENERGY.items()},
            **{name: of(kind, snapshot(obis)) for name, (obis, kind) in _INSTANT.items()},
            "max_active_power_import": of(_U32, lambda: meter.peaks.value("p_plus")),
            **{f"voltage_thd_l{n}": of(_U16, thd) for n in (1, 2, 3)},
            **{f"voltage_sag_count_l{n}": of(_U32, counter("sag", n)) for n in (1, 2, 3)},
            **{f"voltage_swell_count_l{n}": of(_U32, counter("swell", n)) for n in (1, 2, 3)},
            "coupling_state": of(_U8, lambda: int(meter.breaker.state)),
            "coupling_mode": of(_U8, lambda: int(meter.breaker.config.automatic_reconnect)),
            "cutoff_basis": of(_U8, self._cutoff_basis),
            "coupling_feedback": of(_U8, self._feedback),
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

    def _cutoff_basis(self) -> int:
        bases = self.meter.breaker.config.cutoff_bases
        return sum(bit for name, bit in CUTOFF_BITS.items() if name in bases)

    def _feedback(self) -> int:
        """Phase voltages present (over 160 V, the display's supply indicator), valid, comm OK;
        a timed transition of the breaker (warning → cut-off → reconnect) is "pending"."""
        meter = self.meter
        bits = 0x08 | 0x10
        for index, phase in enumerate(meter.measured.phases):
            if phase.voltage_v > 160:
                bits |= 1 << index
        if meter.breaker.deadline_us is not None:
            bits |= 0x40
        return bits

    # --- writing ------------------------------------------------------------------------------

    def _write_table(self) -> dict[str, Write]:
        meter = self.meter
        p = meter.prepayment

        def coupling(value: int) -> DataAccessResult:
            if value not in (1, 2, 3):
                return _REFUSED
            meter.write_coupling(value)
            return _OK

        def flag(set_it: Callable[[bool], None]) -> Write:
            def write(value: int) -> DataAccessResult:
                if value not in (0, 1):
                    return _REFUSED
                set_it(bool(value))
                return _OK

            return write

        def coupling_mode(automatic: bool) -> None:
            config = meter.breaker.config
            meter.breaker.config = dataclasses.replace(config, automatic_reconnect=automatic)

        def cutoff_basis(value: int) -> DataAccessResult:
            if value & ~0x7F:
                return _REFUSED
            names = frozenset(n for n, bit in CUTOFF_BITS.items() if value & bit)
            meter.breaker.config = dataclasses.replace(meter.breaker.config, cutoff_bases=names)
            return _OK

        def credit(value: int) -> DataAccessResult:
            added_nj = value * NJ_PER_WH - p.credit_nj
            if added_nj < 0:
                return _REFUSED
            if added_nj:
                meter.top_up(added_nj / (1000 * NJ_PER_WH))
            return _OK

        def window(which: str) -> Write:
            def write(value: int) -> DataAccessResult:
                if value == NO_WINDOW:
                    setattr(p, which, None)
                elif value < 86_400:
                    setattr(p, which, time(value // 3600, value // 60 % 60, value % 60))
                else:
                    return _REFUSED
                meter.resume()  # re-derive the window's boundaries
                return _OK

            return write

        def alarm_limit(kwh: int) -> DataAccessResult:
            meter.set_alarm_limit(kwh)
            return _OK

        def low_max(value: int) -> DataAccessResult:
            p.low_max_days = value
            return _OK

        def tariff(value: int) -> DataAccessResult:
            meter.force_tariff(value or None)  # ValueError above 4 → other-reason
            return _OK

        def relay(number: int) -> Write:
            return flag(lambda on: meter.set_relay(number, on))

        def meter_number(value: int) -> DataAccessResult:
            meter.identity = dataclasses.replace(meter.identity, meter_number=value)
            return _OK

        def clear_events(value: int) -> DataAccessResult:
            meter.clear_event_status(value)
            return _OK

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


def dlms_server_for(
    meter: Meter,
    *,
    password: bytes = b"12345",
    physical_address: int = 32,
    ccc_available: Callable[[], bool] = lambda: True,
    firmware_f1: bool = False,
    parameters: LinkParameters | None = None,
    inactivity_timeout: float = 20.0,
    inter_frame_timeout: float = 0.5,
) -> DlmsServer:
    """The DLMS/COSEM server of *meter*: the OMNIPOWER objects over :class:`ModelProvider`,
    the four associations of PROTOCOL.md 2.3.2 (LLS with *password*), HDLC at
    *physical_address*. Wrap it in :class:`~meter_emulator.ports.optical_mux.DlmsServerEndpoint`
    for the optical mux. *ccc_available* says when the CCC association may be used (push off).
    """
    associations = omnipower_associations(
        password=password, ccc_available=ccc_available, firmware_f1=firmware_f1
    )
    registry = build_omnipower_registry(ModelProvider(meter), associations)
    return DlmsServer(
        registry,
        associations,
        physical_address=physical_address,
        parameters=parameters,
        inactivity_timeout=inactivity_timeout,
        inter_frame_timeout=inter_frame_timeout,
    )
