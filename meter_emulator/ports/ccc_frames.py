"""From a list body to the bytes on the CCC wire: data-notification, optional ciphering, HDLC.

Addressing follows every public capture ([GB] 8.4): plaintext pushes go from server 16
(0x21) to client 21 (0x2B); encrypted ones from 1 (0x03) to 32 (0x41). UI frames, control
0x13, never segmented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ccc_gateway.protocol.apdu import (
    LLC_RESPONSE,
    ApduTag,
    CipheredApdu,
    build_ciphered_apdu,
    build_data_notification,
)
from ccc_gateway.protocol.axdr import CosemDateTime, Data
from ccc_gateway.protocol.cipher import SC_AUTHENTICATED_ENCRYPTION, Keys, encrypt
from ccc_gateway.protocol.hdlc import HdlcAddress, HdlcFrame, encode_frame

__all__ = ["PushSecurity", "build_push_frame", "system_title_for"]

UI_FINAL: Final = 0x13
PLAIN_ADDRESSES: Final = (HdlcAddress(21), HdlcAddress(16))
CIPHERED_ADDRESSES: Final = (HdlcAddress(32), HdlcAddress(1))


def system_title_for(serial: int) -> bytes:
    """ "KAME" + the serial number as uint32 big-endian ([GB])."""
    return b"KAME" + serial.to_bytes(4, "big")


@dataclass(frozen=True, slots=True, repr=False)
class PushSecurity:
    """general-glo-ciphering settings of an encrypted CCC push."""

    keys: Keys
    system_title: bytes
    security_control: int = SC_AUTHENTICATED_ENCRYPTION

    def __repr__(self) -> str:
        return f"PushSecurity(system_title={self.system_title.hex().upper()}, keys=<redacted>)"


def build_push_frame(
    body: Data,
    *,
    date_time: CosemDateTime,
    security: PushSecurity | None = None,
    invocation_counter: int | None = None,
) -> bytes:
    """One complete push frame, flags included, byte-exact with a real meter's."""
    apdu = build_data_notification(body, date_time=date_time)
    if security is None:
        destination, source = PLAIN_ADDRESSES
        information = LLC_RESPONSE + apdu
    else:
        if invocation_counter is None:
            raise ValueError("an encrypted push needs its invocation counter")
        payload = encrypt(
            apdu,
            keys=security.keys,
            system_title=security.system_title,
            invocation_counter=invocation_counter,
            security_control=security.security_control,
        )
        ciphered = build_ciphered_apdu(
            CipheredApdu(
                ApduTag.GENERAL_GLO_CIPHERING,
                security.system_title,
                security.security_control,
                invocation_counter,
                payload,
            )
        )
        destination, source = CIPHERED_ADDRESSES
        information = LLC_RESPONSE + ciphered
    return encode_frame(HdlcFrame(destination, source, UI_FINAL, information))
