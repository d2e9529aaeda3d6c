"""Command ids the gateway has accepted, until they can no longer come back (at most once).

An id is remembered until ``forget_at`` (the command's expiry plus the guard's maximum lifetime):
after that a resend is refused as expired anyway, so memory is bounded by the commands live at
one time. :class:`SeenIds` keeps them in memory (pure, time passed in); :class:`FileSeenIds`
also keeps them in the state directory, written atomically and fsynced *before* the guard lets
the command run, so an id accepted before a restart or a power cut is still a ``duplicate``
after it (docs/mqtt.md, Commands, issue 10).
"""

from __future__ import annotations

import contextlib
import heapq
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from ..protocol.errors import OmnipowerError

__all__ = ["FileSeenIds", "SeenIds", "SeenIdsUnavailable"]

_LOGGER = logging.getLogger(__name__)

#: File format version; another version is treated like a damaged file.
FORMAT: Final = 1


class SeenIdsUnavailable(OmnipowerError):
    """The record of accepted ids cannot be kept, so at-most-once cannot be promised."""

    code = "seen_ids_unavailable"
    hint = "check that the gateway's state_dir exists, is writable and has free space"


@dataclass(slots=True)
class SeenIds:
    """Accepted ``(meter, id)`` pairs with the time each may be forgotten. Pure, in memory."""

    _until: dict[tuple[str, str], datetime] = field(default_factory=dict)
    _heap: list[tuple[datetime, str, str]] = field(default_factory=list)

    def __contains__(self, key: object) -> bool:
        return key in self._until

    def __len__(self) -> int:
        return len(self._until)

    def remember(self, meter: str, command_id: str, forget_at: datetime) -> None:
        """Record an accepted id (the guard calls this before the command may run)."""
        self._add(meter, command_id, forget_at)

    def forget(self, meter: str, command_id: str) -> None:
        """Drop an id whose command was answered without reaching the meter (``busy``, or
        ``shutdown`` before it ran), so that the sender may send it again as it was."""
        self._until.pop((meter, command_id), None)  # its heap entry no longer matches: skipped

    def forget_expired(self, now: datetime) -> None:
        """Drop every id whose ``forget_at`` has passed."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            forget_at, meter, command_id = heapq.heappop(heap)
            if self._until.get((meter, command_id)) == forget_at:
                del self._until[(meter, command_id)]

    def refused_until(self) -> datetime | None:
        """Until when ids not on record may still be replays (only a lost record says so)."""
        return None

    def _add(self, meter: str, command_id: str, forget_at: datetime) -> None:
        self._until[(meter, command_id)] = forget_at
        heapq.heappush(self._heap, (forget_at, meter, command_id))

    def _entries(self) -> list[list[str]]:
        return [
            [meter, command_id, until.astimezone(UTC).isoformat()]
            for (meter, command_id), until in sorted(self._until.items())
        ]


class FileSeenIds(SeenIds):
    """:class:`SeenIds` kept in a JSON file, rewritten atomically on every accepted id.

    Write: temporary file in the same directory, ``fsync``, ``os.replace``, ``fsync`` of the
    directory, so a power cut leaves the old or the new list, never half of one, and never a
    command that ran without its id on disk. A write that fails raises
    :class:`SeenIdsUnavailable` and the command is refused: running it would break the promise.

    A missing file is a first start. A damaged one cannot tell which ids ran, so every command
    that may have been received before this start (expiring less than *lifetime* after it) is
    refused until then; one that expires later cannot have been accepted before (the guard
    refuses expiries further ahead than *lifetime*), so it runs normally.
    """

    def __init__(self, path: Path, *, now: datetime, lifetime: timedelta) -> None:
        super().__init__()
        self.path = path
        self._refuse_until: datetime | None = None
        self._load(now, lifetime)

    def refused_until(self) -> datetime | None:
        """Until when commands are refused because the record on disk was damaged."""
        return self._refuse_until

    def remember(self, meter: str, command_id: str, forget_at: datetime) -> None:
        """Record the id and have it on disk before returning; :class:`SeenIdsUnavailable`."""
        self._add(meter, command_id, forget_at)
        try:
            self._write()
        except OSError as exc:
            del self._until[(meter, command_id)]  # its heap entry no longer matches: skipped
            _LOGGER.error(
                "cannot write the seen command ids to %s (%s): commands are refused until it "
                "can be written; %s",
                self.path,
                exc,
                SeenIdsUnavailable.hint,
            )
            raise SeenIdsUnavailable(
                f"the gateway cannot record command ids ({type(exc).__name__}); "
                "refused so that it cannot run twice"
            ) from None

    def forget(self, meter: str, command_id: str) -> None:
        """Drop the id on disk too; if that write fails the id stays (the safe direction)."""
        forget_at = self._until.pop((meter, command_id), None)
        if forget_at is None:
            return
        try:
            self._write()
        except OSError:
            self._until[(meter, command_id)] = forget_at  # still on disk: still a duplicate

    def _load(self, now: datetime, lifetime: timedelta) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            self._damaged(now, lifetime, exc)
            return
        try:
            entries = _parse(text)
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            self._damaged(now, lifetime, exc)
            return
        for meter, command_id, forget_at in entries:
            if forget_at > now:
                self._add(meter, command_id, forget_at)

    def _damaged(self, now: datetime, lifetime: timedelta, exc: Exception) -> None:
        self._refuse_until = now + lifetime
        _LOGGER.error(
            "cannot read the seen command ids in %s (%s): commands that may have arrived before "
            "this start are refused until %s; delete or repair the file",
            self.path,
            exc,
            self._refuse_until.isoformat(),
        )

    def _write(self) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"format": FORMAT, "ids": self._entries()}, ensure_ascii=True)
        fd, temp = tempfile.mkstemp(dir=directory, prefix=".seen-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data.encode("ascii"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _parse(text: str) -> list[tuple[str, str, datetime]]:
    data: Any = json.loads(text)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"not format {FORMAT}")
    out = []
    for meter, command_id, until in data["ids"]:
        if not isinstance(meter, str) or not isinstance(command_id, str):
            raise TypeError("ids are strings")
        forget_at = datetime.fromisoformat(until)
        if forget_at.tzinfo is None:
            raise ValueError("forget_at needs an offset")
        out.append((meter, command_id, forget_at))
    return out
