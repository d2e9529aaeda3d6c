"""The meter's side of IEC 62056-21 on the optical port, as a sans-I/O state machine.

Bytes from the hand-held unit (HHU) go in with the time they arrived; bytes for the line come out
with the baud rate to send them at. No clock is read: timers are deadlines compared with the
``now`` the adapter passes, so tests step time by hand. Behaviour ([1107], [1107]):

- ``/?!`` (or ``/?<device address>!``) at the initial baud → ``/KAM5 <type>``.
- ``ACK 0 Z 0`` → the readout at the baud Z selects (Kamstrup follows the HHU's choice; any Z
  above the meter's maximum or unknown means 300). ``ACK 0 Z 1`` → programming mode:
  ``P0 ()``, then the HHU's ``P1 (password)`` → ACK, or a break and back to idle.
- No option select within Tt → the readout at the initial baud: mode A, and mode C's fall-back.
- In programming mode R1, R5, R6, W1, W5 and B0; anything else is answered ``(ER01)``. A message
  with a bad BCC or parity is answered NAK, and a NAK repeats the last reply.
- Ta: a message whose characters stop for longer is dropped. Tr: a logger block not ACKed in
  time ends the logger readout. Ti: programming mode ends after that long without a message.
- After a readout, a break, a wrong password or Ti the meter waits at the initial baud again.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from enum import Enum, unique
from typing import Final, assert_never

from ccc_gateway.protocol.iec62056_21 import (
    Ack,
    Command,
    CommandId,
    DataMessage,
    Identification,
    Message,
    Nak,
    OptionSelect,
    Request,
    baudrate,
    encode,
    format_data_block,
    format_data_set,
)
from ccc_gateway.protocol.iec62056_21_reader import MessageReader, MessageRejected

from .iec62056_21_config import ErrorCode, OpticalConfig, Timers, Transmit
from .iec62056_21_meter import (
    CLOCK,
    MeterTime,
    OpticalMeter,
    data_set,
    format_time,
    logger_blocks,
    parse_digits,
    parse_time,
)

__all__ = ["ErrorCode", "Iec62056Server", "OpticalConfig", "ServerState", "Timers", "Transmit"]


@unique
class ServerState(Enum):
    """Where the meter is in the dialogue."""

    IDLE = "idle"  #: waiting for a sign-on at the initial baud
    AWAITING_OPTION = "awaiting_option"  #: identification sent; Tt runs
    AWAITING_PASSWORD = "awaiting_password"  #: P0 sent; Ti runs
    PROGRAMMING = "programming"  #: password accepted; Ti runs
    SENDING_LOGGER = "sending_logger"  #: a partial block sent, waiting for ACK; Tr runs


#: ``*`` may appear in an address: ``1.8.0*12`` is a billing-period value (IEC 62056-61 F).
_REGISTER: Final = re.compile(r"([^()/!\s]{1,16})\(([^()]*)\)")
_PROGRAMMING_COMMANDS: Final = frozenset(
    {CommandId.R1, CommandId.R5, CommandId.R6, CommandId.W1, CommandId.W5}
)
_LOGGER_ARGS: Final = re.compile(r"([^;]*);([^;]*)(?:;(\d*))?")


class _Refused(Exception):
    """A command the meter answers with ``(ER…)``."""

    def __init__(self, code: ErrorCode) -> None:
        super().__init__(code.value)
        self.code = code


class Iec62056Server:
    """One optical port's 1107 dialogue. Feed :meth:`receive_data`; call :meth:`poll` by the
    deadline :meth:`next_deadline` names; send every :class:`Transmit` returned, in order."""

    def __init__(self, meter: OpticalMeter, config: OpticalConfig | None = None) -> None:
        self.meter = meter
        self.config = config or OpticalConfig()
        self.state = ServerState.IDLE
        self.baudrate = self.config.initial_baudrate
        self._reader = MessageReader(parity=self.config.parity)
        self._deadline: float | None = None
        self._d0_due: float | None = None
        self._last_octet: float | None = None
        self._last_reply: Transmit | None = None
        self._blocks: list[str] = []
        #: Rejected messages and dropped dialogues by error code: the port's diagnostics.
        self.errors: Counter[str] = Counter()

    # --- the adapter's interface -------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> list[Transmit]:
        """Everything the meter sends in answer to *data*, which arrived at *now*."""
        out = self.poll(now)
        if data:
            self._last_octet = now
            self._reader.receive_data(data)
        while (
            item := self._reader.next_message(
                option_select=self.state is ServerState.AWAITING_OPTION
            )
        ) is not None:
            out += self._handle(item, now)
        return out

    def poll(self, now: float) -> list[Transmit]:
        """Fire every timer that has expired by *now*."""
        out: list[Transmit] = []
        ta_end = self._ta_deadline()
        if ta_end is not None and now >= ta_end:
            rejected = self._reader.flush()
            if rejected is not None:
                self.errors[rejected.error.code] += 1
        if self._deadline is not None and now >= self._deadline:
            out += self._expire(now)
        interval = self.config.d0_interval
        if interval is not None and (self._d0_due is None or now >= self._d0_due):
            if self._d0_due is not None and self.state is ServerState.IDLE:
                out += self._d0()
            self._d0_due = now + interval
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`poll` must run next, or ``None`` while only input can change anything.

        With D0 on, call :meth:`poll` once at start: the first period begins then."""
        deadlines = [
            d for d in (self._deadline, self._ta_deadline(), self._d0_due) if d is not None
        ]
        return min(deadlines, default=None)

    # --- internals ---------------------------------------------------------------------------

    def _ta_deadline(self) -> float | None:
        if self._reader.pending and self._last_octet is not None:
            return self._last_octet + self.config.timers.ta
        return None

    def _send(self, message: Message, *, remember: bool = True) -> Transmit:
        transmit = Transmit(encode(message, parity=self.config.parity), self.baudrate)
        if remember:
            self._last_reply = transmit
        return transmit

    def _idle(self) -> None:
        self.state = ServerState.IDLE
        self.baudrate = self.config.initial_baudrate
        self._deadline = None
        self._last_reply = None
        self._blocks = []

    def _readout(self) -> Transmit:
        block = format_data_block([data_set(r) for r in self.meter.readout(self.config.readout)])
        transmit = self._send(DataMessage(block))
        self._idle()
        return transmit

    def _d0(self) -> list[Transmit]:
        """Mode D: identification and readout, unasked, then idle at the initial rate again."""
        self.baudrate = self.config.d0_baudrate
        ident = self._send(self._identification(), remember=False)
        return [ident, self._readout()]

    def _identification(self) -> Identification:
        return Identification(
            self.config.manufacturer, self.config.max_baud_char, " " + self.meter.meter_type
        )

    def _expire(self, now: float) -> list[Transmit]:
        state = self.state
        if state is ServerState.AWAITING_OPTION:
            return [self._readout()]  # mode A, or a mode C HHU that never chose
        if state is ServerState.SENDING_LOGGER:
            self.errors["logger_not_acknowledged"] += 1
            self._blocks = []
            self.state = ServerState.PROGRAMMING
            self._deadline = now + self.config.timers.ti
            return []
        self.errors["inactivity_timeout"] += 1
        self._idle()
        return []

    def _handle(self, item: Message | MessageRejected, now: float) -> list[Transmit]:
        state = self.state
        if isinstance(item, MessageRejected):
            self.errors[item.error.code] += 1
            if state in (ServerState.IDLE, ServerState.AWAITING_OPTION):
                return []  # nothing to repeat yet: the HHU times out and signs on again
            self._deadline = now + self.config.timers.ti
            return [self._send(Nak(), remember=False)]
        if isinstance(item, Request):
            return self._sign_on(item, now)
        match state:
            case ServerState.IDLE:
                return []  # only a sign-on wakes the meter
            case ServerState.AWAITING_OPTION:
                return self._option_select(item, now)
            case ServerState.AWAITING_PASSWORD | ServerState.PROGRAMMING:
                return self._programming(item, now)
            case ServerState.SENDING_LOGGER:
                return self._logger_reply(item, now)
            case _:
                assert_never(state)

    def _sign_on(self, request: Request, now: float) -> list[Transmit]:
        self._idle()
        if request.address and request.address != self._device_address():
            return []  # addressed to another meter on the bus
        self.state = ServerState.AWAITING_OPTION
        self._deadline = now + self.config.timers.tt
        return [self._send(self._identification())]

    def _device_address(self) -> str:
        if self.config.device_address is not None:
            return self.config.device_address
        number = self.meter.read_register("0.0.1")
        return "" if number is None else str(number.value)

    def _option_select(self, message: Message, now: float) -> list[Transmit]:
        if not isinstance(message, OptionSelect) or message.protocol != "0":
            self.errors["unexpected_message"] += 1
            self._idle()  # HDLC (V=2) and anything else: not for this dialogue
            return []
        max_rate = baudrate(self.config.max_baud_char)
        rate = baudrate(message.baud_char)
        self.baudrate = rate if rate <= max_rate else 300
        if message.mode == "0":
            return [self._readout()]
        if message.mode == "1":
            self.state = ServerState.AWAITING_PASSWORD
            self._deadline = now + self.config.timers.ti
            return [self._send(Command(CommandId.P0, "()"))]
        self.errors["unsupported_mode"] += 1  # Y=6 manufacturer mode is not emulated
        self._idle()
        return []

    def _logger_reply(self, message: Message, now: float) -> list[Transmit]:
        if isinstance(message, Ack):
            return [self._next_block(now)]
        if isinstance(message, Nak) and self._last_reply is not None:
            self._deadline = now + self.config.timers.tr
            return [self._last_reply]
        self._blocks = []  # any other message ends the logger readout
        self.state = ServerState.PROGRAMMING
        return self._programming(message, now)

    def _next_block(self, now: float) -> Transmit:
        block = self._blocks.pop(0)
        if self._blocks:
            self.state = ServerState.SENDING_LOGGER
            self._deadline = now + self.config.timers.tr
        else:
            self.state = ServerState.PROGRAMMING
            self._deadline = now + self.config.timers.ti
        return self._send(DataMessage(block, partial=bool(self._blocks)))

    def _programming(self, message: Message, now: float) -> list[Transmit]:
        self._deadline = now + self.config.timers.ti
        if isinstance(message, Nak):
            return [] if self._last_reply is None else [self._last_reply]
        if not isinstance(message, Command):
            self.errors["unexpected_message"] += 1
            return []
        if message.command == CommandId.B0:
            self._idle()
            return []
        if self.state is ServerState.AWAITING_PASSWORD:
            return self._password(message)
        try:
            return self._command(message, now)
        except _Refused as refused:
            self.errors[f"refused_{refused.code.name.lower()}"] += 1
            return [self._send(DataMessage(f"({refused.code.value})"))]

    def _password(self, message: Command) -> list[Transmit]:
        if message.command != CommandId.P1:
            return [self._send(DataMessage(f"({ErrorCode.NOT_AUTHORISED.value})"))]
        if message.data == f"({self.config.password})":
            self.state = ServerState.PROGRAMMING
            return [self._send(Ack())]
        self.errors["wrong_password"] += 1
        transmit = self._send(Command(CommandId.B0))  # the break: sign on again
        self._idle()
        return [transmit]

    def _command(self, message: Command, now: float) -> list[Transmit]:
        if message.command not in _PROGRAMMING_COMMANDS:
            raise _Refused(ErrorCode.UNKNOWN_COMMAND)
        address, argument = _register(message.data)
        match message.command:
            case CommandId.R1:
                reading = self.meter.read_register(address)
                if reading is None:
                    raise _Refused(ErrorCode.UNKNOWN_REGISTER)
                return [self._send(DataMessage(format_data_set(data_set(reading))))]
            case CommandId.R5:
                if address != CLOCK:
                    raise _Refused(ErrorCode.UNKNOWN_REGISTER)
                return [self._send(DataMessage(f"{CLOCK}({format_time(self.meter.clock())})"))]
            case CommandId.W5:
                if address != CLOCK:
                    raise _Refused(ErrorCode.NOT_WRITABLE)
                self._set_clock(argument)
                return [self._send(Ack())]
            case CommandId.W1:
                if address == CLOCK:
                    self._set_clock(argument)
                elif address in self.meter.writable_registers:
                    try:
                        self.meter.write_register(address, argument)
                    except ValueError:
                        raise _Refused(ErrorCode.BAD_VALUE) from None
                else:
                    known = self.meter.read_register(address) is not None
                    raise _Refused(ErrorCode.NOT_WRITABLE if known else ErrorCode.UNKNOWN_REGISTER)
                return [self._send(Ack())]
            case _:  # R6
                return [self._logger(address, argument, now)]

    def _set_clock(self, argument: str) -> None:
        try:
            self.meter.set_clock(_time(argument))
        except ValueError:  # a time the meter's clock cannot show (skipped by the spring change)
            raise _Refused(ErrorCode.BAD_VALUE) from None

    def _logger(self, address: str, argument: str, now: float) -> Transmit:
        match = _LOGGER_ARGS.fullmatch(argument)
        if match is None:
            raise _Refused(ErrorCode.BAD_VALUE)
        start, end = (_bound(match.group(i)) for i in (1, 2))
        rows_per_block = int(match.group(3) or 0) or self.config.logger_block_rows
        table = self.meter.logger(address, start, end)
        if table is None:
            raise _Refused(ErrorCode.UNKNOWN_REGISTER)
        self._blocks = logger_blocks(address, table, rows_per_block)
        return self._next_block(now)


def _register(data: str | None) -> tuple[str, str]:
    """``C.D.E(argument)`` → address and argument; ``(ER04)`` if the data is not that."""
    match = _REGISTER.fullmatch(data or "")
    if match is None:
        raise _Refused(ErrorCode.BAD_VALUE)
    return match.group(1), match.group(2)


def _time(text: str) -> MeterTime:
    try:
        return parse_time(text)
    except ValueError:
        raise _Refused(ErrorCode.BAD_VALUE) from None


def _bound(text: str) -> datetime | None:
    """An R6 start or end: empty for open, ``YYMMDDhhmm[ss]`` or the ``NV`` clock format."""
    if not text:
        return None
    if len(text) in (10, 12):
        try:
            return parse_digits(text)
        except ValueError:
            raise _Refused(ErrorCode.BAD_VALUE) from None
    return _time(text).local
