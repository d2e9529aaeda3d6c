"""Accepted commands → writes on the optical port, each confirmed by reading the state back.

The guard (``ccc_gateway.commands``) has already checked that the command is allowed, fresh,
signed when required and well-formed. Here each command becomes the smallest set of writes that
does it, followed by a read of the objects it changes; the command is ``done`` only when the
meter shows the expected state. A refused write is ``meter_error``, an unexpected read-back
``readback_mismatch``; neither is retried (a retry of a power switch is a new command).

Breaker writes follow CouplingState's state machine ([DLMS] §3): ``disconnect`` writes 1
and expects 1; ``release`` (only from 1) writes 2 and expects 8 (ready) or, with automatic
reconnection, 4; ``reconnect`` (only from 8) writes 3 and expects 4. A transition the state
machine does not allow is refused here, before anything is written, naming the state.

Read-back proves the write at the meter's resolution (:meth:`OpticalSession.resolution`): a
value the register cannot hold (a top-up of 0.05 kWh on a register counting whole kWh) is
refused before anything is written, ``invalid_arguments``; the new credit must be exactly what
was written less what the meter counted as imported in between (its A+ register, read before and
after), within one step of each register; the alarm limit must read back exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Final

from ..commands.dispatcher import CommandFailed
from ..commands.guard import AcceptedCommand
from ..protocol.omnipower_objects import BREAKER_STATE_NAMES, CouplingState, CouplingWrite
from .session import MeterClock, ObjectRefused, OpticalError, OpticalPort, OpticalSession
from .state import (
    TariffSource,
    breaker_payload,
    clock_payload,
    prepayment_payload,
    relays_payload,
    tariff_payload,
)

__all__ = ["OpticalCommandExecutor"]

_LOGGER = logging.getLogger(__name__)

BREAKER_OBJECTS: Final = ("coupling_state", "coupling_mode", "cutoff_basis", "coupling_feedback")
PREPAYMENT_OBJECTS: Final = (
    "prepayment_credit",
    "prepayment_alarm_limit",
    "prepayment_exception_credit",
    "prepayment_last_top_up",
    "cutoff_basis",
)
#: A clock set is confirmed when the read-back is within this of what was written.
CLOCK_TOLERANCE: Final = timedelta(seconds=3)
#: Resolution assumed for a kWh register whose meter does not say (its finest: 1 Wh).
DEFAULT_KWH_RESOLUTION: Final = 0.001

#: What a breaker action may start from, and what it must lead to.
_BREAKER_RULES: Final = {
    "disconnect": (CouplingWrite.DISCONNECT, None, {CouplingState.DISCONNECTED}),
    "release": (
        CouplingWrite.RELEASE,
        {CouplingState.DISCONNECTED},
        {CouplingState.READY_FOR_RECONNECTION, CouplingState.CONNECTED},
    ),
    "reconnect": (
        CouplingWrite.RECONNECT,
        {CouplingState.READY_FOR_RECONNECTION},
        {CouplingState.CONNECTED},
    ),
}


@dataclass(slots=True)
class OpticalCommandExecutor:
    """Implements ``CommandExecutor`` for one meter on its optical port.

    *after_change* is called with the state payloads read back (topic name → payload) so the
    service can publish them and raise events at once, without waiting for the next poll.
    *refresh* runs a full poll (``refresh``); *read_load_profile* publishes profile batches.
    """

    port: OpticalPort
    zone: tzinfo
    now: Callable[[], datetime]
    after_change: Callable[[Mapping[str, dict[str, Any]], str], None]
    refresh: Callable[[], Awaitable[Mapping[str, Any]]]
    read_load_profile: Callable[[datetime, datetime | None, str], Awaitable[int]]
    tariff_source: TariffSource = "calendar"

    async def execute(self, command: AcceptedCommand) -> Mapping[str, Any]:
        """Run *command*; the read-back state on success, :class:`CommandFailed` otherwise."""
        if command.name == "refresh":
            return await self.refresh()
        if command.name == "read_load_profile":
            end = command.args.get("to")
            count = await self.read_load_profile(
                datetime.fromisoformat(command.args["from"]),
                None if end is None else datetime.fromisoformat(end),
                command.id,
            )
            return {"intervals": count}
        try:
            async with self.port.session() as session:
                return await self._on_session(session, command)
        except ObjectRefused as exc:
            raise CommandFailed("meter_error", str(exc)) from None
        except OpticalError as exc:
            raise CommandFailed("port_unavailable", f"{exc} ({exc.hint})") from None

    async def _on_session(
        self, session: OpticalSession, command: AcceptedCommand
    ) -> Mapping[str, Any]:
        handler = {
            "breaker": self._breaker,
            "relay": self._relay,
            "tariff": self._tariff,
            "prepayment_top_up": self._top_up,
            "prepayment_alarm_limit": self._alarm_limit,
            "clock_sync": self._clock_sync,
        }.get(command.name)
        if handler is None:
            raise CommandFailed("internal_error", f"no executor for {command.name!r}")
        return await handler(session, command)

    async def _ts(self, session: OpticalSession) -> datetime:
        """The meter's clock, read after the read-back: a read-back's ``ts`` is the meter's time,
        like a poll's, so ``ts`` of a topic never jumps between two clocks."""
        return (await session.read_clock()).aware(self.zone)

    async def _breaker(self, session: OpticalSession, command: AcceptedCommand) -> dict[str, Any]:
        action = command.args["action"]
        value, allowed_from, expected = _BREAKER_RULES[action]
        before = await session.read(["coupling_state"])
        current = before.get("coupling_state")
        if current is None:
            raise CommandFailed("meter_error", "the meter did not return its CouplingState")
        if allowed_from is not None and current not in allowed_from:
            raise CommandFailed(
                "meter_error",
                f"{action} is only possible from "
                f"{' or '.join(_state_name(s) for s in sorted(allowed_from))}; the breaker is "
                f"{_state_name(current)}, so nothing was written",
                state=breaker_payload(before, await self._ts(session)),
            )
        await session.write("coupling_state", int(value))
        after = await session.read(list(BREAKER_OBJECTS))
        payload = breaker_payload(after, await self._ts(session))
        if after.get("coupling_state") not in expected or payload is None:
            raise CommandFailed(
                "readback_mismatch",
                f"after {action} the breaker reads {_state_name(after.get('coupling_state'))}, "
                f"not {' or '.join(_state_name(s) for s in sorted(expected))}",
                state=payload,
            )
        self.after_change({"breaker": payload}, command.id)
        return payload

    async def _relay(self, session: OpticalSession, command: AcceptedCommand) -> dict[str, Any]:
        name = f"relay_{command.args['relay']}"
        wanted = 1 if command.args["on"] else 0
        await session.write(name, wanted)
        after = await session.read(["relay_1", "relay_2"])
        payload = relays_payload(after, await self._ts(session))
        if payload is None or after.get(name) != wanted:
            raise CommandFailed("readback_mismatch", f"{name} reads {after.get(name)}")
        self.after_change({"relays": payload}, command.id)
        return payload

    async def _tariff(self, session: OpticalSession, command: AcceptedCommand) -> dict[str, Any]:
        # Writing ActualTariff forces a tariff; writing 0 hands control back to the meter's own
        # calendar or inputs (the emulator's convention; Kamstrup's documents are silent).
        forced = command.args.get("tariff") if command.args["mode"] == "force" else None
        await session.write("actual_tariff", forced or 0)
        after = await session.read(["actual_tariff", "tariff_source"])
        active = after.get("actual_tariff")
        source: TariffSource = "forced" if forced else "calendar"
        payload = tariff_payload(after, await self._ts(session), source)
        # Forced: exactly that tariff. Auto: a real tariff (1-8), never the 0 just written.
        # The source the meter reports (TariffSource, where it has one) must agree too.
        wanted = {forced} if forced is not None else set(range(1, 9))
        reported = None if payload is None else payload["source"]
        if payload is None or active not in wanted or (reported == "forced") != bool(forced):
            raise CommandFailed(
                "readback_mismatch",
                f"ActualTariff reads {active}, not "
                f"{forced if forced is not None else 'a calendar tariff 1-8'}",
            )
        self.tariff_source = source
        self.after_change({"tariff": payload}, command.id)
        return payload

    async def _top_up(self, session: OpticalSession, command: AcceptedCommand) -> dict[str, Any]:
        step = await self._kwh_step(session, "prepayment_credit")
        energy = float(command.args["energy_kwh"])
        _check_multiple(energy, step, "the top-up", "the meter's credit register")
        before = await session.read(["prepayment_credit", "active_energy_import"])
        credit = before.get("prepayment_credit")
        if credit is None:
            raise CommandFailed("meter_error", "the meter has no prepayment credit register")
        target = _on_grid(credit + energy, step)
        await session.write("prepayment_credit", target)
        after = await session.read([*PREPAYMENT_OBJECTS, "active_energy_import"])
        payload = prepayment_payload(after, await self._ts(session))
        read_back = after.get("prepayment_credit")
        # Credit counts down while power flows: what the meter counted as imported between the
        # two reads (A+, at its own resolution) is all the read-back may lack.
        used, slack = 0.0, step
        a_before, a_after = before.get("active_energy_import"), after.get("active_energy_import")
        if a_before is not None and a_after is not None:
            used = max(0.0, a_after - a_before)
            slack += await self._kwh_step(session, "active_energy_import")
        low = target - used - slack - _NOISE
        if payload is None or read_back is None or not low <= read_back <= target + _NOISE:
            raise CommandFailed(
                "readback_mismatch",
                f"credit reads {read_back} kWh after writing {target:g} kWh "
                f"({credit:g} + {energy:g}; {used:g} kWh imported meanwhile)",
                state=payload,
            )
        self.after_change({"prepayment": payload}, command.id)
        return payload

    async def _alarm_limit(
        self, session: OpticalSession, command: AcceptedCommand
    ) -> dict[str, Any]:
        wanted = float(command.args["energy_kwh"])
        step = await session.resolution("prepayment_alarm_limit") or 1.0
        _check_multiple(wanted, step, "the alarm limit", "the meter's alarm limit register")
        await session.write("prepayment_alarm_limit", wanted)
        after = await session.read(list(PREPAYMENT_OBJECTS))
        payload = prepayment_payload(after, await self._ts(session))
        limit = after.get("prepayment_alarm_limit")
        if payload is None or limit is None or abs(limit - wanted) > _NOISE:
            raise CommandFailed(
                "readback_mismatch",
                f"alarm limit reads {limit} kWh after writing {wanted:g} kWh",
                state=payload,
            )
        self.after_change({"prepayment": payload}, command.id)
        return payload

    async def _kwh_step(self, session: OpticalSession, name: str) -> float:
        return await session.resolution(name) or DEFAULT_KWH_RESOLUTION

    async def _clock_sync(
        self, session: OpticalSession, command: AcceptedCommand
    ) -> dict[str, Any]:
        reference = self.now().astimezone(self.zone)
        dst = bool(reference.dst())
        await session.write_clock(MeterClock(reference.replace(tzinfo=None), dst))
        clock = await session.read_clock()
        read_at = self.now().astimezone(clock.aware(self.zone).tzinfo)
        payload = clock_payload(clock.aware(self.zone), read_at, dst=clock.dst)
        if abs(payload["drift_s"]) > CLOCK_TOLERANCE.total_seconds():
            raise CommandFailed("readback_mismatch", f"the clock is {payload['drift_s']} s off")
        self.after_change({"clock": payload}, command.id)
        return payload


#: Binary noise of kWh values scaled from integer registers (0.1 + 0.2 ≠ 0.3).
_NOISE: Final = 1e-9


def _state_name(state: object) -> str:
    """The contract's name of a CouplingState value (``disconnected``, not ``1``)."""
    if isinstance(state, int) and not isinstance(state, bool):
        try:
            return BREAKER_STATE_NAMES.get(CouplingState(state), f"unknown ({state})")
        except ValueError:
            return f"unknown ({state})"
    return f"unknown ({state!r})"


def _check_multiple(value: float, step: float, what: str, register: str) -> None:
    """Refuse, before anything is written, a value *register* cannot hold."""
    steps = value / step
    if abs(steps - round(steps)) > 1e-6:
        raise CommandFailed(
            "invalid_arguments",
            f"{what} of {value:g} kWh is not a whole multiple of {step:g} kWh, the resolution "
            f"of {register}; nothing was written",
        )


def _on_grid(value: float, step: float) -> float:
    """*value* rounded to the register's grid (what the meter will hold), noise removed."""
    return round(round(value / step) * step, 9)
