"""The control-socket commands of a running emulator (see :mod:`.control` for the protocol).

Every handler validates all of its arguments before it touches the meter, so a bad request
changes nothing. Commands:

- ``state``: the whole readable state (registers, breaker, prepayment, tariff, events, push).
- ``display``: the LCD as text; ``display_button``: a short press of the left push button.
- ``set_load`` {active_power_w, reactive_var?, voltage_v?, seconds?}: override the scenario
  (per phase: the same values on every phase); ``clear_load``: back to the scenario.
- ``sag`` / ``swell`` {voltage_v?, seconds?}; ``fail_supply`` {seconds}.
- ``cover`` {open}; ``magnet`` {active}; ``button``: the push button held for 6 s (breaker).
- ``breaker`` {value: 1 disconnect, 2 release, 3 reconnect}; ``load_control`` {cut}.
- ``top_up`` {kwh}; ``alarm_limit`` {kwh}; ``tariff`` {tariff: 0-4}; ``tariff_inputs`` {i1, i2}.
- ``relay`` {relay: 1|2, on}; ``set_time`` {local: ISO, dst?}; ``shift_time`` {seconds}.
- ``debiting_stop``; ``pulses`` {count} on the module's pulse input; ``clear_events``.
- ``fault`` {name, count?}; ``push`` {enabled}; ``unplug`` {seconds} (pty only).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .control import ArgumentError, Handler, get_bool, get_number, get_str
from .model.meter import Meter
from .model.power import PhaseSupply, Supply
from .ports.ccc_push import CccPush
from .ports.faults import Fault
from .ports.links import ByteLink, PtyLink
from .runtime import EmulatorRuntime

__all__ = ["control_handlers", "meter_state"]


def meter_state(meter: Meter) -> dict[str, Any]:
    """Everything a client may read, JSON-ready."""
    p = meter.prepayment
    records = meter.debiting.records
    return {
        "true_time": meter.true_time().isoformat(),
        "meter_time": meter.local().isoformat(),
        "dst": meter.dst(),
        "clock_invalid": meter.clock.invalid,
        "powered": meter.is_powered(),
        "readings": {code: {"value": v, "unit": u} for code, (v, u) in meter.readings().items()},
        "energy_wh": meter.energy.snapshot_wh(),
        "tariff": {"active": meter.tariff, "source": meter.tariffs.source.value},
        "breaker": {
            "present": meter.breaker.present,
            "coupling_state": meter.breaker.state.value,
            "name": meter.breaker.state.name.lower(),
            "closed": meter.breaker.closed,
            "log": [
                {"before": r.before.value, "after": r.after.value, "reason": r.reason}
                for r in list(meter.breaker.log)[-10:]
            ],
        },
        "prepayment": {
            "enabled": p.enabled,
            "credit_kwh": round(p.credit_kwh, 3),
            "alarm_limit_kwh": round(p.alarm_limit_nj / 3.6e15, 3),
            "low_credit": p.low_credit,
            "used_after_zero_kwh": round(p.used_after_zero_nj / 3.6e15, 3),
        },
        "relays": {"relay1": meter.relays.relay1, "relay2": meter.relays.relay2},
        "tamper": {"magnet": meter.tamper.magnet, "cover_open": meter.tamper.cover_open},
        "meter_status": int(meter.meter_status),
        "event_status": int(meter.event_status),
        "quality": {
            "counters": meter.quality.counters,
            "thd_pct": meter.quality.thd_pct,
            "unbalance_pct": round(meter.quality.unbalance_pct, 2),
            "records": [
                {
                    "phase": e.phase,
                    "kind": e.kind.value,
                    "start": e.start.isoformat(),
                    "duration_s": e.duration_s,
                    "extreme_v": e.extreme_v,
                }
                for e in meter.quality.records[-10:]
            ],
        },
        "events": [
            {"local": e.local.isoformat(), "kind": e.kind, "detail": e.detail}
            for e in list(meter.events.entries)[-20:]
        ],
        "event_log": meter.event_log.recent(20),
        "pq_log": meter.pq_log.recent(20),
        "load_profile_entries": len(meter.load_profile.entries),
        "billing_periods": meter.debiting.stop_count,
        "billing": {
            **meter.peaks.view(),
            "hour_counter": meter.debiting.hour_counter,
            "last_period": (
                {"local": records[-1].local.isoformat(), **records[-1].values} if records else None
            ),
        },
        "invocation_counter": meter.invocation_counter,
        "led": meter.led(),
        "s0": dataclasses.asdict(meter.s0_output()),
        "alarm_input": meter.alarm_input,
        "firmware": meter.identity.firmware,
    }


def _supply(meter: Meter, *, voltage: float, active: float = 0.0, reactive: float = 0.0) -> Supply:
    base = meter.override if meter.override is not None else meter.supply
    phases = tuple(PhaseSupply(voltage, active, reactive) for _ in range(meter.config.phases))
    return Supply(phases, base.frequency_hz or 50.0, base.thd_pct)


def control_handlers(
    meter: Meter, runtime: EmulatorRuntime, ccc: CccPush, link: ByteLink
) -> dict[str, Handler]:
    """The command table for :class:`~meter_emulator.control.ControlServer`."""

    def seconds(args: Mapping[str, Any], default: float | None = None) -> float | None:
        if default is None and "seconds" not in args:
            return None
        return get_number(args, "seconds", minimum=0.001, maximum=365 * 86_400, default=default)

    def set_load(args: Mapping[str, Any]) -> dict[str, Any]:
        active = get_number(args, "active_power_w", minimum=-50_000, maximum=50_000)
        reactive = get_number(args, "reactive_var", minimum=-50_000, maximum=50_000, default=0.0)
        voltage = get_number(args, "voltage_v", minimum=0, maximum=400, default=230.0)
        duration = seconds(args)
        meter.set_override(
            _supply(meter, voltage=voltage, active=active, reactive=reactive), seconds=duration
        )
        readings: dict[str, Any] = meter_state(meter)["readings"]
        return readings

    def voltage_event(default_v: float, low: float, high: float) -> Handler:
        def handler(args: Mapping[str, Any]) -> str:
            voltage = get_number(args, "voltage_v", minimum=low, maximum=high, default=default_v)
            duration = seconds(args, 1.0)
            phases = meter.override.phases if meter.override else meter.supply.phases
            first = phases[0] if phases else PhaseSupply()
            supply = _supply(
                meter, voltage=voltage, active=first.active_w, reactive=first.reactive_var
            )
            meter.set_override(supply, seconds=duration)
            return f"{voltage:g} V for {duration:g} s"

        return handler

    def fail_supply(args: Mapping[str, Any]) -> str:
        duration = seconds(args, 60.0)
        meter.set_override(_supply(meter, voltage=0.0), seconds=duration)
        return f"no supply for {duration:g} s"

    def breaker(args: Mapping[str, Any]) -> int:
        value = int(get_number(args, "value", minimum=1, maximum=3))
        return int(meter.write_coupling(value))

    def set_time(args: Mapping[str, Any]) -> str:
        text = get_str(args, "local")
        try:
            local = datetime.fromisoformat(text)
        except ValueError:
            raise ArgumentError("'local' must be an ISO 8601 local time") from None
        if local.tzinfo is not None:
            raise ArgumentError("'local' is the meter's local time, without an offset")
        dst = get_bool(args, "dst") if "dst" in args else None
        meter.set_time(local, dst=dst)
        return meter.local().isoformat()

    def fault(args: Mapping[str, Any]) -> list[str]:
        names = frozenset(f.value for f in Fault)
        name = get_str(args, "name", choices=names)
        count = int(get_number(args, "count", minimum=1, maximum=1000, default=1))
        kind = Fault(name)
        if kind is Fault.SILENCE:
            if not isinstance(link, PtyLink):
                raise ArgumentError("silence (unplug) needs a pty port")
            asyncio.get_running_loop().create_task(link.unplug(10.0))
            return [name]
        if kind is Fault.CLOCK_JUMP:
            meter.shift_time(
                get_number(args, "seconds", minimum=-86_400, maximum=86_400, default=3600)
            )
            return [name]
        ccc.inject(kind, count)
        return [f.value for f in ccc.queued_faults]

    def unplug(args: Mapping[str, Any]) -> str:
        duration = get_number(args, "seconds", minimum=0.1, maximum=3600)
        if not isinstance(link, PtyLink):
            raise ArgumentError("unplug needs a pty port")
        asyncio.get_running_loop().create_task(link.unplug(duration))
        return f"unplugged for {duration:g} s"

    def push(args: Mapping[str, Any]) -> bool:
        runtime.push_enabled = get_bool(args, "enabled")
        return runtime.push_enabled

    def relay(args: Mapping[str, Any]) -> dict[str, bool]:
        number = int(get_number(args, "relay", minimum=1, maximum=2))
        meter.set_relay(number, get_bool(args, "on"))
        return {"relay1": meter.relays.relay1, "relay2": meter.relays.relay2}

    def tariff_inputs(args: Mapping[str, Any]) -> int:
        first, second = get_bool(args, "i1"), get_bool(args, "i2")
        meter.set_tariff_inputs(first, second)
        return meter.tariff

    def tariff(args: Mapping[str, Any]) -> int:
        meter.force_tariff(int(get_number(args, "tariff", minimum=0, maximum=4)))
        return meter.tariff

    def top_up(args: Mapping[str, Any]) -> float:
        meter.top_up(get_number(args, "kwh", minimum=0.001, maximum=99_999))
        return round(meter.prepayment.credit_kwh, 3)

    def alarm_limit(args: Mapping[str, Any]) -> float:
        meter.set_alarm_limit(get_number(args, "kwh", minimum=0, maximum=65_535))
        return get_number(args, "kwh")

    def shift_time(args: Mapping[str, Any]) -> str:
        meter.shift_time(get_number(args, "seconds", minimum=-86_400, maximum=86_400))
        return meter.local().isoformat()

    def cover(args: Mapping[str, Any]) -> bool:
        meter.set_cover(get_bool(args, "open"))
        return meter.tamper.cover_open

    def magnet(args: Mapping[str, Any]) -> bool:
        meter.set_magnet(get_bool(args, "active"))
        return meter.tamper.magnet

    def clear_load(_: Mapping[str, Any]) -> str:
        meter.set_override(None)
        return "scenario"

    def load_control(args: Mapping[str, Any]) -> int:
        return int(meter.set_load_control_input(get_bool(args, "cut")))

    def pulses(args: Mapping[str, Any]) -> int:
        count = int(get_number(args, "count", minimum=1, maximum=1_000_000))
        return meter.add_input_pulses(count)  # ValueError without a pulse input (Z3)

    def alarm_input(args: Mapping[str, Any]) -> bool:
        return meter.set_alarm_input(get_bool(args, "closed"))

    def debiting(_: Mapping[str, Any]) -> int:
        meter.debiting_stop_now()
        return meter.debiting.stop_count

    def clear_events(_: Mapping[str, Any]) -> int:
        meter.clear_event_status()
        return int(meter.event_status)

    def display_button(_: Mapping[str, Any]) -> str:
        meter.display_press()
        return meter.display_text()

    return {
        "state": lambda _args: meter_state(meter),
        "display": lambda _args: meter.display_text(),
        "display_button": display_button,
        "set_load": set_load,
        "clear_load": clear_load,
        "sag": voltage_event(180.0, 0.0, 207.0),
        "swell": voltage_event(260.0, 253.0, 400.0),
        "fail_supply": fail_supply,
        "cover": cover,
        "magnet": magnet,
        "button": lambda _args: int(meter.press_button()),
        "breaker": breaker,
        "top_up": top_up,
        "alarm_limit": alarm_limit,
        "tariff": tariff,
        "tariff_inputs": tariff_inputs,
        "relay": relay,
        "set_time": set_time,
        "shift_time": shift_time,
        "debiting_stop": debiting,
        "pulses": pulses,
        "alarm_input": alarm_input,
        "load_control": load_control,
        "clear_events": clear_events,
        "fault": fault,
        "push": push,
        "unplug": unplug,
    }
