"""From an MQTT message on ``<meter>/cmd/<name>`` to an answer on ``<meter>/cmd/result``.

Every message gets exactly one final answer: ``rejected`` or ``expired`` straight from the guard,
or ``accepted`` followed by ``done`` (with the state read back from the meter) or ``failed`` (with
a reason). Commands for one meter run one at a time, in arrival order, because the optical port
is half-duplex; a command still waiting when it expires is answered ``expired`` and never reaches
the meter. Each decision is one audit log line. :meth:`CommandDispatcher.receive` never raises,
whatever arrives.

At shutdown :meth:`CommandDispatcher.aclose` drains: commands still queued are answered
``failed``/``shutdown`` without reaching the meter, the running one may finish within a grace
period (then it is cancelled and answered ``shutdown``: it may have run), and messages arriving
meanwhile are refused ``shutdown``; the service disconnects only after these answers are out.

The meter side is a :class:`CommandExecutor` (the optical DLMS client in the service, a scripted
one in tests): it performs the command *and* confirms it by reading the state back, raising
:class:`CommandFailed` when the meter refuses or the read-back disagrees.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from .guard import AcceptedCommand, CommandGuard, CommandRejected

__all__ = [
    "CommandDispatcher",
    "CommandExecutor",
    "CommandFailed",
    "CommandResult",
]

_AUDIT = logging.getLogger("ccc_gateway.audit")

#: Commands waiting per meter; beyond this a new one is rejected ``busy`` at once.
MAX_QUEUED: Final = 16
#: Upper bound for one execution including its read-back, whatever the expiry says.
EXECUTION_TIMEOUT: Final = 60.0


class CommandFailed(Exception):
    """The meter did not do what was asked; ``reason`` is the machine-readable code.

    Reasons used by the executors: ``port_unavailable``, ``meter_error``, ``readback_mismatch``,
    ``timeout``; the dispatcher adds ``shutdown`` and ``internal_error``.
    """

    def __init__(self, reason: str, text: str, *, state: Mapping[str, Any] | None = None) -> None:
        super().__init__(text)
        self.reason = reason
        self.state = dict(state) if state is not None else None


class CommandExecutor(Protocol):
    """Runs an accepted command on the meter and returns the state read back afterwards."""

    async def execute(self, command: AcceptedCommand) -> Mapping[str, Any]:
        """The confirmed state, or :class:`CommandFailed`."""
        ...


@dataclass(frozen=True, slots=True)
class CommandResult:
    """One answer on ``<meter>/cmd/result``."""

    meter: str | None
    id: str | None
    command: str | None
    status: str  # accepted / done / rejected / failed / expired
    reason: str | None = None
    text: str | None = None
    state: Mapping[str, Any] | None = None

    def payload(self, now: datetime) -> dict[str, Any]:
        """The contract's JSON object; every string is valid UTF-8 (a text quoting a lone
        surrogate from the command's JSON would otherwise fail to encode and lose the answer)."""
        return {
            "ts": now.isoformat(),
            "schema": 1,
            "id": _utf8(self.id),
            "command": _utf8(self.command),
            "status": self.status,
            "reason": self.reason,
            "text": _utf8(self.text),
            "state": None if self.state is None else dict(self.state),
        }


def _utf8(text: str | None) -> str | None:
    if text is None:
        return None
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(slots=True)
class _MeterQueue:
    queue: asyncio.Queue[AcceptedCommand] = field(default_factory=lambda: asyncio.Queue(MAX_QUEUED))
    worker: asyncio.Task[None] | None = None


