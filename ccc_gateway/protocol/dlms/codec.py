"""One entry point: any APDU of an association, decoded by its tag.

Every APDU type here has ``to_bytes()``; :func:`parse_apdu` is the inverse for all of them and
raises only :class:`RemoteProtocolError` subclasses (MalformedData, UnknownApdu), whatever
the input: the property tests hold it to that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeAlias

from ..errors import MalformedData, UnknownApdu
from .acse import (
    AARE,
    AARQ,
    RLRE,
    RLRQ,
    Aare,
    Aarq,
    Rlre,
    Rlrq,
    parse_aare,
    parse_aarq,
    parse_rlre,
    parse_rlrq,
)
from .action import (
    ACTION_REQUEST,
    ACTION_RESPONSE,
    ActionRequestNormal,
    ActionResponseNormal,
    parse_action_request,
    parse_action_response,
)
from .ciphering import GENERAL_GLO_CIPHERING, GLO_TAGS, CipheredPdu, parse_ciphered_pdu
from .get import (
    GET_REQUEST,
    GET_RESPONSE,
    GetRequest,
    GetResponse,
    parse_get_request,
    parse_get_response,
)
from .refusal import (
    CONFIRMED_SERVICE_ERROR,
    EXCEPTION_RESPONSE,
    ConfirmedServiceError,
    ExceptionResponse,
    parse_confirmed_service_error,
    parse_exception_response,
)
from .set import (
    SET_REQUEST,
    SET_RESPONSE,
    SetRequest,
    SetResponse,
    parse_set_request,
    parse_set_response,
)

__all__ = ["Apdu", "parse_apdu"]

Apdu: TypeAlias = (
    Aarq
    | Aare
    | Rlrq
    | Rlre
    | GetRequest
    | GetResponse
    | SetRequest
    | SetResponse
    | ActionRequestNormal
    | ActionResponseNormal
    | ExceptionResponse
    | ConfirmedServiceError
    | CipheredPdu
)

_PARSERS: Final[dict[int, Callable[[bytes], Apdu]]] = {
    AARQ: parse_aarq,
    AARE: parse_aare,
    RLRQ: parse_rlrq,
    RLRE: parse_rlre,
    GET_REQUEST: parse_get_request,
    GET_RESPONSE: parse_get_response,
    SET_REQUEST: parse_set_request,
    SET_RESPONSE: parse_set_response,
    ACTION_REQUEST: parse_action_request,
    ACTION_RESPONSE: parse_action_response,
    EXCEPTION_RESPONSE: parse_exception_response,
    CONFIRMED_SERVICE_ERROR: parse_confirmed_service_error,
    **dict.fromkeys(GLO_TAGS.values(), parse_ciphered_pdu),
    GENERAL_GLO_CIPHERING: parse_ciphered_pdu,
}


def parse_apdu(apdu: bytes) -> Apdu:
    """Decode one association APDU (LLC already stripped)."""
    if not apdu:
        raise MalformedData("empty APDU")
    parser = _PARSERS.get(apdu[0])
    if parser is None:
        raise UnknownApdu(apdu[0])
    return parser(bytes(apdu))
