"""Sans-I/O IEC 62056-21 parsing of a byte stream: chunks in, messages and named errors out.

Both ends use it: the emulator's optical port reads what the hand-held unit (HHU) sends, and the
readout client reads what the meter sends. Rules:

- With ``parity=True`` the input is the 8-bit view of a 7E1 line ([TD]): each octet
  must have even parity, and bit 7 is removed before parsing. A message that holds a character
  with bad parity is rejected as a whole (:class:`ParityError`), and parsing goes on after it.
- A lone ACK and the first character of an option select (``ACK 0 Z Y CR LF``) are the same
  octet, so the caller says which one it expects (``option_select=True`` right after the
  identification) and takes one message at a time with :meth:`MessageReader.next_message`.
- The reader has no clock. The inter-character timeout (Ta) is the caller's: when it expires,
  :meth:`MessageReader.flush` turns a half-received message into :class:`MessageTruncated`.
- ``/`` never occurs inside a data set (IEC 62056-21 §6.5 excludes it), so one inside a block is
  a new sign-on and the block before it was cut off.
- Octets that cannot start a message (line noise, echoes of CR LF) are skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .errors import RemoteProtocolError
from .iec62056_21 import (
    ACK,
    EOT,
    ETX,
    NAK,
    SOH,
    STX,
    Ack,
    BccError,
    Command,
    DataMessage,
    Identification,
    MalformedMessage,
    Message,
    MessageTooLong,
    MessageTruncated,
    Nak,
    OptionSelect,
    ParityError,
    Request,
    bcc,
)

__all__ = ["DEFAULT_MAX_MESSAGE_LENGTH", "MessageReader", "MessageRejected"]

#: A User data 2 readout of 40 registers is about 1.2 kB and a logger block is what the HHU asks
#: for; 64 kB without an ETX means we are not reading IEC 62056-21 at all.
DEFAULT_MAX_MESSAGE_LENGTH: Final = 65536

#: ``/`` + 3-letter manufacturer + baud character + 16-character identification (or ``?`` + a
#: 32-character device address + ``!``) + CR LF, with room for a Kamstrup space and ``\\W``.
_MAX_LINE: Final = 48

_SEVEN_BITS: Final = bytes(b & 0x7F for b in range(256))
_SLASH: Final = ord("/")
_STARTS: Final = frozenset((_SLASH, ACK, NAK, SOH, STX))


@dataclass(frozen=True, slots=True)
class MessageRejected:
    """Characters (parity removed) that failed a check; parsing resumes after them."""

    error: RemoteProtocolError
    raw: bytes


class MessageReader:
    """Feed arbitrary chunks with :meth:`receive_data`; take messages with :meth:`next_message`."""

    def __init__(self, *, parity: bool = True, max_length: int = DEFAULT_MAX_MESSAGE_LENGTH):
        self.parity = parity
        self._max_length = max_length
        self._buf = bytearray()
        self._bad: list[int] = []  # positions in _buf whose parity was wrong
        #: Octets skipped outside any message.
        self.discarded_bytes = 0

    @property
    def pending(self) -> bool:
        """Whether part of a message is waiting for the rest (the Ta timer runs)."""
        return bool(self._buf)

    def receive_data(self, data: bytes) -> None:
        """Add octets as they came off the line."""
        if self.parity:
            offset = len(self._buf)
            self._bad.extend(offset + i for i, octet in enumerate(data) if octet.bit_count() & 1)
        # Without parity checking (a UART at 7E1 already removed it) bit 7 is still masked.
        self._buf += data.translate(_SEVEN_BITS)

    def messages(self) -> list[Message | MessageRejected]:
        """Every complete message, for a reader that never expects an option select."""
        out: list[Message | MessageRejected] = []
        while (item := self.next_message()) is not None:
            out.append(item)
        return out

    def next_message(self, *, option_select: bool = False) -> Message | MessageRejected | None:
        """The next complete message or rejection, or ``None`` until more octets arrive."""
        self._skip_noise()
        buf = self._buf
        if not buf:
            return None
        first = buf[0]
        if first == ord("/"):
            return self._line()
        if first == NAK:
            return self._take(1, Nak())
        if first == ACK:
            if not option_select:
                return self._take(1, Ack())
            return self._option_select()
        return self._block()

    def flush(self) -> MessageRejected | None:
        """The line went quiet (Ta expired): a half-received message is truncated."""
        self._skip_noise()
        if not self._buf:
            return None
        raw = bytes(self._buf)
        self._buf.clear()
        self._bad.clear()
        return MessageRejected(
            MessageTruncated(f"the line went quiet after {len(raw)} characters of a message"), raw
        )

    # --- internals ---------------------------------------------------------------------------

    def _skip_noise(self) -> None:
        buf = self._buf
        skip = 0
        while skip < len(buf) and buf[skip] not in _STARTS:
            skip += 1
        if skip:
            self.discarded_bytes += skip
            self._consume(skip)

    def _consume(self, size: int) -> tuple[bytes, list[int]]:
        raw = bytes(self._buf[:size])
        del self._buf[:size]
        bad = [i for i in self._bad if i < size]
        self._bad = [i - size for i in self._bad if i >= size]
        return raw, bad

    def _take(self, size: int, message: Message) -> Message | MessageRejected:
        raw, bad = self._consume(size)
        if bad:
            return MessageRejected(ParityError(positions=bad), raw)
        return message

    def _reject(self, size: int, error: RemoteProtocolError) -> MessageRejected:
        raw, _ = self._consume(size)
        return MessageRejected(error, raw)

    def _line(self) -> Message | MessageRejected | None:
        """``/?…!`` CR LF (a request) or ``/XXXZ…`` CR LF (an identification)."""
        buf = self._buf
        end = buf.find(b"\r\n")
        limit = len(buf) if end < 0 else end
        for i in range(1, min(limit, _MAX_LINE)):
            if buf[i] in _STARTS:  # a new message began: this one was cut off
                return self._reject(i, MessageTruncated(f"a new message began after {i} chars"))
        if end < 0:
            if len(buf) >= _MAX_LINE:
                return self._reject(_MAX_LINE, MessageTooLong("no CR LF ends a sign-on line"))
            return None
        if end >= _MAX_LINE:
            return self._reject(end + 2, MessageTooLong(f"a sign-on line of {end} characters"))
        text = buf[1:end].decode("ascii")
        message: Message
        if text.startswith("?"):
            if not text.endswith("!") or len(text) > 34:
                return self._reject(end + 2, MalformedMessage(f"bad request line {text!r}"))
            message = Request(text[1:-1])
        else:
            if len(text) < 4 or not text[:3].isalpha() or not text[:4].isprintable():
                return self._reject(end + 2, MalformedMessage(f"bad identification {text!r}"))
            message = Identification(text[:3], text[3], text[4:])
        return self._take(end + 2, message)

    def _option_select(self) -> Message | MessageRejected | None:
        buf = self._buf
        if len(buf) < 6:
            if any(c in (SOH, STX, ord("/")) for c in buf[1:]):
                return self._take(1, Ack())  # a lone ACK after all: a new message follows it
            return None
        if buf[4:6] != b"\r\n" or not buf[1:4].decode("ascii").isprintable():
            return self._reject(1, MalformedMessage(f"bad option select {bytes(buf[:6])!r}"))
        text = buf[1:4].decode("ascii")
        return self._take(6, OptionSelect(text[0], text[1], text[2]))

    def _block(self) -> Message | MessageRejected | None:
        """SOH … ETX BCC (a command) or STX … ETX/EOT BCC (data)."""
        buf = self._buf
        command = buf[0] == SOH
        for i in range(1, len(buf)):
            char = buf[i]
            if char in (ETX, EOT):
                if i + 1 >= len(buf):
                    return None  # the BCC is still on its way
                return self._checked_block(i, command=command)
            if char in (SOH, _SLASH) or (char == STX and not (command and i == 3)):
                return self._reject(i, MessageTruncated(f"a new message began after {i} chars"))
            if i >= self._max_length:
                return self._reject(i, MessageTooLong(f"no ETX within {i} characters"))
        return None

    def _checked_block(self, end: int, *, command: bool) -> Message | MessageRejected:
        buf = self._buf
        received = buf[end + 1]
        computed = bcc(buf[1 : end + 1])
        body = buf[1:end].decode("ascii")
        partial = buf[end] == EOT
        raw, bad = self._consume(end + 2)
        if bad:
            return MessageRejected(ParityError(positions=bad), raw)
        if computed != received:
            return MessageRejected(BccError(computed=computed, received=received), raw)
        if not command:
            return DataMessage(body, partial=partial)
        if partial or len(body) < 2 or (len(body) > 2 and body[2] != "\x02"):
            return MessageRejected(MalformedMessage(f"bad command message {body!r}"), raw)
        return Command(body[:2], body[3:] if len(body) > 2 else None)
