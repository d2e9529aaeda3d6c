"""Settings and outputs of the emulator's IEC 62056-21 port (see :mod:`.iec62056_21`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum, unique

from .iec62056_21_meter import UserData

__all__ = ["ErrorCode", "OpticalConfig", "Timers", "Transmit"]


@unique
class ErrorCode(StrEnum):
    """What ``(ER…)`` says. [1107]'s own code list is not in the public material we have, so these
    numbers are the emulator's; the gateway treats every ``ER`` reply alike."""

    UNKNOWN_COMMAND = "ER01"
    UNKNOWN_REGISTER = "ER02"
    NOT_WRITABLE = "ER03"
    BAD_VALUE = "ER04"
    NOT_AUTHORISED = "ER05"


@dataclass(frozen=True, slots=True)
class Timers:
    """[1107] Fig. 1 defaults in seconds (objects 131.0.13–16 on the meter)."""

    ta: float = 1.5  #: inter-character
    tr: float = 1.5  #: response: how long a logger block waits for its ACK
    tt: float = 1.7  #: mode A delay and mode C fall-back readout
    ti: float = 90.0  #: inactivity in programming mode


@dataclass(frozen=True, slots=True)
class OpticalConfig:
    """How this port is set up; every field is a setting on the real meter."""

    #: The 1107 password. Kamstrup's default is not published ([1107]); "12345" is the
    #: value the vendor's worked example uses.
    password: str = "12345"
    initial_baudrate: int = 300  #: 300 per the standard; Kamstrup also accepts 9600
    max_baud_char: str = "5"  #: sent in the identification: 9600
    readout: UserData = UserData.USER_DATA_2  #: object 131.0.3, default 1 = User data 2
    #: Answer ``/?<address>!`` for this address; ``None`` uses the meter number (0.0.1).
    device_address: str | None = None
    manufacturer: str = "KAM"
    logger_block_rows: int = 10  #: rows per partial block when R6 asks for none
    parity: bool = True  #: 7E1 modelled as bit 7 of each octet (a pty carries 8 bits)
    timers: Timers = Timers()
    #: D0: send the identification and readout on its own every so many seconds while idle
    #: ([1107] §2.2: per port, off by default). Sent at mode D's fixed 2400 baud.
    d0_interval: float | None = None
    d0_baudrate: int = 2400


@dataclass(frozen=True, slots=True)
class Transmit:
    """Octets for the line (parity already set) and the baud rate to pace them at."""

    data: bytes
    baudrate: int
