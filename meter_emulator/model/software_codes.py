"""Software configuration codes beyond the core ones of :mod:`.config`, and the optical keys.

Each code is a key of ``[software]`` named after the data sheet ("Configuration – software"),
validated against the data sheet's table: an unknown value, or a code only one variant (X8)
offers used on the other, is a :class:`~.validation.ConfigError` that names the key. Codes
whose other values are "see order form" (Z17, Z26) take only the public value.

- Z2 ``led``: 1 the LED is off without consumption, 2 it stays lit (it flashes 1000 imp/kWh
  with consumption either way).
- Z8 ``pulse_output``: the S0 pulse length (30 or 80 ms) and whether the alarm input is active.
- Z12 ``pulse_input_unit``: 0 none, 1 kWh, 2 m³, 3 L: the unit of the pulse input register.
- Z16 ``frequency_code``: the country protocol; it picks the CCC push list when ``[push] list``
  is not given (DK, CH: DLMS push 1; NO: HAN-NVE; SE: HAN P1) and refuses a list that country
  does not send.
- Z17 ``push_button_2``: 0 "no PB2 setup" (the other setups are order-form specific).
- Z18 ``iec1107``: 0 disabled, 1 mode A and C with user data 1 (UD), 2 with UD2 (1 and 2 variant
  1 only); disabled, the optical head answers DLMS only.
- Z26 ``alarm_configuration``: 0 "no alarms enabled" (the others are order-form specific).
- Z28 ``local_interface_encryption``: 0 N/A (variant 1 only), 1 enabled, 2 disabled (variant
  2 only). Enabled, the optical port's authenticated associations (primary module 18, optical
  19, CCC 20) require HLS-GMAC with the keys of ``[optical]`` instead of the LLS password
  ([TD] §4.6.7 "full encryption", [DLMS] HLS, [GB] 9.2.7.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from .identity import TypeNumber
from .validation import ConfigError, Table, hex_key

__all__ = [
    "ALARM_INPUT_MODULES",
    "FREQUENCY_CODES",
    "IEC1107",
    "LED",
    "LOCAL_INTERFACE_ENCRYPTION",
    "PULSE_INPUT_MODULES",
    "PULSE_INPUT_UNITS",
    "PULSE_OUTPUT",
    "OpticalSecurity",
    "SoftwareCodes",
    "parse_optical_security",
    "parse_software_codes",
]

#: Z28: code → (meaning, the only variant that offers it).
LOCAL_INTERFACE_ENCRYPTION: Final = {0: ("n/a", 1), 1: ("enabled", 2), 2: ("disabled", 2)}
#: Z18: code → (meaning, the only variant that offers it).
IEC1107: Final = {0: ("disabled", None), 1: ("mode A and C, UD", 1), 2: ("mode A and C, UD2", 1)}
#: Z2: code → whether the LED stays lit without consumption.
LED: Final = {1: False, 2: True}
#: Z8: code → (S0 pulse length in ms, alarm input active).
PULSE_OUTPUT: Final = {1: (30, False), 2: (30, True), 3: (80, False), 4: (80, True)}
#: Z12: code → the pulse input's unit (1107 unit text; None: a bare count).
PULSE_INPUT_UNITS: Final = {0: None, 1: "kWh", 2: "m3", 3: "L"}
#: Z16: code → (country, the push list it sends; None: any list).
FREQUENCY_CODES: Final = {
    0: ("none", None),
    318: ("CH", "dlms_push_1"),
    319: ("EU", None),
    326: ("SE", "han_p1"),
    328: ("SE", "han_p1"),
    329: ("SE", "han_p1"),
    337: ("NO", "han_nve_list_1"),
    338: ("NO", "han_nve_list_1"),
    339: ("NO", "han_nve_list_1"),
    348: ("DK", "dlms_push_1"),
    349: ("DK", "dlms_push_1"),
    356: ("FI", None),
    357: ("FI", None),
    359: ("FI", None),
    369: ("PL", None),
    376: ("AT", None),
    379: ("AT", None),
}
#: Z3 primary module configurations with a pulse input on I/O 1 (data sheet table).
PULSE_INPUT_MODULES: Final = frozenset({3, 4, 5, 13, 14, 18, 19, 20, 21, 27, 28})
#: Z3 configurations with an alarm input on I/O 2 → whether the input is inverted.
ALARM_INPUT_MODULES: Final = {3: False, 4: True, 7: False, 8: False, 9: True, 10: True}
#: The HAN-NVE lists a Norwegian meter may send (list 1, or list 2 on its own).
_NVE_LISTS: Final = ("han_nve_list_1", "han_nve_list_2")


@dataclass(frozen=True, slots=True)
class SoftwareCodes:
    """The codes of this module, as validated (defaults: the data sheet's first entries)."""

    led: int = 1  # Z2
    pulse_output: int = 1  # Z8
    pulse_input_unit: int = 0  # Z12
    frequency_code: int = 0  # Z16
    push_button_2: int = 0  # Z17
    iec1107: int = 2  # Z18
    alarm_configuration: int = 0  # Z26
    local_interface_encryption: int = 0  # Z28

    @property
    def optical_encrypted(self) -> bool:
        """Z28 = 1: the optical port's authenticated associations use HLS-GMAC."""
        return self.local_interface_encryption == 1

    @property
    def led_lit_without_consumption(self) -> bool:
        """Z2 = 2."""
        return LED[self.led]

    @property
    def s0_pulse_ms(self) -> int:
        """The S0 output's pulse length (Z8)."""
        return int(PULSE_OUTPUT[self.pulse_output][0])

    @property
    def alarm_input_active(self) -> bool:
        """Whether Z8 activates the alarm input."""
        return bool(PULSE_OUTPUT[self.pulse_output][1])

    @property
    def pulse_input_unit_text(self) -> str | None:
        """The pulse input's unit (Z12)."""
        return PULSE_INPUT_UNITS[self.pulse_input_unit]

    @property
    def country(self) -> str:
        """Z16's country ("none" when no country protocol is set)."""
        return FREQUENCY_CODES[self.frequency_code][0]

    @property
    def push_list(self) -> str | None:
        """The push list Z16's country sends, or None when it does not fix one."""
        return FREQUENCY_CODES[self.frequency_code][1]

    def allows_push_list(self, push_list: str) -> bool:
        """Whether Z16's country sends *push_list*."""
        wanted = self.push_list
        if wanted is None:
            return True
        if wanted == "han_nve_list_1":
            return push_list in _NVE_LISTS
        return push_list == wanted


@dataclass(frozen=True, slots=True, repr=False)
class OpticalSecurity:
    """The optical port's HLS-GMAC keys (global unicast encryption and authentication key)."""

    encryption_key: bytes
    authentication_key: bytes

    def __repr__(self) -> str:
        return "OpticalSecurity(<keys redacted>)"


def _variant_code(
    table: Table,
    item: str,
    codes: dict[int, tuple[str, int | None]],
    type_number: TypeNumber,
    default: int,
    what: str,
) -> int:
    """A code whose entries may be offered by one variant only."""
    expected = f"{what}: " + ", ".join(
        f"{code} ({name}{'' if only is None else f', variant {only} only'})"
        for code, (name, only) in codes.items()
    )
    code: int = table.get(item, int, expected, default)
    if code not in codes:
        raise ConfigError(table.name(item), expected)
    only = codes[code][1]
    if only is not None and only != type_number.variant:
        raise ConfigError(
            table.name(item),
            f"{what} {code} ({codes[code][0]}) needs variant {only} (X8); this meter is "
            f"variant {type_number.variant}",
        )
    return code


def _listed(table: Table, item: str, codes: Mapping[int, object], default: int, what: str) -> int:
    expected = f"{what}: {', '.join(str(c) for c in codes)}"
    code: int = table.get(item, int, expected, default)
    if code not in codes:
        raise ConfigError(table.name(item), expected)
    return code


def parse_software_codes(sw: Table, type_number: TypeNumber) -> SoftwareCodes:
    """Read this module's keys from ``[software]`` (the caller finishes the table)."""
    z28: dict[int, tuple[str, int | None]] = dict(LOCAL_INTERFACE_ENCRYPTION)
    encryption = _variant_code(
        sw,
        "local_interface_encryption",
        z28,
        type_number,
        0 if type_number.variant == 1 else 2,
        "Z28",
    )
    z18: dict[int, tuple[str, int | None]] = dict(IEC1107)
    iec1107 = _variant_code(
        sw, "iec1107", z18, type_number, 2 if type_number.variant == 1 else 0, "Z18"
    )
    return SoftwareCodes(
        led=_listed(sw, "led", LED, 1, "Z2: 1 (off without consumption) or 2 (on)"),
        pulse_output=_listed(
            sw, "pulse_output", PULSE_OUTPUT, 1, "Z8: 1/2 (30 ms), 3/4 (80 ms); 2, 4 alarm input on"
        ),
        pulse_input_unit=_listed(
            sw, "pulse_input_unit", PULSE_INPUT_UNITS, 0, "Z12: 0 none, 1 kWh, 2 m3, 3 L"
        ),
        frequency_code=_listed(sw, "frequency_code", FREQUENCY_CODES, 0, "Z16"),
        push_button_2=_listed(
            sw, "push_button_2", {0: None}, 0, "Z17: 0 (no PB2 setup; others are order-form)"
        ),
        iec1107=iec1107,
        alarm_configuration=_listed(
            sw, "alarm_configuration", {0: None}, 0, "Z26: 0 (no alarms; others are order-form)"
        ),
        local_interface_encryption=encryption,
    )


def parse_optical_security(table: Table, codes: SoftwareCodes) -> OpticalSecurity | None:
    """``[optical]``: the HLS keys, required with Z28 = 1 and refused without it."""
    encryption_key = hex_key(table, "encryption_key")
    authentication_key = hex_key(table, "authentication_key")
    table.finish()
    if not codes.optical_encrypted:
        if encryption_key is not None or authentication_key is not None:
            raise ConfigError(
                table.name("encryption_key"),
                "optical keys need software.local_interface_encryption = 1 (Z28)",
            )
        return None
    if encryption_key is None:
        raise ConfigError(table.name("encryption_key"), "required with Z28 = 1 (32 hex digits)")
    if authentication_key is None:
        raise ConfigError(table.name("authentication_key"), "required with Z28 = 1 (32 hex digits)")
    return OpticalSecurity(encryption_key, authentication_key)
