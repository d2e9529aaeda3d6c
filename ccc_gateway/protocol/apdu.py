"""xDLMS APDUs carried by the push: data-notification and the ciphered envelopes.

Construct declarations define the layouts (Green Book 9.3; [GB]); plain
functions parse them into typed values and raise our named errors.
"""

from __future__ import annotations

from typing import Any, Final

from ._record import record
from .axdr import Data, decode_ber_length, decode_data, encode_ber_length, encode_data
from .cosem_time import CosemDateTime
from .errors import FrameTruncated, InvalidLlc, MalformedData, UnknownApdu
from .tags import ApduTag

_LAZY_LAYOUTS: Final = frozenset({"DataNotificationStruct", "GeneralGloCipheringStruct"})

__all__ = [
    "LLC_COMMAND",
    "LLC_RESPONSE",
    "ApduTag",
    "CipheredApdu",
    "DataNotification",
    "GeneralCiphering",
    "build_ciphered_apdu",
    "build_data_notification",
    "parse_ciphered_apdu",
    "parse_data_notification",
    "parse_general_ciphering",
    "strip_llc",
]

#: LLC header of a frame from the meter (dest LSAP E6, src LSAP E7 = response, quality 00).
LLC_RESPONSE: Final = b"\xe6\xe7\x00"
#: LLC header of a frame from a client.
LLC_COMMAND: Final = b"\xe6\xe6\x00"


def strip_llc(information: bytes, *, expected: bytes = LLC_RESPONSE) -> bytes:
    """The APDU inside an HDLC information field, after checking its LLC header."""
    if len(information) < 3:
        raise FrameTruncated("information field shorter than its LLC header")
    if information[:3] != expected:
        raise InvalidLlc(
            f"LLC header {information[:3].hex().upper()} is not {expected.hex().upper()}"
        )
    return information[3:]


# --- data-notification (0x0F) -----------------------------------------------------------------


@record
class DataNotification:
    """A parsed data-notification: its header and the notification body as A-XDR data."""

    long_invoke_id_and_priority: int
    date_time: CosemDateTime | None
    body: Data


def parse_data_notification(apdu: bytes | memoryview) -> DataNotification:
    """Parse a plaintext data-notification APDU (tag 0x0F)."""
    if not apdu:
        raise MalformedData("empty APDU")
    if apdu[0] != ApduTag.DATA_NOTIFICATION:
        raise UnknownApdu(apdu[0])
    if len(apdu) < 6:
        raise MalformedData("data-notification shorter than its header")
    invoke = int.from_bytes(apdu[1:5], "big")
    dt_length = apdu[5]
    pos = 6 + dt_length
    if pos > len(apdu):
        raise MalformedData("data-notification date-time runs past the end")
    date_time = None
    if dt_length:
        date_time = CosemDateTime.from_bytes(bytes(apdu[6:pos]))
    body, end = decode_data(apdu, pos)
    if end != len(apdu):
        raise MalformedData(f"{len(apdu) - end} bytes follow the notification body")
    return DataNotification(invoke, date_time, body)


def build_data_notification(
    body: Data, *, date_time: CosemDateTime | None, long_invoke_id_and_priority: int = 0
) -> bytes:
    """A data-notification APDU, byte-exact with the meter's (built through the declaration)."""
    from .layouts import DataNotificationStruct

    return DataNotificationStruct.build(
        {
            "long_invoke_id_and_priority": long_invoke_id_and_priority,
            "date_time": date_time.to_bytes() if date_time is not None else b"",
            "notification_body": encode_data(body),
        }
    )


# --- general-glo-ciphering (0xDB) / general-ded-ciphering (0xDC) ------------------------------


@record
class CipheredApdu:
    """The envelope of a general-glo/ded-ciphering APDU, before decryption."""

    tag: ApduTag
    system_title: bytes
    security_control: int
    invocation_counter: int
    payload: bytes  # ciphertext || tag (tag only when authenticated)


def parse_ciphered_apdu(apdu: bytes | memoryview) -> CipheredApdu:
    """Split a general-glo-ciphering (0xDB) or general-ded-ciphering (0xDC) APDU."""
    if not apdu:
        raise MalformedData("empty APDU")
    tag = apdu[0]
    if tag not in (ApduTag.GENERAL_GLO_CIPHERING, ApduTag.GENERAL_DED_CIPHERING):
        raise UnknownApdu(tag)
    if len(apdu) < 2:
        raise FrameTruncated("ciphered APDU ends before its system title")
    title_length = apdu[1]
    pos = 2 + title_length
    if pos > len(apdu):
        raise FrameTruncated("ciphered APDU ends inside its system title")
    system_title = bytes(apdu[2:pos])
    length, pos = decode_ber_length(apdu, pos)
    if pos + length > len(apdu):
        raise FrameTruncated(
            f"ciphered content announces {length} bytes, {len(apdu) - pos} arrived"
        )
    if pos + length < len(apdu):
        raise MalformedData(f"{len(apdu) - pos - length} bytes follow the ciphered content")
    if length < 5:
        raise MalformedData("ciphered content shorter than its security header")
    return CipheredApdu(
        tag=ApduTag(tag),
        system_title=system_title,
        security_control=apdu[pos],
        invocation_counter=int.from_bytes(apdu[pos + 1 : pos + 5], "big"),
        payload=bytes(apdu[pos + 5 : pos + length]),
    )


