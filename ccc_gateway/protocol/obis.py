"""OBIS codes (IEC 62056-61) and what the OMNIPOWER lists mean by them.

Codes are handled as the string "A.B.C.D.E.F", the form users, the MQTT contract and the
vectors use. Kamstrup's push objects use B = 1 ([DLMS] §3); the standard form B = 0
(HAN P1) names the same quantities, so the quantity table is keyed by C.D.E.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from ._record import record

__all__ = [
    "CLOCK",
    "GS1_METER_ID",
    "LIST_VERSION",
    "METER_NUMBER",
    "METER_TYPE",
    "Quantity",
    "QuantityKind",
    "obis_from_bytes",
    "obis_to_bytes",
    "quantity_of",
]

LIST_VERSION: Final = "1.1.0.2.129.255"
GS1_METER_ID: Final = "1.1.0.0.5.255"
METER_TYPE: Final = "1.1.96.1.1.255"
METER_NUMBER: Final = "1.1.0.0.1.255"
CLOCK: Final = "0.1.1.0.0.255"


class QuantityKind(Enum):
    """What resolution setting applies to a quantity (scalers are not transmitted)."""

    __hash__ = object.__hash__  # members are singletons; Enum's __hash__ runs in Python

    ENERGY = "energy"
    POWER = "power"
    VOLTAGE = "voltage"
    CURRENT = "current"
    POWER_FACTOR = "power_factor"
    FREQUENCY = "frequency"
    IDENTITY = "identity"
    TIME = "time"


@record
class Quantity:
    """A named quantity: its snake-case name (used as MQTT key stem), unit and kind."""

    name: str
    unit: str | None
    kind: QuantityKind


def _electricity() -> dict[tuple[int, int, int], Quantity]:
    table: dict[tuple[int, int, int], Quantity] = {}
    energy = QuantityKind.ENERGY
    power = QuantityKind.POWER
    # C: 1 A+, 2 A-, 3 R+, 4 R-; per phase 21/41/61 (A+ Lx), 22/42/62 (A- Lx), 23.. (R+), 24.. (R-)
    base = {
        1: ("active_{}_import", "W", "Wh"),
        2: ("active_{}_export", "W", "Wh"),
        3: ("reactive_{}_import", "var", "varh"),
        4: ("reactive_{}_export", "var", "varh"),
    }
    for c, (stem, power_unit, energy_unit) in base.items():
        table[(c, 7, 0)] = Quantity(stem.format("power"), power_unit, power)
        table[(c, 8, 0)] = Quantity(stem.format("energy"), energy_unit, energy)
        for tariff in range(1, 9):
            table[(c, 8, tariff)] = Quantity(
                stem.format("energy") + f"_t{tariff}", energy_unit, energy
            )
        for phase, offset in ((1, 20), (2, 40), (3, 60)):
            table[(c + offset, 7, 0)] = Quantity(
                stem.format("power") + f"_l{phase}", power_unit, power
            )
            table[(c + offset, 8, 0)] = Quantity(
                stem.format("energy") + f"_l{phase}", energy_unit, energy
            )
    for phase, offset in ((1, 0), (2, 20), (3, 40)):
        table[(31 + offset, 7, 0)] = Quantity(f"current_l{phase}", "A", QuantityKind.CURRENT)
        table[(32 + offset, 7, 0)] = Quantity(f"voltage_l{phase}", "V", QuantityKind.VOLTAGE)
        table[(33 + offset, 7, 0)] = Quantity(
            f"power_factor_l{phase}", None, QuantityKind.POWER_FACTOR
        )
    table[(13, 7, 0)] = Quantity("power_factor", None, QuantityKind.POWER_FACTOR)
    table[(14, 7, 0)] = Quantity("frequency", "Hz", QuantityKind.FREQUENCY)
    table[(0, 0, 5)] = Quantity("gs1_meter_id", None, QuantityKind.IDENTITY)
    table[(0, 0, 1)] = Quantity("meter_number", None, QuantityKind.IDENTITY)
    table[(96, 1, 1)] = Quantity("meter_type", None, QuantityKind.IDENTITY)
    table[(96, 1, 0)] = Quantity("serial_number", None, QuantityKind.IDENTITY)
    table[(0, 2, 129)] = Quantity("list_version", None, QuantityKind.IDENTITY)
    return table


_ELECTRICITY: Final = _electricity()
_CLOCK_QUANTITY: Final = Quantity("clock", None, QuantityKind.TIME)
_UNKNOWN: Final = Quantity("unknown", None, QuantityKind.IDENTITY)
_NAMES: dict[bytes, str] = {}


def obis_from_bytes(raw: bytes) -> str:
    """ "A.B.C.D.E.F" of a 6-byte OBIS octet-string (memoised: pushes repeat the same codes)."""
    name = _NAMES.get(raw)
    if name is None:
        name = ".".join(map(str, raw))
        if len(_NAMES) < 4096:
            _NAMES[raw] = name
    return name


def obis_to_bytes(code: str) -> bytes:
    """The 6 bytes of "A.B.C.D.E.F" (also accepts the "A-B:C.D.E*F" and "A-B:C.D.E" forms)."""
    text = code.replace("-", ".").replace(":", ".").replace("*", ".")
    parts = [int(p) for p in text.split(".")]
    if len(parts) == 5:
        parts.append(255)
    if len(parts) != 6 or not all(0 <= p <= 255 for p in parts):
        raise ValueError(f"{code!r} is not an OBIS code")
    return bytes(parts)


_QUANTITIES: dict[str, Quantity] = {}


def quantity_of(code: str) -> Quantity:
    """The quantity behind an OBIS code; ``unknown`` for codes we have no name for."""
    quantity = _QUANTITIES.get(code)
    if quantity is None:
        quantity = _lookup(code)
        if len(_QUANTITIES) < 4096:
            _QUANTITIES[code] = quantity
    return quantity


def _lookup(code: str) -> Quantity:
    parts = code.split(".")
    if len(parts) != 6:
        return _UNKNOWN
    try:
        a, _b, c, d, e, _f = (int(p) for p in parts)
    except ValueError:
        return _UNKNOWN
    if a == 0 and c == 1 and d == 0 and e == 0:
        return _CLOCK_QUANTITY
    if a != 1:
        return _UNKNOWN
    return _ELECTRICITY.get((c, d, e), _UNKNOWN)
