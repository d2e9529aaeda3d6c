"""The gateway's own HLS-GMAC invocation counters, reserved on disk before they are used.

AES-GCM must never see the same nonce (system title || invocation counter) twice under one key,
so a restarted gateway must start past every counter it ever sent. Counters are reserved in
blocks: the file says "up to N may have been used" before any of them is, and a session only
writes when it crosses into the next block. After a crash the next start resumes at the
reservation, skipping what was reserved but unused: a counter is never sent twice.

The file is small JSON (``{"4F4D470000000001 tcp://host:2002": 1200}``) rewritten atomically.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Final

__all__ = ["BLOCK", "HlsCounterFile"]

_LOGGER = logging.getLogger(__name__)
#: Counters reserved per write.
BLOCK: Final = 1000


class HlsCounterFile:
    """Reserved counters per key (our system title and the port), persisted in *path*."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._reserved: dict[str, int] = {}
        self._write_failed = False
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            # Starting without the file risks a reused nonce; the clock-based floor of the
            # port still applies. Say so loudly.
            _LOGGER.error(
                "cannot read the HLS invocation counters in %s (%s): counters restart from "
                "the clock-based floor; check the file",
                path,
                exc,
            )
            return
        if isinstance(data, dict):
            self._reserved = {
                str(k): int(v) for k, v in data.items() if isinstance(v, int) and v >= 0
            }

    def reserved(self, key: str) -> int:
        """Counters below this may have been used under *key*."""
        return self._reserved.get(key, 0)

    def reserve(self, key: str, needed: int) -> None:
        """Make sure every counter below *needed* is reserved on disk (block-wise)."""
        if needed <= self._reserved.get(key, 0):
            return
        self._reserved[key] = needed + BLOCK
        self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".hls-ic-")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(self._reserved, out, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(temporary)
            if not self._write_failed:
                _LOGGER.error(
                    "cannot write the HLS invocation counters to %s (%s): a restart may reuse "
                    "a counter; check the state directory",
                    self.path,
                    exc,
                )
                self._write_failed = True
        else:
            self._write_failed = False
