"""What one 10 s push costs Home Assistant: issue 7 asks for the figure, with no target.

Runs the integration's push-cost measurement (``tests/components/omnipower/test_push_cost.py``:
a three-phase push, power and energy, every entity updated, until Home Assistant is idle) on a
real Home Assistant core in a separate pytest process, and reads the figure it records.
``python -m benchmarks.bench_ha_push`` runs it alone.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Final

__all__ = ["check", "run"]

ROOT: Final = Path(__file__).resolve().parents[1]
TEST: Final = "tests/components/omnipower/test_push_cost.py"
_FIGURE: Final = re.compile(r"cost of one push[^:]*:\s*([0-9.]+)\s*µs")


def run(timeout: float = 300.0) -> float | None:
    """Microseconds per push, or None when the measurement could not run."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s", TEST],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    match = _FIGURE.search(result.stdout)
    if result.returncode != 0 or match is None:
        return None
    return float(match.group(1))


def check(per_push_us: float | None) -> tuple[str, bool, str]:
    """(label, passed, measured) for ``python -m benchmarks``; there is no target to fail."""
    label = "Home Assistant: one 3-phase push, all entities updated (reported, no target)"
    if per_push_us is None:
        return label, False, "could not run (see pytest " + TEST + ")"
    return label, True, f"{per_push_us:,.0f} µs"


def main() -> None:
    """Print the figure."""
    label, _passed, measured = check(run())
    print(f"{label}: {measured}")


if __name__ == "__main__":
    main()