@dataclass(slots=True)
class CommandDispatcher:
    """Guards, queues and executes commands; answers through *answer*.

    *executors* maps a meter id to its executor; a meter the guard knows but that has no
    executor (no optical port) gets ``failed``/``port_unavailable``, though the configuration
    normally refuses to allow commands without one.
    """

    guard: CommandGuard
    executors: Mapping[str, CommandExecutor]
    answer: Callable[[CommandResult], None]
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    counters: dict[str, int] = field(default_factory=dict)
    #: The same counts per meter id, for that meter's diagnostics topic.
    meter_counters: dict[str, dict[str, int]] = field(default_factory=dict)
    _queues: dict[str, _MeterQueue] = field(default_factory=dict)
    _closing: bool = False
    _accepting: bool = True

    def receive(
        self,
        topic: str,
        payload: bytes,
        *,
        retained: bool,
        clear_retained: Callable[[str], None] | None = None,
    ) -> None:
        """One incoming message (never raises, never blocks)."""
        try:
            self._receive(topic, payload, retained=retained, clear_retained=clear_retained)
        except Exception:
            # Unreachable by design (the guard answers everything); if a bug gets here the
            # message is still answered rather than lost in the MQTT handler.
            _AUDIT.exception("command on %s could not be handled; please report it", topic)
            meter = _meter_of(topic, self.guard.base_topic)
            self._finish(
                CommandResult(meter, None, None, "rejected", "internal_error", "gateway bug"),
                topic=topic,
            )

    def _receive(
        self,
        topic: str,
        payload: bytes,
        *,
        retained: bool,
        clear_retained: Callable[[str], None] | None,
    ) -> None:
        if topic.endswith("/cmd/result"):
            return  # our own answers come back through the cmd/+ subscription: never a command
        if not payload:
            return  # an empty message deletes a retained one on the broker: not a command
        try:
            command = self.guard.check(
                topic=topic, payload=payload, retained=retained, now=self.now()
            )
        except CommandRejected as exc:
            if exc.reason == "retained" and clear_retained is not None:
                clear_retained(topic)  # or the broker hands it to us again at every reconnect
            meter = exc.meter or _meter_of(topic, self.guard.base_topic)
            self._finish(
                CommandResult(meter, exc.command_id, exc.command, exc.status, exc.reason, str(exc)),
                topic=topic,
            )
            return
        if self._closing or not self._accepting:
            self.guard.release(command)
            self._finish(
                CommandResult(
                    command.meter,
                    command.id,
                    command.name,
                    "rejected",
                    "shutdown",
                    "the gateway is stopping; nothing was sent to the meter (the same id may "
                    "be sent again)",
                ),
                topic=topic,
            )
            return
        slot = self._queues.setdefault(command.meter, _MeterQueue())
        if slot.queue.full():
            self.guard.release(command)
            self._finish(
                CommandResult(
                    command.meter,
                    command.id,
                    command.name,
                    "rejected",
                    "busy",
                    f"{MAX_QUEUED} commands are already waiting for this meter; retry later "
                    "(the same id may be sent again)",
                ),
                topic=topic,
            )
            return
        slot.queue.put_nowait(command)
        self._answer(CommandResult(command.meter, command.id, command.name, "accepted"))
        _AUDIT.info(
            "command %s %s for meter %s accepted (args %s, expires %s)",
            command.name,
            command.id,
            command.meter,
            command.args,
            command.expires_at.isoformat(),
        )
        if slot.worker is None or slot.worker.done():
            slot.worker = asyncio.get_running_loop().create_task(
                self._work(command.meter, slot), name=f"commands:{command.meter}"
            )

    def stop_accepting(self) -> None:
        """From now on every accepted command is refused ``shutdown`` (the service stops)."""
        self._accepting = False

    async def aclose(self, grace: float = 0.0) -> None:
        """Answer every pending command before returning (the service then disconnects).

        Queued commands are answered ``failed``/``shutdown`` and never reach the meter; a
        running one gets up to *grace* seconds to finish with its real answer, then it is
        cancelled and answered ``shutdown``. Commands arriving meanwhile are refused
        ``shutdown``. Afterwards the dispatcher is idle and may be used again.
        """
        self._closing = True
        try:
            for slot in self._queues.values():
                while not slot.queue.empty():
                    command = slot.queue.get_nowait()
                    self.guard.release(command)
                    self._finish(
                        CommandResult(
                            command.meter,
                            command.id,
                            command.name,
                            "failed",
                            "shutdown",
                            "the gateway stopped before the command ran; nothing was sent to "
                            "the meter (the same id may be sent again)",
                        )
                    )
            workers = [s.worker for s in self._queues.values() if s.worker is not None]
            running = [w for w in workers if not w.done()]
            if running and grace > 0:
                # asyncio.wait, not asyncio.timeout: this may run in a task that is itself
                # being cancelled, where Python 3.11's timeout misreads the cancellation.
                await asyncio.wait(running, timeout=grace)
            for worker in workers:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
        finally:
            self._closing = False

    async def _work(self, meter: str, slot: _MeterQueue) -> None:
        while not slot.queue.empty():
            command = slot.queue.get_nowait()
            try:
                result = await self._run(meter, command)
            except asyncio.CancelledError:
                self._finish(
                    CommandResult(
                        command.meter,
                        command.id,
                        command.name,
                        "failed",
                        "shutdown",
                        "the gateway stopped while the command ran; check the meter's state",
                    )
                )
                raise
            self._finish(result)

    async def _run(self, meter: str, command: AcceptedCommand) -> CommandResult:
        ids = (command.meter, command.id, command.name)
        remaining = (command.expires_at - self.now()).total_seconds()
        if remaining <= 0:
            return CommandResult(
                *ids, "expired", "expired", "the command expired while waiting for the meter"
            )
        executor = self.executors.get(meter)
        if executor is None:
            return CommandResult(
                *ids, "failed", "port_unavailable", "this meter has no port that takes commands"
            )
        try:
            async with asyncio.timeout(min(EXECUTION_TIMEOUT, max(remaining, 5.0))):
                state = await executor.execute(command)
        except CommandFailed as exc:
            return CommandResult(*ids, "failed", exc.reason, str(exc), exc.state)
        except TimeoutError:
            return CommandResult(
                *ids, "failed", "timeout", "the meter did not confirm the command in time"
            )
        except Exception as exc:  # a bug in an executor must still produce an answer
            _AUDIT.exception("command %s %s for meter %s crashed", command.name, command.id, meter)
            return CommandResult(*ids, "failed", "internal_error", type(exc).__name__)
        return CommandResult(*ids, "done", None, None, state)

    def _finish(self, result: CommandResult, *, topic: str | None = None) -> None:
        keys = [result.status]
        if result.reason is not None:
            keys.append(f"{result.status}:{result.reason}")
        per_meter = (
            self.meter_counters.setdefault(result.meter, {}) if result.meter is not None else {}
        )
        for key in keys:
            self.counters[key] = self.counters.get(key, 0) + 1
            per_meter[key] = per_meter.get(key, 0) + 1
        level = logging.INFO if result.status == "done" else logging.WARNING
        _AUDIT.log(
            level,
            "command %s %s for meter %s %s%s%s",
            result.command or "?",
            result.id or "?",
            result.meter or "?",
            result.status,
            f" ({result.reason}: {result.text})" if result.reason else "",
            f" on {topic}" if topic and result.status != "done" else "",
        )
        self._answer(result)

    def _answer(self, result: CommandResult) -> None:
        if result.meter is None:
            return  # not even a meter id in the topic: nowhere to answer
        try:
            self.answer(result)
        except Exception:
            _AUDIT.exception("answer to command %s could not be queued", result.id or "?")


def _meter_of(topic: str, base: str) -> str | None:
    parts = topic.split("/")
    if len(parts) >= 3 and parts[0] == base and parts[2] == "cmd" and parts[1]:
        return parts[1]
    return None
