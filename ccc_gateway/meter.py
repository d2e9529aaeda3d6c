"""The gateway's knowledge of one meter: latest values, identity, capabilities and counters.

Pure state, no I/O: the service feeds it decoder events and port changes, and the MQTT payload
builders read it. Keeping it apart from the publisher is what lets the gateway keep reading while
the broker is away, and republish the latest state when it returns.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Final

from .protocol import Push, RemoteProtocolError
from .protocol.obis import GS1_METER_ID, METER_NUMBER, METER_TYPE

__all__ = ["ErrorRecord", "MeterView", "PortState", "PortStatus", "serial_from_title"]

#: Kamstrup system titles are "KAME" followed by the serial number as 4 big-endian bytes.
_KAMSTRUP_TITLE: Final = b"KAME"
_SERIAL_NUMBER: Final = "1.1.96.1.0.255"
_DIGITS: Final = re.compile(r"^[0-9]+$")


class PortState(Enum):
    """Where a port's reconnect loop is (published on the diagnostics topic)."""

    CONNECTING = "connecting"
    OPEN = "open"
    UNAVAILABLE = "unavailable"
    FINISHED = "finished"  # a replay that reached the end of its file


@dataclass(slots=True)
class PortStatus:
    """One port's state and, when it is down, why."""

    name: str
    description: str
    state: PortState = PortState.CONNECTING
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    """The last failure: its counter name, the text and the hint a person can act on."""

    code: str
    text: str
    hint: str
    at: datetime


def serial_from_title(system_title: bytes) -> str | None:
    """The 8-digit serial in a Kamstrup system title ("KAME" + 4 bytes), else None."""
    if len(system_title) == 8 and system_title[:4] == _KAMSTRUP_TITLE:
        return f"{int.from_bytes(system_title[4:], 'big'):08d}"
    return None


@dataclass(slots=True)
class MeterView:
    """What the gateway knows about one meter. ``meter_id`` names its MQTT topics.

    The id comes from the configuration when set; otherwise from the first push that passed
    every check (the meter number or serial in it, else its system title, else the GS1 id) and
    then stays fixed for the process, so topics never move under a consumer. A rejected frame
    never names the meter.
    """

    name: str
    configured_serial: str | None = None
    meter_id: str | None = None
    system_title: bytes | None = None
    last_push: Push | None = None
    last_push_at: datetime | None = None
    frames_ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    last_error: ErrorRecord | None = None
    last_invocation_counter: int | None = None
    ports: dict[str, PortStatus] = field(default_factory=dict)
    gs1: str | None = None
    meter_type: str | None = None
    meter_number: str | None = None
    list_version: str | None = None
    phases: int | None = None
    firmware: str | None = None

    def __post_init__(self) -> None:
        if self.configured_serial is not None:
            self.meter_id = self.configured_serial

    def record_push(self, push: Push, *, now: datetime) -> bool:
        """Take a checked push; True when the identity or capabilities (the info topic) changed."""
        before = self._info_key()
        self.last_push = push
        self.last_push_at = now
        self.frames_ok += 1
        if push.system_title is not None:
            self.system_title = push.system_title
        if push.invocation_counter is not None:
            self.last_invocation_counter = push.invocation_counter
        gs1 = push.value(GS1_METER_ID)
        if isinstance(gs1, str):
            self.gs1 = gs1
        meter_type = push.value(METER_TYPE)
        if isinstance(meter_type, str):
            self.meter_type = meter_type
        number = push.value(METER_NUMBER)
        if number is None:
            number = push.value(_SERIAL_NUMBER)
        if isinstance(number, int) and not isinstance(number, bool):
            self.meter_number = f"{number:08d}"
        elif isinstance(number, str) and _DIGITS.match(number):
            self.meter_number = number
        self.list_version = push.list_version
        self.phases = push.phases
        self._settle_id()
        return self._info_key() != before

    def record_rejection(self, error: RemoteProtocolError, raw: bytes, *, now: datetime) -> None:
        """Count a rejected frame under its error code and remember it as the last error.

        A rejected frame teaches nothing about the meter: its system title is as forgeable as
        the rest of it, so the id (and with it every topic) comes only from checked pushes or
        the configuration (issue 10). The counts wait in the view until the meter has an id.
        """
        self.errors[error.code] += 1
        self.last_error = ErrorRecord(error.code, str(error), error.hint, now)

    def record_identity(self, values: dict[str, object]) -> bool:
        """Identity read over the optical port; True when the info topic changed."""
        before = self._info_key()
        number = values.get("meter_number")
        if number is None:
            number = values.get("serial_number")
        if isinstance(number, int) and not isinstance(number, bool):
            self.meter_number = f"{number:08d}"
        elif isinstance(number, str) and _DIGITS.match(number):
            self.meter_number = number
        meter_type = values.get("meter_type")
        if isinstance(meter_type, str) and meter_type:
            self.meter_type = meter_type
        firmware = values.get("firmware")
        if isinstance(firmware, str) and firmware:
            self.firmware = firmware
        self._settle_id()
        return self._info_key() != before

    def record_port_error(self, code: str, text: str, hint: str, *, now: datetime) -> None:
        """Count a port failure (``port_unavailable``) like a frame error."""
        self.errors[code] += 1
        self.last_error = ErrorRecord(code, text, hint, now)

    def _settle_id(self) -> None:
        if self.meter_id is not None:
            return
        title_serial = None if self.system_title is None else serial_from_title(self.system_title)
        gs1_serial = self.gs1[-8:] if self.gs1 and _DIGITS.match(self.gs1) else None
        self.meter_id = self.meter_number or title_serial or gs1_serial

    def _info_key(self) -> tuple[object, ...]:
        return (
            self.meter_id,
            self.gs1,
            self.meter_type,
            self.meter_number,
            self.list_version,
            self.phases,
            self.system_title,
            self.firmware,
        )
