"""The demo's screen: what an MQTT consumer sees, drawn in the terminal.

The view is built only from the MQTT topics of the contract (docs/mqtt.md), exactly as Home
Assistant or an energy display would receive them, so the demo shows the product end to end:
if a value is on screen it went through the port, every integrity check, the publisher and the
broker. :class:`DemoState` is pure (topic and payload in, state out); :func:`render` turns it
into a Rich renderable; :func:`follow` is the thin aiomqtt adapter.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = ["DemoState", "MeterScreen", "follow", "render", "summary_line"]

_LOGGER = logging.getLogger(__name__)

#: Rows of the table: a label, and the (payload key, part name, unit, decimals) shown side by side
#: on it. Keys a meter does not send are left out (and so are their part names in the label: a
#: single-phase meter shows "Voltage L1"); a row with none of its keys is not drawn.
POWER_ROWS: Final = (
    ("Net power (import − export)", (("net_power_w", "", "W", 0),)),
    (
        "Active power",
        (("active_power_import_w", "import", "W", 0), ("active_power_export_w", "export", "W", 0)),
    ),
    (
        "Reactive power",
        (
            ("reactive_power_import_var", "import", "var", 0),
            ("reactive_power_export_var", "export", "var", 0),
        ),
    ),
    (
        "Voltage",
        (
            ("voltage_l1_v", "L1", "V", 1),
            ("voltage_l2_v", "L2", "V", 1),
            ("voltage_l3_v", "L3", "V", 1),
        ),
    ),
    (
        "Current",
        (
            ("current_l1_a", "L1", "A", 2),
            ("current_l2_a", "L2", "A", 2),
            ("current_l3_a", "L3", "A", 2),
        ),
    ),
    ("", (("power_factor", "Power factor", "", 3), ("frequency_hz", "frequency", "Hz", 2))),
)
ENERGY_ROWS: Final = (
    (
        "Energy",
        (
            ("active_energy_import_kwh", "import", "kWh", 3),
            ("active_energy_export_kwh", "export", "kWh", 3),
        ),
    ),
    (
        "Reactive energy",
        (
            ("reactive_energy_import_kvarh", "import", "kvarh", 3),
            ("reactive_energy_export_kvarh", "export", "kvarh", 3),
        ),
    ),
    (
        "Import kWh per tariff",
        tuple((f"active_energy_import_t{t}_kwh", f"T{t}", "", 3) for t in range(1, 5)),
    ),
)


@dataclass(slots=True)
class MeterScreen:
    """The last payload of each topic of one meter, and how many messages arrived."""

    payloads: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, int] = field(default_factory=dict)

    def value(self, topic_name: str, key: str) -> Any:
        """A field of the last payload on ``<meter>/<topic_name>``, or None."""
        return self.payloads.get(topic_name, {}).get(key)


@dataclass(slots=True)
class DemoState:
    """Everything received under *base*: meters by id, gateways' availability."""

    base: str = "omnipower"
    meters: dict[str, MeterScreen] = field(default_factory=dict)
    bridges: dict[str, str] = field(default_factory=dict)
    undecodable: int = 0

    def apply(self, topic: str, payload: bytes) -> bool:
        """Take one message; False when it is not for this view (other base, unknown shape)."""
        parts = topic.split("/")
        if len(parts) < 3 or parts[0] != self.base:
            return False
        if parts[1] == "bridge" and len(parts) == 4 and parts[3] == "state":
            self.bridges[parts[2]] = payload.decode("utf-8", "replace")
            return True
        if len(parts) != 3:
            return False  # commands and their results are not shown
        try:
            document = json.loads(payload)
        except ValueError:
            self.undecodable += 1
            return False
        if not isinstance(document, dict):
            self.undecodable += 1
            return False
        screen = self.meters.setdefault(parts[1], MeterScreen())
        screen.payloads[parts[2]] = document
        screen.messages[parts[2]] = screen.messages.get(parts[2], 0) + 1
        return True