def build_ciphered_apdu(envelope: CipheredApdu) -> bytes:
    """Bytes of a general-glo/ded-ciphering APDU (through the declaration)."""
    from .layouts import GeneralGloCipheringStruct

    return GeneralGloCipheringStruct.build(
        {
            "tag": envelope.tag,
            "system_title": envelope.system_title,
            "ciphered_content": {
                "security_control": envelope.security_control,
                "invocation_counter": envelope.invocation_counter,
                "payload": envelope.payload,
            },
        }
    )


# --- general-ciphering (0xDD), parse only -----------------------------------------------------


@record
class GeneralCiphering:
    """general-ciphering (Green Book 9.2.7.2.4, Fig. 32): not used by OMNIPOWER pushes.

    ``key_info`` is kept raw (its CHOICE selects identified, wrapped or agreed keys).
    """

    transaction_id: bytes
    originator_system_title: bytes
    recipient_system_title: bytes
    date_time: bytes
    other_information: bytes
    key_info: bytes | None
    security_control: int
    invocation_counter: int
    payload: bytes


def _octet_string(apdu: bytes | memoryview, pos: int) -> tuple[bytes, int]:
    length, pos = decode_ber_length(apdu, pos)
    if pos + length > len(apdu):
        raise FrameTruncated("general-ciphering field runs past the end")
    return bytes(apdu[pos : pos + length]), pos + length


def _key_info(apdu: bytes | memoryview, pos: int) -> tuple[bytes | None, int]:
    """KeyInfo OPTIONAL: 00 absent, 01 then a CHOICE (0 identified, 1 wrapped, 2 agreed)."""
    try:
        present = apdu[pos]
        if present == 0:
            return None, pos + 1
        start = pos + 1
        choice = apdu[start]
        pos = start + 1
        if choice == 0:  # identified-key: key-id ENUMERATED
            pos += 1
        elif choice == 1:  # wrapped-key: kek-id ENUMERATED, key-ciphered-data OCTET STRING
            _, pos = _octet_string(apdu, pos + 1)
        elif choice == 2:  # agreed-key: key-parameters, key-ciphered-data
            _, pos = _octet_string(apdu, pos)
            _, pos = _octet_string(apdu, pos)
        else:
            raise MalformedData(f"key-info choice {choice} is not 0, 1 or 2")
        if pos > len(apdu):
            raise FrameTruncated("key-info runs past the end")
        return bytes(apdu[start:pos]), pos
    except IndexError:
        raise FrameTruncated("general-ciphering ends inside key-info") from None


def parse_general_ciphering(apdu: bytes | memoryview) -> GeneralCiphering:
    """Parse a general-ciphering APDU (0xDD) up to its ciphertext."""
    if not apdu or apdu[0] != ApduTag.GENERAL_CIPHERING:
        raise UnknownApdu(apdu[0] if apdu else 0)
    pos = 1
    transaction_id, pos = _octet_string(apdu, pos)
    originator, pos = _octet_string(apdu, pos)
    recipient, pos = _octet_string(apdu, pos)
    date_time, pos = _octet_string(apdu, pos)
    other, pos = _octet_string(apdu, pos)
    key_info, pos = _key_info(apdu, pos)
    content, pos = _octet_string(apdu, pos)
    if pos != len(apdu):
        raise MalformedData(f"{len(apdu) - pos} bytes follow the ciphered content")
    if len(content) < 5:
        raise MalformedData("ciphered content shorter than its security header")
    return GeneralCiphering(
        transaction_id=transaction_id,
        originator_system_title=originator,
        recipient_system_title=recipient,
        date_time=date_time,
        other_information=other,
        key_info=key_info,
        security_control=content[0],
        invocation_counter=int.from_bytes(content[1:5], "big"),
        payload=content[5:],
    )


def encode_octet_string_field(raw: bytes) -> bytes:
    """BER-length-prefixed octet-string, as general-ciphering fields are sent."""
    return encode_ber_length(len(raw)) + raw


def __getattr__(name: str) -> Any:
    """The Construct declarations, loaded on first use (see :mod:`.layouts`)."""
    if name in _LAZY_LAYOUTS:
        from . import layouts

        return getattr(layouts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
