"""Sans-I/O IEC 62056-21 readout client: the gateway's fallback for meters without DLMS optically.

One readout per :meth:`Iec62056Client.start`: sign-on ``/?!`` at the initial baud, the meter's
identification, the option select ``ACK 0 Z 0`` for the fastest rate both ends support (mode C),
then the data message, parsed into data sets. A meter whose identification names no mode C baud
character is read in mode A: no option select, the readout follows at the initial baud.

Like h11, the client enters ``ERROR`` on a remote error and raises it: a bad BCC or parity, a
truncated or malformed message, an ``(ER…)`` reply or a silent meter each have a named error.
Time is passed in; :meth:`Iec62056Client.poll` fires the timeouts by :meth:`next_deadline`.
Octets that look like our own messages (a half-duplex head echoes them) are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum, unique
from typing import Final, NoReturn, TypeAlias

from ..protocol.errors import LocalProtocolError, RemoteProtocolError
from ..protocol.iec62056_21 import (
    BAUD_CHARS,
    Ack,
    DataMessage,
    DataSet,
    Identification,
    MalformedMessage,
    Message,
    OptionSelect,
    Request,
    UnexpectedMessage,
    baud_char,
    baudrate,
    encode,
    error_code,
    parse_data_block,
)
from ..protocol.iec62056_21_reader import MessageReader, MessageRejected

__all__ = [
    "BaudrateChanged",
    "ClientEvent",
    "ClientState",
    "Iec62056Client",
    "MeterErrorReply",
    "Readout",
    "ReadoutReceived",
    "ReadoutTimeout",
    "ReadoutValue",
    "Transmit",
]

#: [1107] Fig. 1: the meter answers within Tr (1.5 s) and, in mode A, after Tt (1.7 s).
DEFAULT_RESPONSE_TIMEOUT: Final = 3.0
#: Ta: a gap of more than 1.5 s inside a message means it was cut off.
DEFAULT_CHARACTER_TIMEOUT: Final = 1.5


class MeterErrorReply(RemoteProtocolError):
    """The meter answered ``(ER…)`` instead of data."""

    code = "meter_error_reply"
    hint = "The meter refused the request: check the device address and the port's readout list."

    def __init__(self, reply: str) -> None:
        self.reply = reply
        super().__init__(f"the meter answered {reply}")


class ReadoutTimeout(RemoteProtocolError):
    """The meter did not answer in time (no identification, or no readout after it)."""

    code = "readout_timeout"
    hint = (
        "No answer on the optical port: check the head's position and cable, the device address "
        "and that nothing else holds the port."
    )


@unique
class ClientState(Enum):
    """Where one readout is."""

    IDLE = "idle"
    AWAITING_IDENTIFICATION = "awaiting_identification"
    AWAITING_READOUT = "awaiting_readout"
    DONE = "done"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ReadoutValue:
    """One register of a readout as the meter wrote it: ``("1.8.0", "0000586.12", "kWh")``."""

    obis: str
    value: str
    unit: str | None

    @property
    def number(self) -> Decimal | None:
        """The value as a number, or ``None`` for text, dates and identifiers with letters."""
        try:
            return Decimal(self.value)
        except InvalidOperation:
            return None


@dataclass(frozen=True, slots=True)
class Readout:
    """An identification and the data sets that followed it."""

    identification: Identification
    data_sets: tuple[DataSet, ...]
    baudrate: int  #: the rate the readout came at

    @property
    def values(self) -> tuple[ReadoutValue, ...]:
        """Every register as (OBIS, value, unit), in the meter's order."""
        return tuple(ReadoutValue(d.address, d.value, d.unit) for d in self.data_sets)


@dataclass(frozen=True, slots=True)
class Transmit:
    """Octets to write (parity already set), at this baud rate."""

    data: bytes
    baudrate: int


@dataclass(frozen=True, slots=True)
class BaudrateChanged:
    """Switch the port to this rate once everything before it has left the line."""

    baudrate: int


@dataclass(frozen=True, slots=True)
class ReadoutReceived:
    """The readout passed every check."""

    readout: Readout


ClientEvent: TypeAlias = Transmit | BaudrateChanged | ReadoutReceived


