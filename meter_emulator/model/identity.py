"""Who the meter is: type number, serial, GS1 number and system title.

The type number is the data sheet's hardware configuration code ("Configuration – hardware"):
``68 X1 X2 X3 X4 X5 X6 X7 X8 X9 X10 X11 X12 X13 X14X15X16``, 18 characters, e.g.
``6861111BN242101040``. docs/emulator.md: real prefixes are 686 single-phase, 684
three-phase, 685 CT-connected three-phase. The GS1 number and system title follow [GB].
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

__all__ = [
    "EnergyType",
    "Identity",
    "TypeNumber",
    "TypeNumberError",
    "gs1_check_digit",
    "gs1_number",
    "system_title",
]

#: Kamstrup's GS1 company prefix ([GB]: seen in all 7 public GS1 numbers).
GS1_PREFIX: Final = "5706567"
_TYPE_LENGTH: Final = 18

#: X5 current range (data sheet, single-phase).
CURRENT_RANGES: Final = {
    "1": "5-100 A",
    "4": "5-65 A",
    "6": "10-60 A",
    "7": "10-80 A",
    "8": "5-80 A",
}
#: X6 accuracy class.
ACCURACY_CLASSES: Final = {
    "A": "MID class A",
    "B": "MID class B",
    "2": "IEC class 2",
    "1": "IEC class 1",
}


class TypeNumberError(ValueError):
    """A type number that the data sheet's hardware configuration does not allow."""


class EnergyType(Enum):
    """X9: which energy registers the meter keeps."""

    A_PLUS = "1"  # A+ only
    A_PLUS_MINUS = "2"  # A+ and A-
    FOUR_QUADRANT = "4"  # A+, A-, R+, R- (and R1-R4, E+/E-)

    @property
    def has_export(self) -> bool:
        """Whether A- (and P23) exist."""
        return self is not EnergyType.A_PLUS

    @property
    def has_reactive(self) -> bool:
        """Whether R+/R-, the quadrant registers and E+/E- exist."""
        return self is EnergyType.FOUR_QUADRANT


@dataclass(frozen=True, slots=True)
class TypeNumber:
    """The decoded hardware configuration of one meter."""

    code: str
    phases: int
    ct_connected: bool
    housing: str
    current_range: str
    accuracy_class: str
    variant: int
    energy_type: EnergyType
    breaker: str  # "none", "dual", "standard"
    radio: bool
    battery_backup: bool
    s0_output: bool
    country_code: str

    @property
    def has_breaker(self) -> bool:
        """Whether the meter can disconnect (X10 2 or 3)."""
        return self.breaker != "none"

    @classmethod
    def parse(cls, code: str) -> TypeNumber:
        """Decode *code*; raises TypeNumberError naming the offending position."""
        if len(code) != _TYPE_LENGTH:
            raise TypeNumberError(f"a type number has {_TYPE_LENGTH} characters, not {len(code)}")
        if not code.startswith("68"):
            raise TypeNumberError("a Kamstrup OMNIPOWER type number starts with 68")
        x = {i: code[i + 1] for i in range(1, 14)}  # x[1] … x[13]; country is code[15:]
        if x[1] not in "645":
            raise TypeNumberError("X1 must be 6 (single-phase), 4 (three-phase) or 5 (CT)")
        phases = 1 if x[1] == "6" else 3
        if x[2] != "1":
            raise TypeNumberError("X2 must be 1 (OMNIPOWER)")
        if x[3] not in "12":
            raise TypeNumberError("X3 (housing) must be 1 (standard) or 2 (ST)")
        if x[4] != ("1" if phases == 1 else "3"):
            raise TypeNumberError(f"X4 (measuring systems) must be {1 if phases == 1 else 3}")
        if phases == 1 and x[5] not in CURRENT_RANGES:
            raise TypeNumberError(f"X5 (current range) must be one of {''.join(CURRENT_RANGES)}")
        if x[6] not in ACCURACY_CLASSES:
            raise TypeNumberError("X6 (accuracy class) must be A, B, 2 or 1")
        if x[7] != "N":
            raise TypeNumberError("X7 (generation) must be N")
        if x[8] not in "12":
            raise TypeNumberError("X8 (variant) must be 1 or 2")
        try:
            energy = EnergyType(x[9])
        except ValueError:
            raise TypeNumberError("X9 (energy type) must be 1, 2 or 4") from None
        breakers = {"0": "none", "2": "dual", "3": "standard"}
        if x[10] not in breakers:
            raise TypeNumberError("X10 (breaker) must be 0, 2 or 3")
        if x[11] not in "01" or x[12] not in "01":
            raise TypeNumberError("X11 (radio) and X12 (supply backup) must be 0 or 1")
        if x[13] != "1":
            raise TypeNumberError("X13 (interface) must be 1 (S0 output)")
        country = code[15:]
        if not country.isdigit():
            raise TypeNumberError("X14-X16 (country code) must be three digits")
        return cls(
            code=code,
            phases=phases,
            ct_connected=x[1] == "5",
            housing="standard" if x[3] == "1" else "ST",
            current_range=CURRENT_RANGES.get(x[5], f"code {x[5]}"),
            accuracy_class=ACCURACY_CLASSES[x[6]],
            variant=int(x[8]),
            energy_type=energy,
            breaker=breakers[x[10]],
            radio=x[11] == "1",
            battery_backup=x[12] == "1",
            s0_output=True,
            country_code=country,
        )


def gs1_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit of *digits* (weights 3, 1, … from the right)."""
    if not digits.isdigit():
        raise ValueError("GS1 digits must be decimal")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def gs1_number(serial: int) -> str:
    """The 16-digit GS1 meter id: prefix, 8-digit serial, check digit ([GB])."""
    if not 0 <= serial <= 99_999_999:
        raise ValueError("the serial number has at most 8 digits")
    body = f"{GS1_PREFIX}{serial:08d}"
    return body + str(gs1_check_digit(body))


def system_title(serial: int) -> bytes:
    """ "KAME" + the serial as uint32 big-endian ([GB])."""
    return b"KAME" + serial.to_bytes(4, "big")


@dataclass(frozen=True, slots=True)
class Identity:
    """The meter's identities as they appear in registers and pushes."""

    serial: int
    type_number: TypeNumber
    meter_number: int
    firmware: str

    @property
    def gs1(self) -> str:
        """1.1.0.0.5.255."""
        return gs1_number(self.serial)

    @property
    def system_title(self) -> bytes:
        """The general-glo-ciphering system title."""
        return system_title(self.serial)
