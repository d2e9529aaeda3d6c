"""The Swedish "HAN P1" ASCII telegram, built from a register snapshot ([HAN]).

Some Swedish OMNIPOWER meters push a DSMR-like telegram instead of DLMS: an ``/KAM5``
identification line, a blank line, one ``1-0:C.D.E(value*unit)`` line per register, then ``!``
and a CRC-16/ARC of everything from ``/`` to ``!`` in four upper-case hex digits. Layout, widths
and units follow the real capture ``se_3ph_han_p1_telegram``: energy ``%012.3f`` kWh / kVArh,
power ``%08.3f`` kW / kVAr, voltage and current ``%05.1f``; ``0-0:1.0.0`` carries the trigger
time as ``YYMMDDhhmmss`` + ``S`` (summer) or ``W`` (winter).

The snapshot is the one the DLMS lists use (OBIS codes with B = 1, raw integers at the
configured resolution); this module only rescales and formats. Registers the meter does not
have are left out, as DSMR telegrams do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ccc_gateway.protocol.axdr import CosemDateTime

__all__ = ["IDENTIFICATION", "P1Resolution", "build_telegram", "crc16_arc"]

IDENTIFICATION: Final = "KAM5"
CRLF: Final = "\r\n"


class _Kind:
    ENERGY = "energy"
    POWER = "power"
    VOLTAGE = "voltage"
    CURRENT = "current"


#: (C.D.E, kind, unit) in the order of the real telegram.
_LINES: Final[tuple[tuple[str, str, str], ...]] = (
    ("1.8.0", _Kind.ENERGY, "kWh"),
    ("2.8.0", _Kind.ENERGY, "kWh"),
    ("3.8.0", _Kind.ENERGY, "kVArh"),
    ("4.8.0", _Kind.ENERGY, "kVArh"),
    ("1.7.0", _Kind.POWER, "kW"),
    ("2.7.0", _Kind.POWER, "kW"),
    ("3.7.0", _Kind.POWER, "kVAr"),
    ("4.7.0", _Kind.POWER, "kVAr"),
    ("21.7.0", _Kind.POWER, "kW"),
    ("41.7.0", _Kind.POWER, "kW"),
    ("61.7.0", _Kind.POWER, "kW"),
    ("22.7.0", _Kind.POWER, "kW"),
    ("42.7.0", _Kind.POWER, "kW"),
    ("62.7.0", _Kind.POWER, "kW"),
    ("23.7.0", _Kind.POWER, "kVAr"),
    ("43.7.0", _Kind.POWER, "kVAr"),
    ("63.7.0", _Kind.POWER, "kVAr"),
    ("24.7.0", _Kind.POWER, "kVAr"),
    ("44.7.0", _Kind.POWER, "kVAr"),
    ("64.7.0", _Kind.POWER, "kVAr"),
    ("32.7.0", _Kind.VOLTAGE, "V"),
    ("52.7.0", _Kind.VOLTAGE, "V"),
    ("72.7.0", _Kind.VOLTAGE, "V"),
    ("31.7.0", _Kind.CURRENT, "A"),
    ("51.7.0", _Kind.CURRENT, "A"),
    ("71.7.0", _Kind.CURRENT, "A"),
)
_FORMATS: Final = {
    _Kind.ENERGY: "{:012.3f}",
    _Kind.POWER: "{:08.3f}",
    _Kind.VOLTAGE: "{:05.1f}",
    _Kind.CURRENT: "{:05.1f}",
}


@dataclass(frozen=True, slots=True)
class P1Resolution:
    """Decimal scalers of the snapshot's raw integers (as in the DLMS lists' scaler_unit)."""

    energy_scaler: int = 0  # raw Wh x 10**scaler
    voltage_scaler: int = 0  # raw V x 10**scaler
    current_scaler: int = -2  # raw A x 10**scaler (-3 on CT meters)

    def scale(self, kind: str, raw: int) -> float:
        """The register in the telegram's unit (kWh, kW, V, A)."""
        if kind == _Kind.ENERGY:
            return raw * 10.0**self.energy_scaler / 1000
        if kind == _Kind.POWER:
            return raw / 1000
        if kind == _Kind.VOLTAGE:
            return raw * 10.0**self.voltage_scaler
        return raw * 10.0**self.current_scaler


def crc16_arc(data: bytes) -> int:
    """CRC-16/ARC (reflected 0x8005, init 0), as DSMR P1 uses it; check("123456789") = 0xBB3D."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _timestamp(clock: datetime, dst: bool) -> str:
    return clock.strftime("%y%m%d%H%M%S") + ("S" if dst else "W")


def build_telegram(
    snapshot: Mapping[str, int | str | CosemDateTime],
    *,
    clock: datetime,
    dst: bool,
    resolution: P1Resolution = P1Resolution(),
) -> bytes:
    """One complete telegram, ``/`` through ``!XXXX`` and its closing CR LF.

    *clock* is the trigger time as the meter's clock reads it (local, naive), *dst* its summer
    time flag.
    """
    lines = [f"/{IDENTIFICATION}", "", f"0-0:1.0.0({_timestamp(clock, dst)})"]
    for cde, kind, unit in _LINES:
        raw = snapshot.get(f"1.1.{cde}.255")
        if not isinstance(raw, int):
            continue  # absent on this meter (single-phase, no export, no reactive)
        value = _FORMATS[kind].format(resolution.scale(kind, raw))
        lines.append(f"1-0:{cde}({value}*{unit})")
    body = (CRLF.join(lines) + CRLF + "!").encode("ascii")
    return body + f"{crc16_arc(body):04X}{CRLF}".encode("ascii")
