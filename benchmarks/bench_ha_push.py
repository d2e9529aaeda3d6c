"""What one 10 s push costs Home Assistant, against an amsreader-style set-up (issue 12).

Runs the integration's push-cost benchmark (``tests/components/omnipower/test_push_cost.py``)
on a real Home Assistant core in a separate pytest process, asyncio debug mode off, and reads
the ``PUSH_COST`` line it prints. That one run measures, on the same stream of pushes the
gateway really publishes: the harness alone, an amsreader-style MQTT-discovery set-up (32
plain MQTT sensors with ``value_json`` templates), and omnipower with the HAN port only and
with the optical port too, each net of the harness. The targets are issue 12's: at most
100 µs (HAN) and 150 µs (optical) per push, and at least 5× and 3× cheaper than the
amsreader-style set-up measured in the same run. The ratios are what carries across
machines; the µs targets were set on a faster one. ``python -m benchmarks.bench_ha_push``
runs it alone.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

__all__ = ["check", "checks", "run"]

ROOT: Final = Path(__file__).resolve().parents[1]
TEST: Final = "tests/components/omnipower/test_push_cost.py"
_LINE: Final = re.compile(r"^PUSH_COST (\{.*\})$", re.MULTILINE)
#: (µs per push, times cheaper than amsreader-style) by set-up.
TARGETS: Final = {"han": (100.0, 5.0), "optical": (150.0, 3.0)}
_LABELS: Final = {"han": "HAN port only", "optical": "with the optical port"}


def run(timeout: float = 300.0) -> dict[str, Any] | None:
    """The benchmark's report (µs per push, ratios, entities, writes), None if it failed."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s", TEST],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    match = _LINE.search(result.stdout)
    if result.returncode != 0 or match is None:
        return None
    report: dict[str, Any] = json.loads(match.group(1))
    return report


def checks(report: dict[str, Any] | None) -> list[tuple[str, bool, str]]:
    """(label, passed, measured) per set-up for ``python -m benchmarks``."""
    if report is None:
        return [("Home Assistant push cost", False, "could not run (see pytest " + TEST + ")")]
    out = []
    baseline = report["amsreader_us"]
    for name, (most_us, least_ratio) in TARGETS.items():
        cost, ratio = report[f"{name}_us"], report[f"{name}_ratio"]
        label = (
            f"Home Assistant CPU per push, {_LABELS[name]}: ≤ {most_us:.0f} µs and "
            f"≥ {least_ratio:.0f}× cheaper than amsreader-style"
        )
        measured = (
            f"{cost:,.0f} µs vs {baseline:,.0f} µs = {ratio:.1f}× "
            f"({report['entities'][name]} vs {report['entities']['amsreader']} entities, "
            f"{report['writes_per_push'][name]} vs "
            f"{report['writes_per_push']['amsreader']} writes/push)"
        )
        out.append((label, cost <= most_us and ratio >= least_ratio, measured))
    return out


def check(report: dict[str, Any] | None) -> tuple[str, bool, str]:
    """The HAN check alone (kept for callers that want one line)."""
    return checks(report)[0]


def main() -> None:
    """Print the figures."""
    for label, passed, measured in checks(run()):
        print(f"{'PASS' if passed else 'FAIL'} {label}: {measured}")


if __name__ == "__main__":
    main()
