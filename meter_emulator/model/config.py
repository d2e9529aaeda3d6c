"""The emulated meter's configuration: a TOML file, validated with errors that name the key.

Keys follow the data sheet's configuration codes (hardware type number, software Z-codes); each
key's comment in ``meter_emulator/data/meter.example.toml`` names its code. Everything has a
default, so an empty file is a valid single-phase four-quadrant meter with a breaker.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Final

from .identity import Identity, TypeNumber, TypeNumberError
from .software_codes import (
    OpticalSecurity,
    SoftwareCodes,
    parse_optical_security,
    parse_software_codes,
)
from .validation import ConfigError, Table, hex_key, obis_list, parse_days, time_of_day

__all__ = [
    "DISPLAY_FORMATS",
    "BreakerConfig",
    "ConfigError",
    "DisplayConfig",
    "MeterConfig",
    "PrepaymentConfig",
    "PushConfig",
    "TariffSwitch",
    "load_config",
    "parse_config",
]

#: Z1 decimals in display: code → (integer digits, decimals).
DISPLAY_FORMATS: Final = {1: (7, 0), 2: (6, 1), 3: (7, 2), 4: (6, 3)}
#: Z4 integration / load-profile period: code → minutes.
INTEGRATION_PERIODS: Final = {2: 15, 3: 30, 4: 60}
#: Z11 GMT code → hours (codes 13..23 are -11..-1).
_GMT: Final = {code: (code if code <= 12 else code - 24) for code in range(24)}
#: Z29 load profile configuration → channel names.
LOAD_PROFILE_CHANNELS: Final = {
    1: ("a_plus",),
    2: ("a_plus", "a_minus"),
    3: ("a_plus", "a_minus", "r_plus", "r_minus"),
    4: ("a_plus", "a_minus", "r1", "r2", "r3", "r4"),
    5: ("a_plus", "a_minus", "r_plus", "r_minus", "r1", "r2", "r3", "r4"),
}
#: Z3 primary module configurations that select tariffs by input: code → (tariffs, inverted).
TARIFF_INPUT_MODULES: Final = {
    1: (4, False),
    2: (4, True),
    7: (2, False),
    8: (2, True),
    9: (2, False),
    10: (2, True),
    11: (2, False),
    12: (2, True),
    13: (2, False),
    14: (2, True),
    22: (4, False),
    23: (4, True),
}
_CUTOFF_BASES: Final = (
    "load_controlled",
    "prepayment",
    "current_power",
    "neutral_fault",
    "log_only",
    "prepayment_no_restriction",
    "overvoltage",
)


@dataclass(frozen=True, slots=True)
class TariffSwitch:
    """From *at* on the given weekdays (0 = Monday) the tariff is *tariff*."""

    days: frozenset[int]
    at: time
    tariff: int


#: Z13 register control default: a day/night/peak plan (weekdays 06-17 T2, 17-21 T3, else T1).
DEFAULT_CALENDAR: Final = (
    TariffSwitch(frozenset(range(7)), time(0, 0), 1),
    TariffSwitch(frozenset(range(5)), time(6, 0), 2),
    TariffSwitch(frozenset(range(5)), time(17, 0), 3),
    TariffSwitch(frozenset(range(5)), time(21, 0), 1),
)


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """Z9 disconnect setup and the coupling objects 1.1.128.0.x."""

    initially_connected: bool = True  # Z19
    automatic_reconnect: bool = False  # 1.1.128.0.10.255
    cutoff_bases: frozenset[str] = frozenset({"prepayment"})  # 1.1.128.0.11.255
    power_threshold_w: int = 0  # 0: no current/power threshold cut-off
    warning_s: int = 30  # pre-cutoff warning before a threshold cut-off
    reconnect_delay_s: int = 60  # automatic reconnect after a threshold cut-off
    overvoltage_disconnect_v: int = 265
    overvoltage_reconnect_v: int = 253
    button_needs_release: bool = True  # button reconnects only after a release command


@dataclass(frozen=True, slots=True)
class PrepaymentConfig:
    """kWh prepayment 1.1.130.0.x and T_PrepaymentLowMax."""

    enabled: bool = False
    credit_kwh: float = 0.0
    alarm_limit_kwh: float = 5.0
    exception_start: time | None = None  # daily window in which no prepayment cut-off occurs
    exception_end: time | None = None
    low_max_days: int = 0  # 0: no LowMax cut-off


DEFAULT_AUTO: Final = ("1.8.0", "2.8.0", "1.7.0", "32.7.0", "0.9.1")
DEFAULT_MANUAL: Final = ("1.8.0", "1.8.1", "1.8.2", "2.8.0", "3.8.0", "4.8.0", "1.6.0")
DEFAULT_BATTERY: Final = ("1.8.0", "2.8.0")
DEFAULT_ANALYSIS: Final = ("1.8.0", "2.8.0", "32.7.0", "31.7.0", "13.7.0")


@dataclass(frozen=True, slots=True)
class DisplayConfig:
    """The three display lists (OBIS C.D.E identifiers)."""

    auto: tuple[str, ...] = DEFAULT_AUTO
    manual: tuple[str, ...] = DEFAULT_MANUAL
    battery: tuple[str, ...] = DEFAULT_BATTERY


@dataclass(frozen=True, slots=True, repr=False)
class PushConfig:
    """CCC push settings (the port builds its own objects from these)."""

    push_list: str = "han_nve_list_1"
    absent: str = "null_data"
    hourly: bool = True
    hourly_offset_s: int = 25
    energy_scaler: int | None = None  # None: follow the display format (Z1)
    voltage_scaler: int = 0
    encryption_key: bytes | None = None
    authentication_key: bytes | None = None

    def __repr__(self) -> str:
        return (
            f"PushConfig(push_list={self.push_list!r}, encrypted={self.encryption_key is not None})"
        )


@dataclass(frozen=True, slots=True)
class MeterConfig:
    """Everything that makes one emulated meter."""

    identity: Identity
    display_format: tuple[int, int] = (7, 2)
    integration_period_min: int = 15
    primary_module: int = 0
    debiting_stop_day: int = 1
    debiting_interval: int = 1
    gmt_offset_h: int = 1
    tariff_control: int = 2
    load_control: int = 0
    eu_dst: bool = True
    load_profile_delta: bool = False
    load_profile_channels: tuple[str, ...] = LOAD_PROFILE_CHANNELS[3]
    calendar: tuple[TariffSwitch, ...] = DEFAULT_CALENDAR
    power_threshold_count_w: int = 10_000  # power threshold counter (A+) limit
    analysis_interval_min: int = 60
    analysis_channels: tuple[str, ...] = DEFAULT_ANALYSIS
    drift_ppm: float = 0.0
    breaker: BreakerConfig = field(default_factory=BreakerConfig)
    prepayment: PrepaymentConfig = field(default_factory=PrepaymentConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    push: PushConfig = field(default_factory=PushConfig)
    nominal_voltage_v: int = 230
    codes: SoftwareCodes = field(default_factory=SoftwareCodes)
    optical: OpticalSecurity | None = None  # HLS keys of the optical port (Z28 = 1)

    @property
    def phases(self) -> int:
        """1 or 3, from the type number."""
        return self.identity.type_number.phases

    @property
    def energy_scaler(self) -> int:
        """Push resolution of energy registers: follows the display format unless configured."""
        if self.push.energy_scaler is not None:
            return self.push.energy_scaler
        return 3 - self.display_format[1]


def load_config(path: Path) -> MeterConfig:
    """Read and validate *path*."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read the file ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    return parse_config(data)


