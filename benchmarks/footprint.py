"""Import time and memory of each decoder, each measured in a fresh interpreter.

A probe process (:mod:`benchmarks._probe`, run by the same Python) reads its own RSS from
``/proc/self/status`` before anything but the bare interpreter is loaded, imports one
decoder's library, reads RSS again, decodes the bench frames many times, and reports RSS and
the peak (VmHWM). Increases are over that bare-interpreter baseline.
Import time is the wall time of the library's imports in a fresh process: the best and the
median of several processes, after one warm-up (so byte-code caches are written).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .frames import BenchFrame

__all__ = ["Footprint", "measure_footprint"]

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Footprint:
    import_ms: float
    import_median_ms: float
    import_rss_mib: float
    decode_rss_mib: float
    peak_rss_mib: float


def _run_probe(name: str, frames: list[BenchFrame], rounds: int) -> list[float]:
    lines = "\n".join(
        " ".join(
            x.hex() if x is not None else "-"
            for x in (f.data, f.encryption_key, f.authentication_key)
        )
        for f in frames
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # The warm-up is there to write byte-code caches; with writing turned off, every probe
    # would compile this project's modules (the peers' caches come with their install) and
    # the first compile in a process alone costs ~0.5 MiB and several ms.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks._probe", name, str(rounds)],
        input=lines,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    return [float(x) for x in completed.stdout.split()]


def measure_footprint(
    name: str, frames: list[BenchFrame], *, processes: int = 5, rounds: int = 200
) -> Footprint:
    """Best and median import time over *processes* fresh interpreters; RSS from the last."""
    _run_probe(name, frames, 1)  # warm-up: byte-code caches
    runs = [_run_probe(name, frames, rounds) for _ in range(processes)]
    base, after_import, after_decode, peak, _, _ = runs[-1]
    return Footprint(
        import_ms=1000 * min(run[4] for run in runs),
        import_median_ms=1000 * statistics.median(run[4] for run in runs),
        import_rss_mib=(after_import - base) / 1024,
        decode_rss_mib=(after_decode - base) / 1024,
        peak_rss_mib=(peak - base) / 1024,
    )
