"""The objects one emulated meter serves, and what each association may do with them.

Rights are per association name ("public", "optical", ...): an object without rights for an
association is not in that association's object_list and reads as object-undefined there, as on
a meter whose logical devices hold different objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .interface import CosemObject, Rights

__all__ = ["Entry", "ObjectRegistry"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One registered object and the rights of every association that sees it."""

    obj: CosemObject
    rights: Mapping[str, Rights]

    def rights_of(self, association: str) -> Rights | None:
        """The association's rights, or None when the object is invisible to it."""
        return self.rights.get(association)


class ObjectRegistry:
    """Objects by logical name, in the order they were added (the object_list order)."""

    def __init__(self) -> None:
        self._entries: dict[bytes, Entry] = {}

    def add(self, obj: CosemObject, rights: Mapping[str, Rights]) -> CosemObject:
        """Register *obj*; a second object with the same logical name is a configuration bug."""
        if obj.logical_name in self._entries:
            raise ValueError(f"two objects at {obj.obis}")
        self._entries[obj.logical_name] = Entry(obj, dict(rights))
        return obj

    def find(self, logical_name: bytes) -> Entry | None:
        """The entry at *logical_name*, if any."""
        return self._entries.get(logical_name)

    def visible(self, association: str) -> Iterator[tuple[CosemObject, Rights]]:
        """Every object the association sees, with its rights."""
        for entry in self._entries.values():
            rights = entry.rights_of(association)
            if rights is not None:
                yield entry.obj, rights

    def __len__(self) -> int:
        return len(self._entries)
