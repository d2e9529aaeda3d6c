"""``python -m benchmarks``: decode speed against the peers, footprint, gateway latency.

Everything in one run, so the ratios compare like with like on a noisy machine. The targets of
issue 3 §5 (and issue 6 §7 for the gateway) are printed as PASS/FAIL checks; this is a
benchmark, not a test: it always exits 0 unless something could not be measured at all.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from . import bench_demand, bench_emulator_year, bench_gateway_latency, bench_ha_push
from .decode_speed import FrameResult, measure_frame
from .footprint import Footprint, measure_footprint
from .frames import BenchFrame, bench_frames
from .peers import DECODERS
from .probes import PROBES, probe

OURS = "omnipower"
PEERS = [d.name for d in DECODERS if d.name != OURS]
#: Issue 3 §5 targets.
PLAIN_SPEEDUP = 4.0  # over the best peer, each plaintext frame
GCM_SPEEDUP = 6.0  # over dlms-cosem, the encrypted frame
IMPORT_MS = 80.0
RSS_MIB = 12e6 / 2**20  # "≤ +12 MB over a bare interpreter", MB read as 10⁶ bytes
#: Issue 6 §7 targets.
GATEWAY_P99_MS = 5.0
GATEWAY_CPU_PERCENT = 5.0
GATEWAY_RSS_MB = 60.0


def _machine() -> dict[str, str]:
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f}" if seconds >= 1e-4 else f"{seconds * 1e6:.1f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}×"


def _checks(
    results: list[FrameResult],
    footprints: dict[str, Footprint],
    gateway: dict[str, dict[str, float]],
) -> list[tuple[str, bool, str]]:
    checks: list[tuple[str, bool, str]] = []
    for result in results:
        frame = result.frame
        if frame.encrypted:
            got = result.speedup("dlms-cosem")
            if got is not None:
                checks.append(
                    (
                        f"{len(frame.data)} B {frame.label}: ≥ {GCM_SPEEDUP:g}× dlms-cosem",
                        got >= GCM_SPEEDUP,
                        f"{got:.2f}×",
                    )
                )
            continue
        ratios = {p: r for p in PEERS if (r := result.speedup(p)) is not None}
        if ratios:
            best = min(ratios, key=ratios.__getitem__)
            checks.append(
                (
                    f"{len(frame.data)} B {frame.label}: ≥ {PLAIN_SPEEDUP:g}× the best peer",
                    ratios[best] >= PLAIN_SPEEDUP,
                    f"{ratios[best]:.2f}× ({best})",
                )
            )
    ours = footprints.get(OURS)
    if ours is not None:
        checks.append(
            (
                f"import ccc_gateway.protocol ≤ {IMPORT_MS:g} ms",
                ours.import_ms <= IMPORT_MS,
                f"{ours.import_ms:.1f} ms best, {ours.import_median_ms:.1f} ms median",
            )
        )
        checks.append(
            (
                f"RSS ≤ +12 MB ({RSS_MIB:.1f} MiB) over a bare interpreter, import + decode "
                "all four frames",
                ours.peak_rss_mib <= RSS_MIB,
                f"+{ours.peak_rss_mib:.1f} MiB",
            )
        )
    latency = gateway.get("latency")
    if latency:
        checks.append(
            (
                f"gateway latency p99 ≤ {GATEWAY_P99_MS:g} ms (issue 6)",
                latency["p99_ms"] <= GATEWAY_P99_MS,
                f"{latency['p99_ms']:.2f} ms",
            )
        )
    many = gateway.get("many")
    if many:
        checks.append(
            (
                f"gateway, 100 meters: < {GATEWAY_CPU_PERCENT:g} % of one core (issue 6)",
                many["cpu_percent_of_one_core"] < GATEWAY_CPU_PERCENT,
                f"{many['cpu_percent_of_one_core']:.2f} %",
            )
        )
        checks.append(
            (
                f"gateway, 100 meters: RSS ≤ {GATEWAY_RSS_MB:g} MB (issue 6)",
                many["peak_rss_mib"] * 1.048576 <= GATEWAY_RSS_MB,
                f"{many['peak_rss_mib']:.1f} MiB peak",
            )
        )
    return checks


def _print_report(
    console: Console,
    machine: dict[str, str],
    versions: dict[str, str],
    results: list[FrameResult],
    probes: dict[str, dict[str, str]],
    footprints: dict[str, Footprint],
    gateway: dict[str, dict[str, float]],
    checks: list[tuple[str, bool, str]],
) -> None:
    console.print(
        f"[bold]omnipower benchmarks[/] — {machine['cpu']}, {machine['cores']} cores, "
        f"Python {machine['python']}, {machine['date']}"
    )
    console.print(
        "Peers: " + ", ".join(f"{name} {versions[name]}" for name in PEERS) + ". Ratios are "
        "peer time / our time from this run (how many times faster ours is)."
    )

    speed = Table(
        title="Decode throughput (best of the rounds): speed-up of omnipower over each peer"
    )
    speed.add_column("frame")
    speed.add_column("bytes", justify="right")
    speed.add_column("ours µs/frame", justify="right")
    speed.add_column("ours frames/s", justify="right")
    for peer in PEERS:
        speed.add_column(f"vs {peer}", justify="right")
    for result in results:
        ours = result.timings[OURS]
        speed.add_row(
            result.frame.label,
            str(len(result.frame.data)),
            _fmt_us(ours.per_call_s),
            f"{ours.frames_per_s:,.0f}",
            *(_ratio(result.speedup(peer)) for peer in PEERS),
        )
    console.print(speed)

    latency = Table(title="Per-frame latency, single calls: p50 / p99 µs")
    latency.add_column("frame")
    for decoder in DECODERS:
        latency.add_column(decoder.name, justify="right")
    for result in results:
        cells = []
        for decoder in DECODERS:
            timing = result.timings.get(decoder.name)
            cells.append(
                "—"
                if timing is None
                else f"{_fmt_us(timing.p50_s)} / {_fmt_us(timing.p99_s)}"
                f" (checked {timing.checked_values})"
            )
        latency.add_row(result.frame.label, *cells)
    console.print(latency)
    console.print(
        "[dim]“checked N”: values compared equal to ours before timing (scaled values for "
        "omnipower and amshan, raw wire values for dlms-cosem and gurux-dlms).[/]"
    )

    what = Table(title="What each decoder does")
    what.add_column("decoder")
    what.add_column("does")
    for name in PROBES:
        what.add_column(name)
    what.add_column("cannot decode")
    for decoder in DECODERS:
        cannot = "; ".join(
            f"{r.frame.name}: {r.unsupported[decoder.name]}"
            for r in results
            if decoder.name in r.unsupported
        )
        what.add_row(
            f"{decoder.name} {versions[decoder.name]}",
            decoder.summary,
            *(probes[decoder.name][p] for p in PROBES),
            cannot or "—",
        )
    console.print(what)

    if footprints:
        foot = Table(title="Import time and memory (fresh interpreter each; RSS over bare)")
        foot.add_column("decoder")
        foot.add_column("import ms, best / median", justify="right")
        foot.add_column("RSS after import", justify="right")
        foot.add_column("RSS after decoding", justify="right")
        foot.add_column("peak RSS", justify="right")
        for name, fp in footprints.items():
            foot.add_row(
                name,
                f"{fp.import_ms:.1f} / {fp.import_median_ms:.1f}",
                f"+{fp.import_rss_mib:.1f} MiB",
                f"+{fp.decode_rss_mib:.1f} MiB",
                f"+{fp.peak_rss_mib:.1f} MiB",
            )
        console.print(foot)

    if "latency" in gateway:
        lat = gateway["latency"]
        console.print(
            f"Gateway, last byte on a pty → power message at an MQTT subscriber "
            f"({lat['frames']:.0f} encrypted pushes): p50 {lat['p50_ms']:.2f} ms, "
            f"p99 {lat['p99_ms']:.2f} ms, max {lat['max_ms']:.2f} ms"
        )
    if "many" in gateway:
        many = gateway["many"]
        console.print(
            f"Gateway serving {many['meters']:.0f} encrypted meters at 10 s pushes: "
            f"{many['cpu_percent_of_one_core']:.2f} % of one core, RSS {many['rss_mib']:.1f} "
            f"MiB (peak {many['peak_rss_mib']:.1f}); {many['power_messages']:.0f} of "
            f"{many['pushes_sent']:.0f} pushes published"
        )
    for name, error in gateway.get("skipped", {}).items():
        console.print(f"[yellow]gateway {name} not measured: {error}[/]")

    console.print("[bold]Targets[/] (a benchmark, not a test: reported, never fatal)")
    for label, ok, got in checks:
        mark = "[green]PASS[/]" if ok else "[red]FAIL[/]"
        console.print(f"  {mark}  {label}: {got}")


def _gateway(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    if args.no_gateway:
        return out
    try:
        out["latency"] = bench_gateway_latency.run(args.gateway_frames)
    except Exception as error:  # a benchmark reports what it could not measure
        skipped["latency"] = f"{type(error).__name__}: {error}"
    if args.many_seconds > 0:
        try:
            out["many"] = bench_gateway_latency.run_many(duration=args.many_seconds)
        except Exception as error:
            skipped["100 meters"] = f"{type(error).__name__}: {error}"
    if skipped:
        out["skipped"] = skipped
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, no gateway runs")
    parser.add_argument("--no-gateway", action="store_true", help="skip the gateway runs")
    parser.add_argument("--gateway-frames", type=int, default=1000, metavar="N")
    parser.add_argument(
        "--many-seconds",
        type=float,
        default=30.0,
        metavar="S",
        help="duration of the 100-meter gateway run (0 skips it; default 30)",
    )
    parser.add_argument("--no-emulator", action="store_true", help="skip the emulator's year")
    parser.add_argument(
        "--no-ha", action="store_true", help="skip Home Assistant's cost of one push"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.no_gateway = True
    rounds, batch_s, samples, processes = (5, 0.02, 100, 3) if args.quick else (15, 0.03, 400, 7)

    logging.getLogger("han").setLevel(logging.CRITICAL)  # amshan logs every bad frame it sees
    stream = sys.stderr if args.json else sys.stdout
    console = Console(stderr=args.json, width=None if stream.isatty() else 132)
    machine = _machine()
    frames: list[BenchFrame] = bench_frames()
    for decoder in DECODERS:
        decoder.load()
    versions = {d.name: d.version() for d in DECODERS}

    with console.status("decode speed…"):
        results = [
            measure_frame(f, DECODERS, rounds=rounds, batch_s=batch_s, samples=samples)
            for f in frames
        ]
    by_name = {f.name: f for f in frames}
    probes = {d.name: probe(d, by_name) for d in DECODERS}
    with console.status("import time and memory (fresh interpreters)…"):
        footprints = {
            d.name: measure_footprint(d.name, frames, processes=processes) for d in DECODERS
        }
        plain = [f for f in frames if not f.encrypted]
        footprints[f"{OURS} (plaintext frames only)"] = measure_footprint(
            OURS, plain, processes=processes
        )
    gateway: dict[str, Any] = {}
    if not args.no_gateway:
        if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
            gateway = {"skipped": {"runs": "mosquitto is not installed"}}
        else:
            with console.status("gateway latency (pty → gateway → mosquitto → subscriber)…"):
                gateway = _gateway(args)
    checks = _checks(results, footprints, gateway)
    with console.status("demand calculator per push (and on 100 meters)…"):  # issue 15
        increase = None
        if not args.no_gateway and args.many_seconds > 0 and "skipped" not in gateway:
            increase = bench_demand.gateway_increase(args.many_seconds)
        checks.append(bench_demand.check(bench_demand.per_push(), increase))
    if not args.no_emulator:  # issue 4 §4; the module runs alone too
        with console.status("one simulated year of the emulated meter…"):
            checks.append(
                bench_emulator_year.check(bench_emulator_year.run(1 if args.quick else 3))
            )
    if not args.no_ha and not args.quick:  # issue 12: against amsreader-style, same run
        with console.status("Home Assistant's cost of one push…"):
            checks.extend(bench_ha_push.checks(bench_ha_push.run()))

    if args.json:
        report = {
            "machine": machine,
            "versions": versions,
            "frames": [
                {
                    "name": r.frame.name,
                    "label": r.frame.label,
                    "bytes": len(r.frame.data),
                    "origin": r.frame.origin,
                    "timings": {n: asdict(t) for n, t in r.timings.items()},
                    "speedup": {p: r.speedup(p) for p in PEERS},
                    "latency_speedup": {p: r.latency_speedup(p) for p in PEERS},
                    "unsupported": r.unsupported,
                }
                for r in results
            ],
            "probes": probes,
            "footprint": {n: asdict(f) for n, f in footprints.items()},
            "gateway": gateway,
            "checks": [{"target": t, "pass": ok, "measured": got} for t, ok, got in checks],
        }
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        _print_report(console, machine, versions, results, probes, footprints, gateway, checks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
