"""Software configuration codes beyond the core ones of :mod:`.config`, and the optical keys.

Each code is a key of ``[software]`` named after the data sheet ("Configuration – software"),
validated against the data sheet's table: an unknown value, or a code only one variant (X8)
offers used on the other, is a :class:`~.validation.ConfigError` that names the key.

- Z28 ``local_interface_encryption``: 0 N/A (variant 1 only), 1 enabled, 2 disabled (variant
  2 only). Enabled, the optical port's authenticated associations (primary module 18, optical
  19, CCC 20) require HLS-GMAC with the keys of ``[optical]`` instead of the LLS password
  ([TD] §4.6.7 "full encryption", PROTOCOL.md 2.3.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .identity import TypeNumber
from .validation import ConfigError, Table, hex_key

__all__ = [
    "LOCAL_INTERFACE_ENCRYPTION",
    "OpticalSecurity",
    "SoftwareCodes",
    "parse_optical_security",
    "parse_software_codes",
]

#: Z28: code → (meaning, the only variant that offers it).
LOCAL_INTERFACE_ENCRYPTION: Final = {0: ("n/a", 1), 1: ("enabled", 2), 2: ("disabled", 2)}


@dataclass(frozen=True, slots=True)
class SoftwareCodes:
    """The codes of this module, as validated (defaults: the data sheet's first entries)."""

    local_interface_encryption: int = 0  # Z28

    @property
    def optical_encrypted(self) -> bool:
        """Z28 = 1: the optical port's authenticated associations use HLS-GMAC."""
        return self.local_interface_encryption == 1


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
    return SoftwareCodes(local_interface_encryption=encryption)


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
