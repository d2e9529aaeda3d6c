"""Glo-ciphered service APDUs and HLS-GMAC, on top of :mod:`ccc_gateway.protocol.cipher`.

Green Book 9.2.7: a glo-ciphered APDU is ``tag, length, SC, IC (4), ciphertext [tag 12]``; the
tag is the plain service's glo- counterpart (get-request C0 -> C8, InitiateRequest 01 -> 21, ...).
General-glo-ciphering (tag DB, the "general protection" conformance bit) wraps any service the
same way and adds the sender's system title: ``DB, 08, title, length, SC, IC, ciphertext
[tag]``; the public hints on OMNIPOWER's HLS association name it ([DLMS] HLS, [GB] 9.2.7.4).
The ciphering itself (IV = system title || IC, AAD = SC || AK) is :func:`cipher.encrypt`.
HLS mechanism 5 answers the peer's challenge with SC || IC || GMAC(SC || AK || challenge).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..axdr import encode_ber_length
from ..cipher import SC_AUTHENTICATED, SC_AUTHENTICATED_ENCRYPTION, Keys, decrypt, encrypt, gmac
from ..errors import AuthenticationFailed, MalformedData, UnknownApdu
from .wire import Reader

__all__ = [
    "GENERAL_GLO_CIPHERING",
    "GLO_TAGS",
    "CipheredPdu",
    "cipher_pdu",
    "decipher_pdu",
    "hls_gmac_response",
    "parse_ciphered_pdu",
    "verify_hls_gmac_response",
]

#: general-glo-ciphering (Green Book xDLMS APDU tags), any service inside.
GENERAL_GLO_CIPHERING: Final = 0xDB
#: Plain tag -> glo-ciphered tag (Green Book xDLMS APDU tags).
GLO_TAGS: Final = {
    0x01: 0x21,  # initiateRequest -> glo-initiateRequest
    0x08: 0x28,  # initiateResponse -> glo-initiateResponse
    0x0E: 0x2E,  # confirmedServiceError -> glo-confirmedServiceError
    0xC0: 0xC8,  # get-request
    0xC1: 0xC9,  # set-request
    0xC2: 0xCA,  # event-notification-request
    0xC3: 0xCB,  # action-request
    0xC4: 0xCC,  # get-response
    0xC5: 0xCD,  # set-response
    0xC7: 0xCF,  # action-response
}
_PLAIN_TAGS: Final = {glo: plain for plain, glo in GLO_TAGS.items()}


@dataclass(frozen=True, slots=True)
class CipheredPdu:
    """A glo-ciphered (or general-glo-ciphered) APDU before deciphering."""

    tag: int
    security_control: int
    invocation_counter: int
    payload: bytes  # ciphertext || tag (tag only when authenticated)
    #: The sender's system title, carried by general-glo-ciphering only.
    system_title: bytes | None = None

    @property
    def general(self) -> bool:
        """Whether this is general-glo-ciphering (tag DB)."""
        return self.tag == GENERAL_GLO_CIPHERING

    def to_bytes(self) -> bytes:
        """The APDU."""
        content = (
            bytes([self.security_control])
            + self.invocation_counter.to_bytes(4, "big")
            + self.payload
        )
        head = bytes([self.tag])
        if self.general:
            title = self.system_title or b""
            head += encode_ber_length(len(title)) + title
        return head + encode_ber_length(len(content)) + content

    @property
    def plain_tag(self) -> int | None:
        """The tag of the APDU inside (None for general-glo-ciphering: any service)."""
        return _PLAIN_TAGS.get(self.tag)


def parse_ciphered_pdu(apdu: bytes) -> CipheredPdu:
    """Split a glo- or general-glo-ciphered APDU; UnknownApdu for any other tag."""
    reader = Reader(apdu, what="glo-ciphered APDU")
    tag = reader.u8("tag")
    if tag not in _PLAIN_TAGS and tag != GENERAL_GLO_CIPHERING:
        raise UnknownApdu(tag)
    title = None
    if tag == GENERAL_GLO_CIPHERING:
        title = reader.octets("system title")
        if len(title) != 8:
            raise MalformedData(f"general-glo-ciphering system title of {len(title)} octets")
    content = Reader(reader.octets("ciphered content"), what="ciphered content")
    reader.end()
    security_control = content.u8("security control")
    counter = content.u32("invocation counter")
    return CipheredPdu(tag, security_control, counter, content.rest(), title)


def cipher_pdu(
    apdu: bytes,
    *,
    keys: Keys,
    system_title: bytes,
    invocation_counter: int,
    security_control: int = SC_AUTHENTICATED_ENCRYPTION,
    general: bool = False,
) -> CipheredPdu:
    """Protect a plain service APDU with the sender's system title and next counter:
    glo-ciphered, or general-glo-ciphered (the title travels in the APDU) when *general*."""
    glo = GLO_TAGS.get(apdu[0]) if apdu else None
    if glo is None:
        raise ValueError(f"APDU tag {apdu[:1].hex()} has no glo-ciphered form")
    payload = encrypt(
        apdu,
        keys=keys,
        system_title=system_title,
        invocation_counter=invocation_counter,
        security_control=security_control,
    )
    if general:
        return CipheredPdu(
            GENERAL_GLO_CIPHERING, security_control, invocation_counter, payload, system_title
        )
    return CipheredPdu(glo, security_control, invocation_counter, payload)


def decipher_pdu(pdu: CipheredPdu, *, keys: Keys | None, system_title: bytes) -> bytes:
    """The plain APDU; AuthenticationFailed / KeysSwapped / MissingKey as :func:`cipher.decrypt`.

    ``system_title`` is the *sender's* (learnt from the AARQ/AARE AP titles); a
    general-glo-ciphered APDU that names another title is refused. The replay guard is the
    caller's: check the counter with a :class:`SecurityContext` before, accept it after.
    """
    if pdu.general and pdu.system_title != system_title:
        raise MalformedData("general-glo-ciphering from another system title than the peer's")
    plain = decrypt(
        pdu.payload,
        keys=keys,
        system_title=system_title,
        invocation_counter=pdu.invocation_counter,
        security_control=pdu.security_control,
    )
    expected = pdu.plain_tag
    if not plain or (plain[0] != expected if expected is not None else plain[0] not in GLO_TAGS):
        raise MalformedData(
            f"glo-ciphered tag {pdu.tag:#04x} holds an APDU tagged {plain[:1].hex() or 'nothing'}"
        )
    return plain


def hls_gmac_response(
    *, keys: Keys, system_title: bytes, invocation_counter: int, challenge: bytes
) -> bytes:
    """f(challenge) of HLS mechanism 5: SC (0x10) || IC || GMAC(SC || AK || challenge).

    ``system_title`` and ``invocation_counter`` are the responder's own.
    """
    if keys.authentication_key is None:
        raise ValueError("HLS-GMAC needs the authentication key")
    tag = gmac(
        key=keys.encryption_key,
        system_title=system_title,
        invocation_counter=invocation_counter,
        aad=bytes([SC_AUTHENTICATED]) + keys.authentication_key + challenge,
    )
    return bytes([SC_AUTHENTICATED]) + invocation_counter.to_bytes(4, "big") + tag


def verify_hls_gmac_response(
    response: bytes, *, keys: Keys, system_title: bytes, challenge: bytes
) -> int:
    """Check the peer's f(challenge); its invocation counter, or AuthenticationFailed."""
    if len(response) != 17 or response[0] != SC_AUTHENTICATED:
        raise AuthenticationFailed("HLS-GMAC response is not SC 0x10, IC and a 12-byte tag")
    counter = int.from_bytes(response[1:5], "big")
    expected = hls_gmac_response(
        keys=keys, system_title=system_title, invocation_counter=counter, challenge=challenge
    )
    if expected != response:
        raise AuthenticationFailed("HLS-GMAC response does not verify: wrong keys?")
    return counter
