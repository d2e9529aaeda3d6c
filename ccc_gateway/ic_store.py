"""The last accepted invocation counter per system title, kept on disk.

docs/gateway.md: a replayed frame must stay rejected after a restart, so the replay guard's memory
cannot live only in RAM. The file is tiny JSON (``{"4B414D4501A4DC52": 493793}``) rewritten
atomically (temporary file, then ``os.replace``), so a power cut leaves the old or the new
version, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path

__all__ = ["FileCounterStore"]

_LOGGER = logging.getLogger(__name__)


class FileCounterStore:
    """A persistent :class:`ccc_gateway.protocol.InvocationCounterStore`.

    Reads happen in memory; every save writes the file (one small write per push, every 10 s).
    A file that cannot be written is logged once and the guard keeps working from memory: losing
    persistence is bad, but losing every reading over it would be worse.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._counters: dict[str, int] = {}
        self._write_failed = False
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            # Starting with an empty guard accepts one replay window; refusing to start would
            # leave the household without readings. Say so loudly.
            _LOGGER.error(
                "cannot read the invocation counters in %s (%s): replay protection restarts "
                "from the next frame; check the file or delete it",
                self.path,
                exc,
            )
            return
        if isinstance(data, dict):
            self._counters = {
                str(title).upper(): value
                for title, value in data.items()
                if isinstance(value, int) and not isinstance(value, bool)
            }

    def load(self, system_title: bytes) -> int | None:
        """The last accepted counter for *system_title*, or None."""
        return self._counters.get(system_title.hex().upper())

    def save(self, system_title: bytes, invocation_counter: int) -> None:
        """Remember *invocation_counter* and write the file atomically."""
        self._counters[system_title.hex().upper()] = invocation_counter
        try:
            self._write()
        except OSError as exc:
            if not self._write_failed:
                _LOGGER.error(
                    "cannot write the invocation counters to %s (%s): check the state_dir "
                    "permissions and free space; replay protection holds only until restart",
                    self.path,
                    exc,
                )
            self._write_failed = True
        else:
            if self._write_failed:
                _LOGGER.info("invocation counters are written to %s again", self.path)
            self._write_failed = False

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(self._counters, sort_keys=True).encode()
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".ic-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                # No fsync: it costs milliseconds on an SD card on the push path, and a power
                # cut that loses the newest counter only re-opens the last few pushes.
                handle.write(payload)
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
