"""One decoded frame as ``omnipower decode`` reports it: the checks made, the values or the named
error and its hint. Shared by the capture decoder (``decode_cli``) and the live one
(``decode_live``), which both sit above this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from rich.console import Console
from rich.table import Table

from .plausibility import assumed_scalers, implausible
from .protocol import (
    CosemDateTime,
    OmnipowerError,
    Push,
    RemoteProtocolError,
    Resolution,
    SecurityContext,
    decode_frame,
)

__all__ = [
    "NO_FRAMES",
    "FrameReport",
    "UsageError",
    "assumed_scalers",
    "implausible",
    "no_frames_message",
    "print_report",
    "report_for",
]

#: Exit status when the line gave no frame at all: silent, or bytes without a frame start.
NO_FRAMES: Final = 3

#: What to check when the CCC line stays silent (README "Wire the CCC port").
SILENT_HINT: Final = (
    "check that CCC pin 5 (DATA_OUT) goes to the adapter's RX and pin 6 to GND, that your grid "
    "operator enabled the HAN push on the CCC, and the line settings (2400 baud 8N1)"
)

#: What to check when bytes arrive but never a frame start (flag 0x7E, or "/" for HAN P1).
GARBAGE_HINT: Final = (
    "wrong baud rate or parity (the CCC runs at 2400 8N1), an inverted line, or a port that is "
    "not the meter's CCC"
)


def no_frames_message(received: int, seconds: float | None) -> str:
    """The one-line verdict when a line or capture held no frame, with what to check."""
    if received == 0:
        within = f" in {seconds:g} s" if seconds is not None else ""
        return f"no bytes arrived{within}: {SILENT_HINT}"
    return f"{received} bytes, no frame start: {GARBAGE_HINT}"


class UsageError(Exception):
    """A command-line argument a person has to fix."""


@dataclass
class FrameReport:
    """What decode found for one frame."""

    index: int
    raw: bytes
    checks: list[str] = field(default_factory=list)
    push: Push | None = None
    error: OmnipowerError | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for --json."""
        out: dict[str, Any] = {
            "frame": self.index,
            "bytes": len(self.raw),
            "ok": self.error is None,
            "checks": self.checks,
        }
        if self.error is not None:
            out["error"] = {
                "name": type(self.error).__name__,
                "code": self.error.code,
                "message": str(self.error),
                "hint": self.error.hint,
            }
        if self.push is not None:
            push = self.push
            out["list"] = {
                "version": push.list_version,
                "kind": push.list_kind.value,
                "phases": push.phases,
                "null_placeholders": push.null_placeholders,
            }
            out["apdu_datetime"] = push.apdu_datetime.isoformat() if push.apdu_datetime else None
            if push.system_title is not None:
                out["system_title"] = push.system_title.hex().upper()
                out["invocation_counter"] = push.invocation_counter
            out["assumed_scalers"] = assumed_scalers(push)
            out["implausible"] = implausible(push)
            out["readings"] = {
                code: {
                    "name": r.name,
                    "raw": _jsonable(r.raw),
                    "scaler": r.scaler,
                    "unit": r.unit,
                    "value": _jsonable(r.value),
                }
                for code, r in push.readings.items()
            }
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, CosemDateTime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex().upper()
    return value


def report_for(
    index: int,
    raw: bytes,
    framing_error: OmnipowerError | None,
    *,
    security: SecurityContext,
    resolution: Resolution,
) -> FrameReport:
    """Decode one framed chunk (or record why framing refused it)."""
    report = FrameReport(index, raw)
    if framing_error is not None:
        report.error = framing_error
        return report
    try:
        report.push = decode_frame(
            raw, security=security, resolution=resolution, trace=report.checks
        )
    except RemoteProtocolError as error:
        report.error = error
    return report


def print_report(console: Console, report: FrameReport) -> None:
    """A frame report for people: every check, then the values or the error and a hint."""
    _print(console, report)


def _print(console: Console, report: FrameReport) -> None:
    console.rule(f"frame {report.index} ({len(report.raw)} bytes)")
    for check in report.checks:
        console.print(f"  [green]✓[/green] {check}")
    if report.error is not None:
        console.print(f"  [bold red]✗ {type(report.error).__name__}[/]: {report.error}")
        if report.error.hint:
            console.print(f"    [yellow]what to try:[/] {report.error.hint}")
        if report.raw:
            more = " …" if len(report.raw) > 48 else ""
            console.print(f"    bytes: {report.raw[:48].hex(' ').upper()}{more}")
        return
    push = report.push
    assert push is not None
    table = Table(show_edge=False, pad_edge=False)
    for column in ("OBIS", "name", "raw", "scaler", "value", "unit"):
        table.add_column(
            column, justify="right" if column in ("raw", "scaler", "value") else "left"
        )
    for code, reading in push.readings.items():
        table.add_row(
            code,
            reading.name,
            "" if reading.scaler is None else str(_jsonable(reading.raw)),
            "" if reading.scaler is None else str(reading.scaler),
            str(_jsonable(reading.value)),
            reading.unit or "",
        )
    console.print(table)
    scalers = assumed_scalers(push)
    if scalers:
        # The push carries raw numbers only: say which decimal scalers turned them into values.
        listed = ", ".join(f"{unit} ×10^{scaler}" for unit, scaler in scalers.items())
        console.print(
            f"  scalers assumed (not sent by the meter): {listed}; override with "
            "--energy-resolution, --voltage-resolution, --current-resolution",
            soft_wrap=True,
        )
    for flag in implausible(push):
        console.print(f"  [bold yellow]⚠ implausible:[/] {flag}", soft_wrap=True)
