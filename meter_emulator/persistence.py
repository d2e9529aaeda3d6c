"""The emulated meter's permanent memory on disk: atomic JSON writes, a never-reused IC.

The state file is replaced atomically (write a temporary file in the same directory, fsync,
rename), so a crash leaves either the old or the new state, never a torn one. The invocation
counter is reserved in blocks: before a block's first counter is used, the end of the block is
written to disk, and after a restart counting resumes past the last reservation. A crash can
skip counters but never reuse one — the receiver only needs them to increase.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Final

from .model.meter import Meter
from .model.state import dump_state, restore_state

__all__ = ["MeterStore", "atomic_write_json", "read_json"]

#: Counters reserved per disk write (one push every 10 s: one write every ~17 minutes).
IC_BLOCK: Final = 100


def atomic_write_json(path: Path, data: Any) -> None:
    """Replace *path* with *data* as JSON, atomically and durably."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def read_json(path: Path) -> Any | None:
    """The JSON in *path*, or None when there is no file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return json.loads(text)


class MeterStore:
    """Keeps one meter's permanent memory in *path*."""

    def __init__(self, path: Path, meter: Meter) -> None:
        self.path = path
        self.meter = meter
        self.reserved = meter.invocation_counter

    def load(self) -> bool:
        """Restore the meter from disk; False when there was nothing to restore."""
        state = read_json(self.path)
        if state is None:
            return False
        restore_state(self.meter, state["meter"])
        self.reserved = int(state["ic_reserved"])
        self.meter.invocation_counter = self.reserved  # skip any counter handed out before
        return True

    def save(self) -> None:
        """Write the permanent memory now."""
        atomic_write_json(
            self.path, {"meter": dump_state(self.meter), "ic_reserved": self.reserved}
        )

    def next_invocation_counter(self) -> int:
        """The next IC, reserving (and saving) a new block first when needed."""
        if self.meter.invocation_counter + 1 > self.reserved:
            self.reserved = self.meter.invocation_counter + IC_BLOCK
            self.save()
        return self.meter.next_invocation_counter()
