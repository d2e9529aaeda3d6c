"""Command policies and executors by meter id, computed at each look-up.

A meter's id may settle only after start (from its first push or optical read), so the guard
and the dispatcher see these live mappings rather than a table built once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeVar

__all__ = ["LiveMapping"]

V = TypeVar("V")


class LiveMapping(Mapping[str, V]):
    """A read-only mapping rebuilt from *entries* on every access; ``None`` ids or values are
    left out (a meter not yet named, a meter without an executor)."""

    def __init__(self, entries: Callable[[], Iterable[tuple[str | None, V | None]]]) -> None:
        self._entries = entries

    def _current(self) -> dict[str, V]:
        return {
            key: value for key, value in self._entries() if key is not None and value is not None
        }

    def __getitem__(self, key: str) -> V:
        return self._current()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())