def _number(value: Any, unit: str, decimals: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—" if value is None else str(value)
    text = f"{value:,.{decimals}f}"
    return f"{text} {unit}".rstrip()


def _meter_table(meter_id: str, screen: MeterScreen) -> Table:
    info = screen.payloads.get("info", {})
    title = f"Meter {meter_id}"
    if info.get("meter_type"):
        title += f" · {info['meter_type']}"
    if info.get("list_version"):
        title += f" · {info['list_version']}"
    table = Table(title=title, title_justify="left", expand=False, min_width=58, show_header=False)
    table.add_column("Reading")
    table.add_column("Value", justify="right")
    for topic_name, rows in (("power", POWER_ROWS), ("energy", ENERGY_ROWS)):
        payload = screen.payloads.get(topic_name, {})
        for label, cells in rows:
            present = [cell for cell in cells if cell[0] in payload]
            if not present:
                continue
            parts = " / ".join(part for _, part, _, _ in present if part)
            heading = f"{label} {parts}".strip() if label else parts[:1].upper() + parts[1:]
            shown = " / ".join(_number(payload[key], unit, d) for key, _, unit, d in present)
            style = "bold" if cells[0][0] == "net_power_w" else ""
            table.add_row(heading, Text(shown, style=style))
    _optical_rows(table, screen)
    diagnostics = screen.payloads.get("diagnostics", {})
    errors = diagnostics.get("errors") or {}
    rejected = sum(v for v in errors.values() if isinstance(v, int))
    table.add_section()
    accepted = _number(diagnostics.get("frames_ok"), "", 0)
    detail = ", ".join(f"{k} {v}" for k, v in sorted(errors.items()))
    table.add_row(
        "Frames accepted / rejected",
        Text(
            f"{accepted} / {rejected}" + (f" ({detail})" if detail else ""),
            style="red" if rejected else "green",
        ),
    )
    last = screen.value("power", "ts") or screen.value("energy", "ts")
    table.add_row("Meter time of last push", str(last or "—"))
    return table


def _optical_rows(table: Table, screen: MeterScreen) -> None:
    """Tariff, breaker, relays, prepayment and clock: read over the optical port when present."""
    rows: list[tuple[str, RenderableType]] = []
    tariff, breaker = screen.payloads.get("tariff"), screen.payloads.get("breaker")
    if tariff or breaker:
        text = Text()
        if tariff:
            text.append(f"T{tariff['active_tariff']} ({tariff['source']})")
        if tariff and breaker:
            text.append(" / ")
        if breaker:
            state = str(breaker["state"])
            text.append(state.replace("_", " "), "green" if state == "connected" else "bold red")
        rows.append(
            ("Tariff / breaker" if tariff and breaker else "Tariff" if tariff else "Breaker", text)
        )
    relays = screen.payloads.get("relays")
    on = [f"relay {n}" for n in (1, 2) if relays and relays.get(f"relay_{n}_on")]
    if on:
        rows.append(("Load relays on", ", ".join(on)))
    prepayment = screen.payloads.get("prepayment")
    if prepayment and prepayment.get("enabled"):
        credit = _number(prepayment.get("credit_kwh"), "kWh", 3)
        style = "bold red" if prepayment.get("low_credit") else ""
        rows.append(("Prepayment credit", Text(credit, style=style)))
    clock, quality = screen.payloads.get("clock"), screen.payloads.get("quality")
    extras = []
    if clock:
        extras.append(("clock drift", _number(clock.get("drift_s"), "s", 1)))
    if quality and "voltage_thd_l1_pct" in quality:
        extras.append(("voltage THD L1", _number(quality["voltage_thd_l1_pct"], "%", 1)))
    if extras:
        label = " / ".join(name for name, _ in extras)
        rows.append((label[:1].upper() + label[1:], " / ".join(value for _, value in extras)))
    if rows:
        table.add_section()
        for label, value in rows:
            table.add_row(label, value)


def render(state: DemoState, *, started: datetime | None = None) -> RenderableType:
    """The whole screen for *state*."""
    header = Text()
    header.append("omnipower demo", style="bold")
    header.append("  emulated meter → pty → gateway → MQTT broker → this view\n")
    for gateway_id, availability in sorted(state.bridges.items()):
        colour = "green" if availability == "online" else "red"
        header.append(f"gateway {gateway_id}: ")
        header.append(availability, style=colour)
        header.append("   ")
    if not state.meters:
        header.append("\nwaiting for the first push …")
    parts: list[RenderableType] = [header]
    parts.extend(
        _meter_table(meter_id, screen) for meter_id, screen in sorted(state.meters.items())
    )
    if started is not None:
        parts.append(Text(f"running since {started:%H:%M:%S}; Ctrl-C stops", style="dim"))
    return Group(*parts)


def summary_line(state: DemoState) -> str:
    """One plain line per update, for a terminal that is not interactive (logs, CI)."""
    out: list[str] = []
    for meter_id, screen in sorted(state.meters.items()):
        power = screen.payloads.get("power", {})
        energy = screen.payloads.get("energy", {})
        fields = [f"meter {meter_id}"]
        if "ts" in power:
            fields.append(str(power["ts"]))
        for key, label, unit, decimals in (
            ("net_power_w", "net", "W", 0),
            ("voltage_l1_v", "U1", "V", 1),
            ("current_l1_a", "I1", "A", 2),
            ("active_energy_import_kwh", "A+", "kWh", 3),
            ("active_energy_export_kwh", "A-", "kWh", 3),
        ):
            source = energy if key.endswith("kwh") else power
            if key in source:
                fields.append(f"{label} {_number(source[key], unit, decimals)}")
        out.append("  ".join(fields))
    return "\n".join(out)


async def follow(
    host: str,
    port: int,
    state: DemoState,
    on_update: Callable[[str], None],
) -> None:
    """Subscribe to everything under the state's base and apply it; until cancelled."""
    import aiomqtt

    async with aiomqtt.Client(host, port, identifier="omnipower-demo-view") as client:
        await client.subscribe(f"{state.base}/#", qos=1)
        async for message in client.messages:
            payload = message.payload
            raw = payload if isinstance(payload, bytes) else str(payload).encode()
            topic = str(message.topic)
            if state.apply(topic, raw):
                on_update(topic)
