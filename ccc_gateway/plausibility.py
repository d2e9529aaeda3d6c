"""Scalers the decoder assumed and values no household meter shows, for decode and the gateway.

The CCC push carries raw numbers only; the decimal scalers come from Kamstrup's documentation per
list and meter type (see :class:`ccc_gateway.protocol.Resolution`). A meter that differs shows as
an impossible value, which both the support tool and the gateway's log name with the option that
fixes it. Pure functions, no logging.
"""

from __future__ import annotations

from typing import Final

from .protocol import Push

__all__ = ["assumed_scalers", "implausible"]


#: Per unit: the largest value a household meter can show, and the option that fixes a scaler
#: guessed wrong. The meter sends no scalers in its push, so a wrong default shows as an
#: impossible value (22,199 V on a 0.01 V meter, 909.99 A on a 0.001 A CT meter, 320 GWh).
#: Each bound gives the decode option and the gateway.toml setting ([meters.resolution]).
_PLAUSIBLE: Final[dict[str, tuple[float, str, str]]] = {
    "V": (300, "--voltage-resolution 0.01", "voltage_scaler = -2"),
    "A": (200, "--current-resolution 0.001", "current_scaler = -3"),
    "Wh": (50_000_000, "--energy-resolution 1", "energy_scaler = 0"),
    "varh": (50_000_000, "--energy-resolution 1", "energy_scaler = 0"),
}


def assumed_scalers(push: Push) -> dict[str, int]:
    """Unit → the decimal scaler applied to it in *push*; the meter does not send these."""
    out: dict[str, int] = {}
    for reading in push.readings.values():
        if reading.scaler is not None and reading.unit in ("Wh", "varh", "V", "A"):
            out.setdefault(reading.unit, reading.scaler)
    return out


def implausible(push: Push, *, config: bool = False) -> list[str]:
    """One line per value no household meter shows, with the decode option that would fix it
    (or, with *config*, the gateway.toml setting)."""
    flags = []
    for reading in push.readings.values():
        bound = _PLAUSIBLE.get(reading.unit or "")
        if bound is None or not isinstance(reading.value, int | float):
            continue
        limit, option, setting = bound
        if config:
            option = f"{setting} in the meter's [meters.resolution]"
        if abs(reading.value) > limit:
            flags.append(
                f"{reading.name} = {reading.value:,} {reading.unit} is not physical for a "
                f"household meter: the assumed scaler is probably wrong, try {option}"
            )
    return flags
