"""Which MQTT protocol to connect with: 5 by default, 3.1.1 only for a broker that cannot do 5.

MQTT 5 matters for commands: with *retain as published* on the command subscription a command
sent with the retain flag keeps it even when delivered live, so the guard refuses it outright.
Under 3.1.1 the broker clears the flag for live subscribers (MQTT 3.1.1 section 3.3.1.3).

A broker "cannot do 5" when it says so in its CONNACK (reason 0x84, Unsupported Protocol
Version; paho maps MQTT 3's return code 1 to it too), or when it breaks off the protocol-5
handshake without any CONNACK and a 3.1.1 attempt right after succeeds (amqtt 0.12 does that
when the CONNECT carries a will). Once protocol 5 has worked in this run there is no fallback:
a later failure is the broker being away, not its protocol. The decision lives here, apart from
the connection loop, so the loop can keep its own shape (endpoint lists, failover).
"""

from __future__ import annotations

from typing import Final, Literal

from aiomqtt.exceptions import MqttConnectError, MqttError
from paho.mqtt.reasoncodes import ReasonCode

__all__ = ["FALLBACK_COST", "ProtocolChoice"]

_UNSUPPORTED_PROTOCOL: Final = 0x84
#: What falling back to MQTT 3.1.1 costs for commands; said once, when it happens.
FALLBACK_COST: Final = (
    "a command published with the retain flag reaches the gateway live without it and runs like "
    "any other; only the retained copy the broker keeps is refused, at the next connect. Use a "
    "broker with MQTT 5 (Mosquitto 1.6 or later) so retained commands are refused outright"
)


class ProtocolChoice:
    """The protocol for the next connection attempt. Pure: fed the outcome of each attempt."""

    def __init__(self, configured: Literal["3.1.1", "5"]) -> None:
        self.current: Literal["3.1.1", "5"] = configured
        self._configured = configured
        self._worked_with_5 = False
        self._probing = False
        self.fell_back = False

    def connected(self) -> str | None:
        """The attempt with :attr:`current` succeeded; the fallback's reason, when it just
        became final (log it once, with :data:`FALLBACK_COST`)."""
        if self.current == "5":
            self._worked_with_5 = True
            return None
        if self._probing:
            self._probing = False
            self.fell_back = True
            return "does not complete an MQTT 5 handshake but accepts 3.1.1"
        return None

    def failed(self, exc: BaseException) -> tuple[bool, str | None]:
        """The attempt failed with *exc*: ``(retry_now, fallback_reason)``.

        ``retry_now`` means try again at once with the new :attr:`current` (no backoff: this is
        not an outage). A reason is returned when the fallback is final (a CONNACK refusal).
        """
        if self._probing:
            # 3.1.1 failed as well: the broker is away, not picky; back to 5 for the next try.
            self._probing = False
            self.current = self._configured
            return False, None
        if self.current != "5" or self._worked_with_5:
            return False, None
        if isinstance(exc, MqttConnectError):
            if _is_protocol_refusal(exc):
                self.current = "3.1.1"
                self.fell_back = True
                return True, "refuses protocol 5"
            return False, None  # refused for another reason (credentials, identifier, …)
        if isinstance(exc, MqttError):  # the handshake broke off: try whether 3.1.1 works
            self._probing = True
            self.current = "3.1.1"
            return True, None
        return False, None  # no TCP connection at all: nothing to learn about the protocol


def _is_protocol_refusal(exc: MqttConnectError) -> bool:
    rc = exc.rc
    if isinstance(rc, ReasonCode):
        return bool(rc.value == _UNSUPPORTED_PROTOCOL)
    return rc == 1
