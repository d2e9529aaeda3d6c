"""The meter model behind the DLMS server: :class:`ModelProvider` is a
:class:`~.provider.MeterProvider` over :class:`~meter_emulator.model.Meter`.

Every call reads the model at that instant, so a DLMS GET, a CCC push and a 1107 readout made
at the same simulated moment show the same registers (PROTOCOL.md 4 item 10), and a SET of
CouplingState or ActualTariff is the model's own command, seen at once by the other ports.
Choices:

- **Registers** come from the model's push snapshot, at the push resolution, so attribute 3
  (scaler_unit) equals what the push lists imply (PROTOCOL.md 4 item 4): energy at the
  configured energy scaler, current -2 (-3 on CT meters), voltage 0 or -2, power factor and
  frequency -2. Types follow the push: double-long-unsigned, long-unsigned for voltage, power
  factor and frequency.
- **Tariff registers** (A+ T1-T4) are the model's tariff energies at the same resolution.
- **Writes**: CouplingState (1 disconnect, 2 release, 3 reconnect; a transition the breaker
  refuses is other-reason), ActualTariff (0 returns to the calendar), the two load relays
  (0/1), the prepayment alarm limit (kWh at scaler 0) and EventStatusB (writing clears the
  bits written). Anything else the table marks writable is answered read-write-denied here.
- **Clock**: local time with the DST status bit (bit 0 when the RTC is invalid); setting it
  takes the DST bit for the repeated autumn hour; a time the spring change skips is
  other-reason.
- **Load profile** in Kamstrup's logger layout (PROTOCOL.md 2.3.3): clock, LoggerStatus
  (attribute 255, the emulator's status bits), DataQuality (254, always 0), the reserved
  1.1.134.0.1.255 (integer 0), then one register per channel at the energy resolution.
- Not kept by the model, so absent (object-undefined): coupling mode, cut-off basis and
  feedback, overvoltage settings, prepayment exception window, billing and cut-off loggers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Final

from ccc_gateway.protocol.axdr import CLOCK_STATUS_INVALID, CosemDateTime, Data, DataType
from ccc_gateway.protocol.dlms.descriptors import CaptureObject
from ccc_gateway.protocol.dlms.enums import ActionResult, DataAccessResult
from ccc_gateway.protocol.errors import MalformedData
from ccc_gateway.protocol.obis import obis_to_bytes
from ccc_gateway.protocol.omnipower_objects import OBJECTS

from ..model.logs import ProfileStatus
from ..model.meter import Meter

__all__ = ["LOAD_PROFILE_PREFIX", "ModelProvider"]

#: The columns every load-profile entry starts with (Kamstrup's logger layout).
LOAD_PROFILE_PREFIX: Final = (
    CaptureObject(8, obis_to_bytes("0.1.1.0.0.255"), 2),
    CaptureObject(7, obis_to_bytes("1.1.99.1.0.255"), 255),  # LoggerStatus
    CaptureObject(7, obis_to_bytes("1.1.99.1.0.255"), 254),  # DataQuality
    CaptureObject(1, obis_to_bytes("1.1.134.0.1.255"), 2),  # reserved
)
#: Model energy channel → the register it logs.
_CHANNELS: Final = {
    "a_plus": "1.1.1.8.0.255",
    "a_minus": "1.1.2.8.0.255",
    "r_plus": "1.1.3.8.0.255",
    "r_minus": "1.1.4.8.0.255",
}
_LONG_UNSIGNED_C: Final = frozenset({32, 52, 72, 13, 33, 53, 73, 14})
_NJ_PER_KWH: Final = 3.6e15


def _dlu(value: int) -> Data:
    return Data(DataType.DOUBLE_LONG_UNSIGNED, max(0, min(value, 0xFFFFFFFF)))


def _unsigned(value: int) -> Data:
    return Data(DataType.UNSIGNED, value)


def _snapshot_type(obis: str) -> DataType:
    c = int(obis.split(".")[2])
    return DataType.LONG_UNSIGNED if c in _LONG_UNSIGNED_C else DataType.DOUBLE_LONG_UNSIGNED


class ModelProvider:
    """The model as the DLMS server sees it (see the module docstring for every choice)."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self._info = {info.name: info for info in OBJECTS}
        self._readers: dict[str, Callable[[], Data | None]] = self._build_readers()

    # --- values --------------------------------------------------------------------------

    def _build_readers(self) -> dict[str, Callable[[], Data | None]]:
        meter = self.meter
        readers: dict[str, Callable[[], Data | None]] = {
            "meter_number": lambda: _dlu(meter.identity.meter_number),
            "serial_number": lambda: _dlu(meter.identity.serial),
            "meter_type": lambda: Data(DataType.VISIBLE_STRING, meter.identity.type_number.code),
            "firmware": lambda: Data(DataType.VISIBLE_STRING, meter.identity.firmware),
            "actual_tariff": lambda: _unsigned(meter.tariff),
            "relay_1": lambda: _unsigned(int(meter.relays.relay1)),
            "relay_2": lambda: _unsigned(int(meter.relays.relay2)),
            "meter_status": lambda: _unsigned(int(meter.meter_status) & 0xFF),
            "event_status_a": lambda: _dlu(int(meter.event_status)),
            "event_status_b": lambda: _dlu(int(meter.event_status)),
            "max_active_power_import": self._peak_value,
        }
        if meter.breaker.present:
            readers["coupling_state"] = lambda: _unsigned(int(meter.breaker.state))
        if meter.prepayment.enabled:
            readers["prepayment_credit"] = lambda: _dlu(int(meter.prepayment.credit_kwh))
            readers["prepayment_exception_credit"] = lambda: _dlu(
                int(meter.prepayment.used_after_zero_nj / _NJ_PER_KWH)
            )
            readers["prepayment_last_top_up"] = lambda: _dlu(int(meter.prepayment.last_top_up_kwh))
            readers["prepayment_time_remaining"] = lambda: Data(
                DataType.LONG_UNSIGNED,
                min(meter.prepayment.exception_minutes_left(meter.local()), 0xFFFF),
            )
            readers["prepayment_alarm_limit"] = lambda: Data(
                DataType.LONG_UNSIGNED,
                min(int(meter.prepayment.alarm_limit_nj / _NJ_PER_KWH), 0xFFFF),
            )
        snapshot = meter.push_snapshot()
        for info in OBJECTS:
            if info.class_id == 3 and info.obis in snapshot and info.name not in readers:
                readers[info.name] = self._snapshot_reader(info.obis)
        for tariff in range(1, 5):
            name = f"active_energy_import_t{tariff}"
            if meter.energy.has(f"a_plus_t{tariff}"):
                readers[name] = self._tariff_reader(tariff)
        phases = meter.identity.type_number.phases
        for phase in range(1, phases + 1):
            readers[f"voltage_thd_l{phase}"] = lambda: Data(
                DataType.LONG_UNSIGNED, round(meter.quality.thd_pct * 10)
            )
            for kind in ("sag", "swell"):
                readers[f"voltage_{kind}_count_l{phase}"] = self._counter_reader(f"{kind}_l{phase}")
        return readers

    def _snapshot_reader(self, obis: str) -> Callable[[], Data | None]:
        data_type = _snapshot_type(obis)

        def read() -> Data | None:
            value = self.meter.push_snapshot().get(obis)
            return Data(data_type, value) if isinstance(value, int) else None

        return read

    def _tariff_reader(self, tariff: int) -> Callable[[], Data | None]:
        def read() -> Data:
            wh = self.meter.energy.wh(f"a_plus_t{tariff}")
            return _dlu(wh // 10**self.meter.config.energy_scaler)

        return read

    def _counter_reader(self, key: str) -> Callable[[], Data | None]:
        return lambda: _dlu(self.meter.quality.counters.get(key, 0))

    def _peak_value(self) -> Data | None:
        peak = self.meter.peaks.maxima.get("p_plus")
        return _dlu(peak.value if peak is not None else 0)

    def has(self, name: str) -> bool:
        """Whether the model keeps this object (see the module docstring)."""
        return name in self._readers or name in ("clock", "load_profile")

    def value(self, name: str) -> Data | None:
        """Attribute 2 now."""
        reader = self._readers.get(name)
        return reader() if reader is not None else None

    def write(self, name: str, value: Data) -> DataAccessResult:
        """The model's own command for the object (see the module docstring)."""
        meter = self.meter
        number = value.value
        if isinstance(number, bool) or not isinstance(number, int):
            return DataAccessResult.TYPE_UNMATCHED
        expected = {
            "coupling_state": DataType.UNSIGNED,
            "actual_tariff": DataType.UNSIGNED,
            "relay_1": DataType.UNSIGNED,
            "relay_2": DataType.UNSIGNED,
            "prepayment_alarm_limit": DataType.LONG_UNSIGNED,
            "event_status_b": DataType.DOUBLE_LONG_UNSIGNED,
        }.get(name)
        if expected is None:
            return DataAccessResult.READ_WRITE_DENIED
        if value.type != expected:
            return DataAccessResult.TYPE_UNMATCHED
        try:
            if name == "coupling_state":
                meter.write_coupling(number)
            elif name == "actual_tariff":
                meter.force_tariff(number)
            elif name in ("relay_1", "relay_2"):
                if number not in (0, 1):
                    return DataAccessResult.OTHER_REASON
                meter.set_relay(1 if name == "relay_1" else 2, bool(number))
            elif name == "prepayment_alarm_limit":
                meter.set_alarm_limit(float(number))
            else:
                meter.clear_event_status(number)
        except ValueError:  # BreakerRefused, a tariff out of range, ...
            return DataAccessResult.OTHER_REASON
        return DataAccessResult.SUCCESS

    def scaler(self, name: str) -> int:
        """The scaler that makes the raw value a quantity in the table's unit."""
        info = self._info.get(name)
        if info is None:
            return 0
        _a, _b, c, d, e, _f = (int(p) for p in info.obis.split("."))
        config = self.meter.config
        if d == 8:
            return config.energy_scaler
        if d == 7 and e == 0 and c in (31, 51, 71):
            return -3 if self.meter.identity.type_number.ct_connected else -2
        if d == 7 and e == 0 and c in (32, 52, 72):
            return config.push.voltage_scaler
        return info.scaler  # power 0, power factor and frequency -2, THD -1, counters 0

    def status(self, name: str) -> Data | None:
        """Attribute 4 of an extended register: 0, no status bits kept."""
        return _unsigned(0)

    def capture_time(self, name: str) -> CosemDateTime | None:
        """When the maximum was reached (unset before the first integration period)."""
        peak = self.meter.peaks.maxima.get("p_plus")
        if peak is None:
            return CosemDateTime(0xFFFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF)
        return CosemDateTime.from_datetime(peak.local, dst=peak.dst)

    # --- clock ---------------------------------------------------------------------------

    def clock(self) -> CosemDateTime:
        """The RTC: local time, DST bit, invalid bit."""
        meter = self.meter
        moment = CosemDateTime.from_datetime(meter.local(), dst=meter.dst())
        if meter.clock.invalid:
            status = moment.clock_status | CLOCK_STATUS_INVALID
            return CosemDateTime(
                moment.year,
                moment.month,
                moment.day,
                moment.day_of_week,
                moment.hour,
                moment.minute,
                moment.second,
                moment.hundredths,
                moment.deviation,
                status,
            )
        return moment

    def set_clock(self, value: CosemDateTime) -> DataAccessResult:
        """Set the RTC; the DST bit settles the repeated autumn hour."""
        try:
            local = value.to_naive()
        except MalformedData:  # fields that are no time at all
            return DataAccessResult.TYPE_UNMATCHED
        try:
            self.meter.set_time(local, dst=value.dst)
        except ValueError:  # a local time the spring change skips
            return DataAccessResult.OTHER_REASON
        return DataAccessResult.SUCCESS

    def shift_clock(self, seconds: int) -> ActionResult:
        """Shift the RTC by *seconds* (class 8 method 6)."""
        try:
            self.meter.shift_time(float(seconds))
        except ValueError:
            return ActionResult.OTHER_REASON
        return ActionResult.SUCCESS

    # --- load profile --------------------------------------------------------------------

    def capture_objects(self, name: str) -> Sequence[CaptureObject]:
        """Kamstrup's four leading columns, then one register per model channel."""
        channels = [c for c in self.meter.load_profile.channels if c in _CHANNELS]
        return (
            *LOAD_PROFILE_PREFIX,
            *(CaptureObject(3, obis_to_bytes(_CHANNELS[c]), 2) for c in channels),
        )

    def profile_rows(self, name: str) -> Sequence[tuple[Data, ...]]:
        """Every entry, oldest first, in the layout of :meth:`capture_objects`."""
        profile = self.meter.load_profile
        index = [i for i, c in enumerate(profile.channels) if c in _CHANNELS]
        divisor = 10**self.meter.config.energy_scaler
        rows = []
        for entry in profile.entries:
            stamp = CosemDateTime.from_datetime(entry.local, dst=ProfileStatus.DST in entry.status)
            rows.append(
                (
                    Data(DataType.OCTET_STRING, stamp.to_bytes()),
                    Data(DataType.LONG_UNSIGNED, int(entry.status) & 0xFFFF),
                    _dlu(0),
                    Data(DataType.INTEGER, 0),
                    *(_dlu(entry.values[i] // divisor) for i in index),
                )
            )
        return rows

    def capture_period(self, name: str) -> int:
        """The load profile's period in seconds."""
        return int(timedelta(minutes=self.meter.load_profile.period_min).total_seconds())

    def set_capture_period(self, name: str, seconds: int) -> DataAccessResult:
        """The model fixes the period at configuration: only its own value is accepted."""
        if seconds == self.capture_period(name):
            return DataAccessResult.SUCCESS
        return DataAccessResult.OTHER_REASON