class Iec62056Client:
    """One optical head's readout dialogue, one readout at a time.

    *parity* carries 7E1 as bit 7 of each octet with the port at 8N1: a pty has no parity, and a
    UART at 8N1 samples the same 10-bit character, so this works on real heads too.
    """

    def __init__(
        self,
        *,
        address: str = "",
        max_baudrate: int = 9600,
        initial_baudrate: int = 300,
        parity: bool = True,
        response_timeout: float = DEFAULT_RESPONSE_TIMEOUT,
        character_timeout: float = DEFAULT_CHARACTER_TIMEOUT,
    ) -> None:
        if max_baudrate not in BAUD_CHARS.values():
            raise LocalProtocolError(f"{max_baudrate} baud is not a mode C rate")
        self.address = address  #: device address for an addressed sign-on; empty asks any meter
        self.max_baudrate = max_baudrate
        self.initial_baudrate = initial_baudrate
        self.parity = parity
        self.response_timeout = response_timeout
        self.character_timeout = character_timeout
        self.state = ClientState.IDLE
        self._reader = MessageReader(parity=parity)
        self._identification: Identification | None = None
        self._baudrate = initial_baudrate
        self._deadline: float | None = None
        self._last_octet = 0.0

    @property
    def baudrate(self) -> int:
        """The rate the port must be at now."""
        return self._baudrate

    def start(self, now: float) -> list[ClientEvent]:
        """Begin a readout (from any state): the sign-on, at the initial baud."""
        self._reader = MessageReader(parity=self.parity)
        self._identification = None
        self.state = ClientState.AWAITING_IDENTIFICATION
        self._deadline = now + self.response_timeout
        events: list[ClientEvent] = []
        if self._baudrate != self.initial_baudrate:
            self._baudrate = self.initial_baudrate
            events.append(BaudrateChanged(self._baudrate))
        events.append(self._transmit(Request(self.address)))
        return events

    def receive_data(self, data: bytes, now: float) -> list[ClientEvent]:
        """Events for the octets that arrived at *now*; raises the named error on a bad reply."""
        events = self.poll(now)
        if not self._active():
            return events  # nothing asked: late octets of a finished or failed readout
        if data:
            self._last_octet = now
            self._reader.receive_data(data)
        while self._active() and (item := self._reader.next_message()) is not None:
            events += self._handle(item, now)
        return events

    def poll(self, now: float) -> list[ClientEvent]:
        """Fire the timeouts that expired by *now* (each raises)."""
        if self._reader.pending and now >= self._last_octet + self.character_timeout:
            rejected = self._reader.flush()
            if rejected is not None:
                self._fail(rejected.error)
        if self._deadline is not None and now >= self._deadline and not self._reader.pending:
            waiting_for = (
                "identification" if self.state is ClientState.AWAITING_IDENTIFICATION else "readout"
            )
            self._fail(ReadoutTimeout(f"no {waiting_for} within {self.response_timeout} s"))
        return []

    def next_deadline(self) -> float | None:
        """When :meth:`poll` must run, or ``None`` when no readout is under way."""
        if not self._active():
            return None
        if self._reader.pending:
            return self._last_octet + self.character_timeout
        return self._deadline

    # --- internals ---------------------------------------------------------------------------

    def _active(self) -> bool:
        return self.state in (ClientState.AWAITING_IDENTIFICATION, ClientState.AWAITING_READOUT)

    def _transmit(self, message: Message) -> Transmit:
        return Transmit(encode(message, parity=self.parity), self._baudrate)

    def _fail(self, error: RemoteProtocolError) -> NoReturn:
        self.state = ClientState.ERROR
        self._deadline = None
        raise error

    def _handle(self, item: Message | MessageRejected, now: float) -> list[ClientEvent]:
        if isinstance(item, MessageRejected):
            self._fail(item.error)
        if isinstance(item, Request | Ack | OptionSelect):
            return []  # our own message echoed by the head
        if self.state is ClientState.AWAITING_IDENTIFICATION:
            if not isinstance(item, Identification):
                self._fail(UnexpectedMessage(f"{item!r} instead of an identification"))
            return self._identified(item, now)
        if not isinstance(item, DataMessage):
            self._fail(UnexpectedMessage(f"{item!r} instead of the readout"))
        reply = error_code(item)
        if reply is not None:
            self._fail(MeterErrorReply(reply))
        if item.partial:
            self._fail(UnexpectedMessage("a partial block: Kamstrup sends the readout whole"))
        assert self._identification is not None  # set before AWAITING_READOUT
        try:
            data_sets = parse_data_block(item.block)
        except MalformedMessage as error:
            self._fail(error)
        readout = Readout(self._identification, data_sets, self._baudrate)
        self.state = ClientState.DONE
        self._deadline = None
        events: list[ClientEvent] = [ReadoutReceived(readout)]
        if self._baudrate != self.initial_baudrate:  # the meter is back at its initial rate
            self._baudrate = self.initial_baudrate
            events.append(BaudrateChanged(self._baudrate))
        return events

    def _identified(self, identification: Identification, now: float) -> list[ClientEvent]:
        self._identification = identification
        self.state = ClientState.AWAITING_READOUT
        self._deadline = now + self.response_timeout
        if identification.baud_char not in BAUD_CHARS:
            return []  # mode A: the meter sends the readout after Tt at this rate
        rate = min(baudrate(identification.baud_char), self.max_baudrate)
        events: list[ClientEvent] = [self._transmit(OptionSelect("0", baud_char(rate), "0"))]
        if rate != self._baudrate:
            self._baudrate = rate
            events.append(BaudrateChanged(rate))
        return events
