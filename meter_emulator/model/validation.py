"""Validation helpers for the TOML configuration: every error names the key it is about."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from typing import Any, Final

__all__ = ["ConfigError", "Table", "hex_key", "obis_list", "parse_days", "time_of_day"]

_DAYS: Final = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class ConfigError(ValueError):
    """The configuration is wrong; the message names the key and what it must be."""

    def __init__(self, key: str, expected: str) -> None:
        super().__init__(f"{key}: {expected}")
        self.key = key


class Table:
    """A TOML table being validated; :meth:`finish` rejects keys nobody read."""

    def __init__(self, data: Any, key: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(key, "expected a table")
        self.data: Mapping[str, Any] = data
        self.key = key
        self.seen: set[str] = set()

    def name(self, item: str) -> str:
        return f"{self.key}.{item}" if self.key else item

    def get(self, item: str, kind: type | tuple[type, ...], expected: str, default: Any) -> Any:
        self.seen.add(item)
        if item not in self.data:
            return default
        value = self.data[item]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            raise ConfigError(self.name(item), expected)
        return value

    def choice(self, item: str, choices: Mapping[int, Any], expected: str, default: int) -> Any:
        code = self.get(item, int, expected, default)
        if code not in choices:
            raise ConfigError(self.name(item), expected)
        return choices[code]

    def number(self, item: str, low: float, high: float, default: float, what: str) -> Any:
        value = self.get(item, (int, float), f"{what} between {low} and {high}", default)
        if not low <= value <= high:
            raise ConfigError(self.name(item), f"{what} between {low} and {high}")
        return value

    def table(self, item: str) -> Table:
        self.seen.add(item)
        return Table(self.data.get(item, {}), self.name(item))

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise ConfigError(self.name(unknown[0]), "unknown key (check its spelling)")


def time_of_day(table: Table, item: str, default: time | None) -> time | None:
    text = table.get(item, str, '"HH:MM"', None)
    if text is None:
        return default
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return time(hours, minutes)
    except ValueError:
        raise ConfigError(table.name(item), '"HH:MM"') from None


def hex_key(table: Table, item: str) -> bytes | None:
    text = table.get(item, str, "32 hex digits", None)
    if text is None:
        return None
    try:
        key = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise ConfigError(table.name(item), "32 hex digits") from None
    if len(key) != 16:
        raise ConfigError(table.name(item), "32 hex digits (an AES-128 key)")
    return key


def obis_list(table: Table, item: str, limit: int, default: tuple[str, ...]) -> tuple[str, ...]:
    expected = f'a list of at most {limit} OBIS identifiers like "1.8.0"'
    value = table.get(item, list, expected, list(default))
    if len(value) > limit or not all(isinstance(v, str) and v.count(".") == 2 for v in value):
        raise ConfigError(table.name(item), expected)
    return tuple(value)


def parse_days(text: str, key: str) -> frozenset[int]:
    if text == "all":
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise ConfigError(key, '"mon-fri", "sat,sun" or "all"')
        start, end = _DAYS[first], _DAYS[last or first]
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
    return frozenset(days)
