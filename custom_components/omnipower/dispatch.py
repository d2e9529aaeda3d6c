"""Who to tell when a payload changes: listeners by topic and key, fed with diffs.

The gateway publishes whole payloads (``power`` every 10 s with every value), but a push
changes only some of them. Comparing each payload with the topic's last one and telling only
the listeners of the keys that changed keeps Home Assistant's work proportional to what
changed: an unchanged sensor is neither recomputed nor written (issue 12).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, callback

from .data import Payload

type ChangeListener = Callable[[], None]

#: Keys of every payload that no entity shows (the envelope; ``ts`` changes on every push).
ENVELOPE: Final = frozenset({"ts", "schema"})
_MISSING: Final = object()


def changed_keys(old: Payload | None, new: Payload) -> list[str]:
    """Keys whose value differs between two payloads of a topic, removed keys included."""
    if old is None:
        return [key for key in new if key not in ENVELOPE]
    changed = [
        key for key, value in new.items() if old.get(key, _MISSING) != value and key not in ENVELOPE
    ]
    # Same keys (the usual case) need no second pass; the key views compare in C.
    if old.keys() != new.keys():
        changed += [key for key in old if key not in new and key not in ENVELOPE]
    return changed


class ChangeDispatcher:
    """Listeners of (topic, key) and of whole topics; each is called once per change."""

    def __init__(self) -> None:
        """Start with no listener."""
        self._by_key: dict[str, dict[str, list[ChangeListener]]] = {}
        self._by_topic: dict[str, list[ChangeListener]] = {}

    @callback
    def async_watch(
        self, topic: str, keys: Iterable[str] | None, listener: ChangeListener
    ) -> CALLBACK_TYPE:
        """Call *listener* when one of *keys* of *topic* changes (None: any key)."""
        lists: list[list[ChangeListener]] = []
        if keys is None:
            lists.append(self._by_topic.setdefault(topic, []))
        else:
            by_key = self._by_key.setdefault(topic, {})
            lists.extend(by_key.setdefault(key, []) for key in keys)
        for listeners in lists:
            listeners.append(listener)

        @callback
        def remove() -> None:
            for listeners in lists:
                listeners.remove(listener)

        return remove

    @callback
    def async_dispatch(self, topic: str, keys: Iterable[str]) -> None:
        """Call every listener of *topic* concerned by the changed *keys*, once each."""
        by_key = self._by_key.get(topic)
        called: dict[Any, None] = {}
        if by_key is not None:
            for key in keys:
                for listener in by_key.get(key, ()):
                    called[listener] = None
        for listener in self._by_topic.get(topic, ()):
            called[listener] = None
        for listener in list(called):
            listener()
