"""One simulated year of the emulated meter: issue 4 §4 asks for ≤ 10 s.

The default meter (single-phase, 15-minute load profile, A+/A−/R+/R−) on the default
``household`` scenario, seed 0, from 2024-01-01 through 2024-12-31 (a leap year: 366 days,
35 136 profile periods) in one ``advance_to``. The household changes its supply every simulated
minute, so this is about half a million stretches of integration, each with its own supply.

``python -m benchmarks.bench_emulator_year`` runs it alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from meter_emulator.model import Meter, parse_config
from meter_emulator.model.clock import to_us
from meter_emulator.scenarios import make_scenario

__all__ = ["TARGET_S", "YearResult", "check", "run"]

#: Issue 4 §4: "simulating one year of 15-minute load profile takes ≤ 10 s".
TARGET_S: Final = 10.0
START: Final = datetime(2024, 1, 1, tzinfo=UTC)
DAYS: Final = 366


@dataclass(frozen=True, slots=True)
class YearResult:
    """Best and median wall time of the runs, and what one run produced."""

    best_s: float
    median_s: float
    runs: int
    profile_entries: int
    periods: int
    a_plus_kwh: float

    @property
    def passed(self) -> bool:
        """Whether the best run met the target."""
        return self.best_s <= TARGET_S


def _one_year() -> tuple[float, Meter]:
    config = parse_config({})
    source = make_scenario("household", seed=0, phases=config.phases, start_us=to_us(START))
    started = time.perf_counter()
    meter = Meter(config, start=START, source=source)
    meter.advance_to(START + timedelta(days=DAYS))
    return time.perf_counter() - started, meter


def run(runs: int = 3) -> YearResult:
    """Simulate the year *runs* times (each from scratch)."""
    times: list[float] = []
    meter: Meter | None = None
    for _ in range(max(runs, 1)):
        elapsed, meter = _one_year()
        times.append(elapsed)
    assert meter is not None
    times.sort()
    return YearResult(
        best_s=times[0],
        median_s=times[len(times) // 2],
        runs=len(times),
        profile_entries=len(meter.load_profile.entries),
        periods=DAYS * 24 * 60 // meter.config.integration_period_min,
        a_plus_kwh=meter.energy.wh("a_plus") / 1000,
    )


def check(result: YearResult) -> tuple[str, bool, str]:
    """(target, passed, measured) as ``python -m benchmarks`` prints its checks."""
    return (
        f"emulator: one simulated year (household, 15-min profile) ≤ {TARGET_S:g} s",
        result.passed,
        f"{result.best_s:.2f} s best, {result.median_s:.2f} s median of {result.runs} "
        f"({result.periods} periods, A+ {result.a_plus_kwh:,.0f} kWh)",
    )


def main() -> None:
    """Print the figure."""
    label, passed, measured = check(run())
    print(f"{'PASS' if passed else 'FAIL'}  {label}: {measured}")


if __name__ == "__main__":
    main()
