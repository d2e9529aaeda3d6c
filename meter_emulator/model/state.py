"""The meter's permanent memory as plain JSON-able data, and back.

What survives a restart: every register (exact nanojoules), the loggers, counters, the
breaker position (it is bistable), prepayment, tariff force, relays, tamper, the clock's offset,
the invocation counter and the simulated time. The configuration is not stored: it comes from
the config file at every start, as the meter's parameters come from its firmware.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Final

from .status import EventStatus

if TYPE_CHECKING:
    from .meter import Meter

__all__ = ["STATE_VERSION", "StateMismatch", "dump_state", "restore_state"]

STATE_VERSION: Final = 1


class StateMismatch(ValueError):
    """A saved state that belongs to another meter or another format."""


def dump_state(meter: Meter) -> dict[str, Any]:
    """The permanent memory of *meter*."""
    return {
        "version": STATE_VERSION,
        "serial": meter.identity.serial,
        "now_us": meter.now_us,
        "invocation_counter": meter.invocation_counter,
        "clock": meter.clock.to_state(),
        "energy": meter.energy.to_state(),
        "tariff_forced": meter.tariffs.forced,
        "breaker": meter.breaker.to_state(),
        "prepayment": meter.prepayment.to_state(),
        "peaks": meter.peaks.to_state(),
        "debiting": meter.debiting.to_state(),
        "load_profile": meter.load_profile.to_state(),
        "analysis": meter.analysis.to_state(),
        "quality": meter.quality.to_state(),
        "tamper": meter.tamper.to_state(),
        "relays": meter.relays.to_state(),
        "events": meter.events.to_state(),
        "event_log": meter.event_log.to_state(),
        "pq_log": meter.pq_log.to_state(),
        "event_status": int(meter.event_status),
        "firmware": meter.identity.firmware,  # changed by an image transfer
        # Lists changed by remote display configuration (the others come from [display]).
        "display": {name: list(codes) for name, codes in meter.display.remote.items()},
    }


def restore_state(meter: Meter, state: dict[str, Any]) -> None:
    """Load *state* into a freshly built *meter* (same serial); the simulated time resumes."""
    if state.get("version") != STATE_VERSION:
        raise StateMismatch(f"state format {state.get('version')!r}, expected {STATE_VERSION}")
    if state.get("serial") != meter.identity.serial:
        raise StateMismatch(f"state of meter {state.get('serial')}, not of {meter.identity.serial}")
    meter.now_us = int(state["now_us"])
    meter.invocation_counter = int(state["invocation_counter"])
    meter.clock.load_state(state["clock"])
    meter.energy.load_state(state["energy"])
    meter.tariffs.forced = state["tariff_forced"]
    meter.breaker.load_state(state["breaker"])
    meter.prepayment.load_state(state["prepayment"])
    meter.peaks.load_state(state["peaks"])
    meter.debiting.load_state(state["debiting"])
    meter.load_profile.load_state(state["load_profile"])
    meter.analysis.load_state(state["analysis"])
    meter.quality.load_state(state["quality"])
    meter.tamper.load_state(state["tamper"])
    meter.relays.load_state(state["relays"])
    meter.events.load_state(state["events"])
    if "event_log" in state:  # absent from states written before the DLMS event logs
        meter.event_log.load_state(state["event_log"])
        meter.pq_log.load_state(state["pq_log"])
    meter.event_status = EventStatus(state["event_status"])
    if "firmware" in state:  # absent in states written before image transfer existed
        meter.activate_firmware(str(state["firmware"]))
    for name, codes in state.get("display", {}).items():
        kept = tuple(str(c) for c in codes)
        meter.display.config = dataclasses.replace(meter.display.config, **{name: kept})
        meter.display.remote[name] = kept
    meter.resume()
