"""A TOML table under validation, and the value checks that several sections share.

Every check raises :class:`ConfigError` naming the full key (``meters[0].ccc.port``), because the
reader is editing a file over SSH, not reading a traceback.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .models import ConfigError, Secret

__all__ = ["Table", "port_number", "secret_key", "zone"]

_HEX_SEPARATORS: Final = re.compile(r"[\s:]")


class Table:
    """A TOML table being validated: tracks which keys were read to reject the unknown ones."""

    def __init__(self, data: Any, key: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(key, "expected a table")
        self.data: Mapping[str, Any] = data
        self.key = key
        self._seen: set[str] = set()

    def name(self, item: str) -> str:
        return f"{self.key}.{item}" if self.key else item

    def get(self, item: str, kind: type | tuple[type, ...], expected: str, default: Any) -> Any:
        self._seen.add(item)
        if item not in self.data:
            return default
        value = self.data[item]
        # bool is an int in Python; a port number of `true` is a mistake, not 1.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise ConfigError(self.name(item), expected)
        if not isinstance(value, kind):
            raise ConfigError(self.name(item), expected)
        return value

    def mark_read(self, item: str) -> None:
        """Count *item* as known when the caller validates it by hand (``[[meters]]``)."""
        self._seen.add(item)

    def table(self, item: str) -> Table:
        self._seen.add(item)
        return Table(self.data.get(item, {}), self.name(item))

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self._seen)
        if unknown:
            message = "unknown key (check its spelling)"
            # A misspelt key is otherwise reported twice: unknown here, missing elsewhere.
            nearest = difflib.get_close_matches(unknown[0], sorted(self._seen), n=1, cutoff=0.75)
            if nearest:
                message += f"; did you mean {nearest[0]}?"
            raise ConfigError(self.name(unknown[0]), message)


def zone(table: Table, item: str) -> ZoneInfo | None:
    name = table.get(item, str, 'an IANA time zone such as "Europe/Copenhagen"', None)
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            table.name(item), f'an IANA time zone such as "Europe/Copenhagen", not {name!r}'
        ) from None


def port_number(table: Table, item: str, default: int) -> int:
    value: int = table.get(item, int, "a port number 1-65535", default)
    if not 1 <= value <= 65535:
        raise ConfigError(table.name(item), "a port number 1-65535")
    return value


def secret_key(table: Table, item: str, key_type: int) -> Secret | None:
    expected = f"32 hex digits (KeyType {key_type} from the grid operator; 0x prefix allowed)"
    value = table.get(item, str, expected, None)
    if value is None:
        return None
    cleaned = _HEX_SEPARATORS.sub("", value)
    if cleaned[:2].lower() == "0x":
        cleaned = cleaned[2:]
    if len(cleaned) != 32 or not all(c in "0123456789abcdefABCDEF" for c in cleaned):
        # Say what is wrong without echoing the key into a log.
        raise ConfigError(table.name(item), f"{expected}; got {len(cleaned)} characters")
    if len(set(cleaned.lower())) == 1:
        # 000…0 / 111…1 are what examples put there; no grid operator issues such a key.
        raise ConfigError(
            table.name(item),
            f"{expected}; this one is a placeholder (one digit repeated): put in the key from "
            "your grid operator, or remove the line for a meter that pushes in plain text",
        )
    return Secret(cleaned.lower())
