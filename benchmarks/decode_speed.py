"""Decode throughput and per-frame latency: ours against each peer, same frames, same run.

For each frame, every decoder that can decode it is first checked to produce the same values as
ours (so no peer is timed doing less work than it reports), then timed in two interleaved ways:

* throughput: batches of calls long enough to dwarf the timer (garbage collection off inside a
  batch, as :mod:`timeit` does), many short rounds with the decoders' order rotated each round;
  the best round's per-call time (as :mod:`timeit` advises: other load only ever adds time,
  and short rounds make it likely that every decoder gets some undisturbed ones);
* latency: single calls, each timed alone, the decoders taking turns call by call; p50 and p99.

Machines here are noisy, so what is reported is the ratio from one run: peer time / our time
(how many times faster ours is). The absolute numbers are printed for context only.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .frames import BenchFrame
from .peers import Decoder, Unsupported

__all__ = ["FrameResult", "Mismatch", "Timing", "measure_frame", "verify"]


class Mismatch(AssertionError):
    """A peer decoded a frame to values different from ours."""


@dataclass(frozen=True, slots=True)
class Timing:
    per_call_s: float
    median_s: float
    p50_s: float
    p99_s: float
    checked_values: int

    @property
    def frames_per_s(self) -> float:
        return 1.0 / self.per_call_s


@dataclass(slots=True)
class FrameResult:
    frame: BenchFrame
    timings: dict[str, Timing] = field(default_factory=dict)
    unsupported: dict[str, str] = field(default_factory=dict)

    def speedup(self, peer: str, ours: str = "omnipower") -> float | None:
        """Peer time / our time (throughput), or None when the peer cannot decode the frame."""
        if peer not in self.timings:
            return None
        return self.timings[peer].per_call_s / self.timings[ours].per_call_s

    def latency_speedup(self, peer: str, ours: str = "omnipower") -> float | None:
        if peer not in self.timings:
            return None
        return self.timings[peer].p50_s / self.timings[ours].p50_s


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, int | float) and isinstance(theirs, int | float):
        return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-9)
    return bool(ours == theirs)


def verify(decoder: Decoder, result: Any, reference: Any) -> int:
    """Check *decoder*'s values against ours (*reference*, a decoded push); the count checked.

    Raw-value peers must give every object ours gives; scaled peers every one they name.
    """
    theirs = decoder.readings(result)
    expected = {
        code: (reading.value if decoder.scaled else reading.raw)
        for code, reading in reference.readings.items()
    }
    if not decoder.scaled and set(theirs) != set(expected):
        raise Mismatch(
            f"{decoder.name}: objects differ: only ours {sorted(set(expected) - set(theirs))}, "
            f"only theirs {sorted(set(theirs) - set(expected))}"
        )
    if not theirs:
        raise Mismatch(f"{decoder.name}: no values")
    for code, value in theirs.items():
        if code not in expected:
            raise Mismatch(f"{decoder.name}: {code} not in our decoding")
        if not _same(expected[code], value):
            raise Mismatch(f"{decoder.name}: {code} = {value!r}, ours {expected[code]!r}")
    return len(theirs)


def _batch(call: Callable[[], Any], number: int) -> float:
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            call()
        return (time.perf_counter() - start) / number
    finally:
        if enabled:
            gc.enable()


def _calibrate(call: Callable[[], Any], target_s: float) -> int:
    number = 1
    while True:
        elapsed = _batch(call, number) * number
        if elapsed >= target_s / 4 or number >= 1 << 20:
            return max(1, math.ceil(number * target_s / max(elapsed, 1e-9)))
        number *= 4


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def measure_frame(
    frame: BenchFrame,
    decoders: Sequence[Decoder],
    *,
    rounds: int = 15,
    batch_s: float = 0.03,
    samples: int = 300,
) -> FrameResult:
    """Verify then time every decoder on *frame*; the first decoder is the reference (ours)."""
    out = FrameResult(frame)
    calls: dict[str, Callable[[], Any]] = {}
    checked: dict[str, int] = {}
    reference: Any = None
    for decoder in decoders:
        try:
            call = decoder.bind(frame.data, frame.encryption_key, frame.authentication_key)
            result = call()
        except Unsupported as why:
            out.unsupported[decoder.name] = str(why)
            continue
        if reference is None:
            reference = result
        checked[decoder.name] = verify(decoder, result, reference)
        calls[decoder.name] = call
    names = list(calls)
    numbers = {name: _calibrate(calls[name], batch_s) for name in names}
    per_call: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            per_call[name].append(_batch(calls[name], numbers[name]))
    single: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter_ns
    for _ in range(samples):
        for name in names:
            call = calls[name]
            start = clock()
            call()
            single[name].append((clock() - start) / 1e9)
    for name in names:
        values = sorted(single[name])
        out.timings[name] = Timing(
            per_call_s=min(per_call[name]),
            median_s=statistics.median(per_call[name]),
            p50_s=_percentile(values, 0.50),
            p99_s=_percentile(values, 0.99),
            checked_values=checked[name],
        )
    return out
