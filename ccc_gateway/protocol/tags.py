"""The xDLMS APDU tags, shared by the parsers and the Construct declarations.

A module of its own so that both :mod:`.apdu` (the push path's parsers) and :mod:`.layouts`
(the declarations that define the formats) can name the tags without importing each other.
"""

from __future__ import annotations

from enum import IntEnum, unique

__all__ = ["ApduTag"]


@unique
class ApduTag(IntEnum):
    """The xDLMS APDU tags we meet (Green Book 9.5; dlms-cosem tag constants)."""

    INITIATE_REQUEST = 0x01
    INITIATE_RESPONSE = 0x08
    DATA_NOTIFICATION = 0x0F
    GLO_INITIATE_REQUEST = 0x21
    GLO_INITIATE_RESPONSE = 0x28
    AARQ = 0x60
    AARE = 0x61
    RLRQ = 0x62
    RLRE = 0x63
    GET_REQUEST = 0xC0
    SET_REQUEST = 0xC1
    EVENT_NOTIFICATION = 0xC2
    ACTION_REQUEST = 0xC3
    GET_RESPONSE = 0xC4
    SET_RESPONSE = 0xC5
    ACTION_RESPONSE = 0xC7
    GLO_GET_REQUEST = 0xC8
    GLO_GET_RESPONSE = 0xCC
    EXCEPTION_RESPONSE = 0xD8
    GENERAL_GLO_CIPHERING = 0xDB
    GENERAL_DED_CIPHERING = 0xDC
    GENERAL_CIPHERING = 0xDD