def _calendar(root: Table) -> tuple[TariffSwitch, ...]:
    entries = root.get("calendar", list, "a list of {days, at, tariff} tables", None)
    if entries is None:
        return DEFAULT_CALENDAR
    switches = []
    for index, entry in enumerate(entries):
        table = Table(entry, f"calendar[{index}]")
        days_text = table.get("days", str, '"mon-fri", "sat,sun" or "all"', "all")
        days = parse_days(days_text, table.name("days"))
        at = time_of_day(table, "at", None)
        if at is None:
            raise ConfigError(table.name("at"), '"HH:MM" is required')
        tariff = table.get("tariff", int, "a tariff 1-4", None)
        if tariff not in (1, 2, 3, 4):
            raise ConfigError(table.name("tariff"), "a tariff 1-4")
        table.finish()
        switches.append(TariffSwitch(days, at, tariff))
    if not switches:
        raise ConfigError("calendar", "at least one switch")
    return tuple(switches)


def parse_config(data: Mapping[str, Any]) -> MeterConfig:
    """Validate parsed TOML; raises :class:`ConfigError` at the first problem."""
    root = Table(data, "")
    meter = root.table("meter")
    serial = meter.get("serial", int, "an 8-digit serial number", 28046399)
    if not 0 < serial <= 99_999_999:
        raise ConfigError("meter.serial", "an 8-digit serial number")
    type_code = meter.get("type_number", str, "an 18-character type number", "6861111BN242101040")
    try:
        type_number = TypeNumber.parse(type_code)
    except TypeNumberError as exc:
        raise ConfigError("meter.type_number", str(exc)) from None
    meter_number = meter.get("meter_number", int, "a number 0..4294967295", serial)
    if not 0 <= meter_number <= 0xFFFFFFFF:
        raise ConfigError("meter.meter_number", "a number 0..4294967295")
    firmware = meter.get("firmware", str, "a software revision string", "50981040-Q1")
    nominal = meter.number("nominal_voltage_v", 100, 400, 230, "volts")
    meter.finish()
    identity = Identity(serial, type_number, meter_number, firmware)

    sw = root.table("software")
    decimals = "Z1: 1 (7.0), 2 (6.1), 3 (7.2) or 4 (6.3)"
    display_format = sw.choice("display_decimals", DISPLAY_FORMATS, decimals, 3)
    period = sw.choice("integration_period", INTEGRATION_PERIODS, "Z4: 2, 3 or 4", 2)
    module = sw.get("primary_module", int, "Z3: a module code 0-29", 0)
    if not 0 <= module <= 29:
        raise ConfigError("software.primary_module", "Z3: a module code 0-29")
    stop_day = sw.number("debiting_stop_date", 1, 28, 1, "Z6: a day of month")
    interval = sw.number("debiting_interval", 0, 24, 1, "Z7: an interval code")
    gmt = sw.choice("gmt", _GMT, "Z11: a code 0-23", 1)
    tariff_control = sw.number("tariff_control", 0, 2, 2, "Z13: 0 (off), 1 (module), 2 (register)")
    if tariff_control == 1 and module not in TARIFF_INPUT_MODULES:
        raise ConfigError("software.tariff_control", "Z13 1 needs a tariff module in Z3")
    load_control = sw.number("load_control", 0, 1, 0, "Z14: 0 or 1")
    dst = sw.number("dst_table", 0, 1, 1, "Z15: 0 (none) or 1 (EU)")
    position = sw.number("breaker_position", 0, 2, 1 if type_number.has_breaker else 0, "Z19")
    lp_data = sw.number("load_profile_data", 1, 2, 1, "Z27: 1 (absolute) or 2 (delta)")
    if lp_data == 2 and type_number.variant != 2:
        raise ConfigError("software.load_profile_data", "Z27 delta values need variant 2 (X8)")
    channels = sw.choice("load_profile", LOAD_PROFILE_CHANNELS, "Z29: 1-5", 3)
    threshold = sw.number("power_threshold_w", 1, 100_000, 10_000, "watts")
    drift = sw.number("rtc_drift_ppm", -500, 500, 0.0, "ppm")
    analysis_interval = sw.number("analysis_interval_min", 1, 1440, 60, "minutes")
    analysis = obis_list(sw, "analysis_channels", 24, DEFAULT_ANALYSIS)
    codes = parse_software_codes(sw, type_number)
    sw.finish()
    optical = parse_optical_security(root.table("optical"), codes)

    br = root.table("breaker")
    bases = br.get("cutoff_bases", list, f"a list of {', '.join(_CUTOFF_BASES)}", ["prepayment"])
    if not all(b in _CUTOFF_BASES for b in bases):
        raise ConfigError("breaker.cutoff_bases", f"a list of {', '.join(_CUTOFF_BASES)}")
    breaker = BreakerConfig(
        initially_connected=position != 2,
        automatic_reconnect=br.get("automatic_reconnect", bool, "true or false", False),
        cutoff_bases=frozenset(bases),
        power_threshold_w=int(br.number("power_threshold_w", 0, 100_000, 0, "watts")),
        warning_s=int(br.number("warning_s", 0, 3600, 30, "seconds")),
        reconnect_delay_s=int(br.number("reconnect_delay_s", 1, 86_400, 60, "seconds")),
        overvoltage_disconnect_v=int(br.number("overvoltage_disconnect_v", 240, 300, 265, "V")),
        overvoltage_reconnect_v=int(br.number("overvoltage_reconnect_v", 200, 300, 253, "V")),
        button_needs_release=br.get("button_needs_release", bool, "true or false", True),
    )
    br.finish()

    pp = root.table("prepayment")
    prepayment = PrepaymentConfig(
        enabled=pp.get("enabled", bool, "true or false", False),
        credit_kwh=float(pp.number("credit_kwh", 0, 999_999, 0.0, "kWh")),
        alarm_limit_kwh=float(pp.number("alarm_limit_kwh", 0, 65_535, 5.0, "kWh")),
        exception_start=time_of_day(pp, "exception_start", None),
        exception_end=time_of_day(pp, "exception_end", None),
        low_max_days=int(pp.number("low_max_days", 0, 255, 0, "days")),
    )
    if (prepayment.exception_start is None) != (prepayment.exception_end is None):
        raise ConfigError("prepayment.exception_end", "give both exception_start and _end")
    if prepayment.enabled and not type_number.has_breaker:
        raise ConfigError("prepayment.enabled", "prepayment needs a meter with a breaker (X10)")
    pp.finish()

    dp = root.table("display")
    display = DisplayConfig(
        auto=obis_list(dp, "auto", 16, DEFAULT_AUTO),
        manual=obis_list(dp, "manual", 30, DEFAULT_MANUAL),
        battery=obis_list(dp, "battery", 8, DEFAULT_BATTERY),
    )
    dp.finish()

    pu = root.table("push")
    lists = ("han_nve_list_1", "han_nve_list_2", "dlms_push_1", "han_p1")
    push_list = pu.get("list", str, " or ".join(lists), codes.push_list or "han_nve_list_1")
    if push_list not in lists:
        raise ConfigError("push.list", " or ".join(lists))
    if not codes.allows_push_list(push_list):
        raise ConfigError(
            "push.list",
            f"Z16 {codes.frequency_code} ({codes.country}) sends {codes.push_list}, "
            f"not {push_list}",
        )
    absent = pu.get("absent", str, '"null_data" or "omit"', "null_data")
    if absent not in ("null_data", "omit"):
        raise ConfigError("push.absent", '"null_data" or "omit"')
    offset = pu.get("hourly_offset_s", int, "1-3599 s, not a multiple of 10", 25)
    if not 0 < offset < 3600 or offset % 10 == 0:
        raise ConfigError("push.hourly_offset_s", "1-3599 s, not a multiple of 10")
    energy_scaler = pu.get("energy_scaler", int, "0 (Wh) to 3 (kWh)", None)
    if energy_scaler is not None and not 0 <= energy_scaler <= 3:
        raise ConfigError("push.energy_scaler", "0 (Wh) to 3 (kWh)")
    voltage_scaler = pu.get("voltage_scaler", int, "0 (V) or -2 (0.01 V)", 0)
    if voltage_scaler not in (0, -2):
        raise ConfigError("push.voltage_scaler", "0 (V) or -2 (0.01 V)")
    push = PushConfig(
        push_list=push_list,
        absent=absent,
        hourly=pu.get("hourly", bool, "true or false", True),
        hourly_offset_s=offset,
        energy_scaler=energy_scaler,
        voltage_scaler=voltage_scaler,
        encryption_key=hex_key(pu, "encryption_key"),
        authentication_key=hex_key(pu, "authentication_key"),
    )
    if push.push_list == "han_p1" and push.encryption_key is not None:
        raise ConfigError("push.encryption_key", "HAN P1 telegrams are never encrypted")
    if push.authentication_key is not None and push.encryption_key is None:
        raise ConfigError("push.encryption_key", "needed when an authentication key is given")
    if push.encryption_key is not None and push.authentication_key is None:
        # OMNIPOWER ciphers its push with security control 0x30 (encrypted and authenticated,
        # [GB]); encryption-only 0x20 is not seen from the meter, and the gateway
        # refuses it by default, so the emulator does not offer it.
        raise ConfigError(
            "push.authentication_key",
            "needed with an encryption key: OMNIPOWER pushes are encrypted and authenticated",
        )
    pu.finish()

    calendar = _calendar(root)
    root.finish()
    return MeterConfig(
        identity=identity,
        display_format=display_format,
        integration_period_min=period,
        primary_module=module,
        debiting_stop_day=int(stop_day),
        debiting_interval=int(interval),
        gmt_offset_h=gmt,
        tariff_control=int(tariff_control),
        load_control=int(load_control),
        eu_dst=bool(dst),
        load_profile_delta=lp_data == 2,
        load_profile_channels=channels,
        calendar=calendar,
        power_threshold_count_w=int(threshold),
        analysis_interval_min=int(analysis_interval),
        analysis_channels=analysis,
        drift_ppm=float(drift),
        breaker=breaker,
        prepayment=prepayment,
        display=display,
        push=push,
        nominal_voltage_v=int(nominal),
        codes=codes,
        optical=optical,
    )
