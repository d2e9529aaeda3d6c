"""How a server refuses: exception-response (D8) and confirmed-service-error (0E).

Green Book xDLMS: ExceptionResponse ::= {state-error, service-error} where service-error
invocation-counter-error [6] carries the Unsigned32 the server expects next.
ConfirmedServiceError ::= CHOICE {initiateError [1] ServiceError, ...}, ServiceError ::= CHOICE
of enums ([6] initiate is what an AARE carries when the InitiateRequest is refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..errors import MalformedData, UnknownApdu
from .enums import (
    ConfirmedServiceErrorChoice,
    ExceptionServiceError,
    ExceptionStateError,
    ServiceErrorType,
)
from .wire import Reader

__all__ = [
    "CONFIRMED_SERVICE_ERROR",
    "EXCEPTION_RESPONSE",
    "ConfirmedServiceError",
    "ExceptionResponse",
    "parse_confirmed_service_error",
    "parse_exception_response",
]

EXCEPTION_RESPONSE: Final = 0xD8
CONFIRMED_SERVICE_ERROR: Final = 0x0E


@dataclass(frozen=True, slots=True)
class ExceptionResponse:
    """The server could not even parse or accept the request."""

    state_error: ExceptionStateError
    service_error: ExceptionServiceError
    invocation_counter: int | None = None

    def to_bytes(self) -> bytes:
        """The APDU."""
        out = bytes([EXCEPTION_RESPONSE, self.state_error, self.service_error])
        if self.service_error == ExceptionServiceError.INVOCATION_COUNTER_ERROR:
            out += (self.invocation_counter or 0).to_bytes(4, "big")
        return out


def parse_exception_response(apdu: bytes) -> ExceptionResponse:
    """Decode an exception-response."""
    reader = Reader(apdu, what="exception-response")
    if reader.u8("tag") != EXCEPTION_RESPONSE:
        raise UnknownApdu(apdu[0])
    state, service = reader.u8("state-error"), reader.u8("service-error")
    try:
        state_error = ExceptionStateError(state)
        service_error = ExceptionServiceError(service)
    except ValueError:
        raise MalformedData(f"exception-response codes {state}/{service} are undefined") from None
    counter = None
    if service_error == ExceptionServiceError.INVOCATION_COUNTER_ERROR:
        counter = reader.u32("invocation-counter")
    reader.end()
    return ExceptionResponse(state_error, service_error, counter)


@dataclass(frozen=True, slots=True)
class ConfirmedServiceError:
    """A confirmed service failed: which service, the kind of error, and its code."""

    service: ConfirmedServiceErrorChoice
    error_type: ServiceErrorType
    value: int

    def to_bytes(self) -> bytes:
        """The APDU."""
        return bytes([CONFIRMED_SERVICE_ERROR, self.service, self.error_type, self.value])


def parse_confirmed_service_error(apdu: bytes) -> ConfirmedServiceError:
    """Decode a confirmed-service-error."""
    reader = Reader(apdu, what="confirmed-service-error")
    if reader.u8("tag") != CONFIRMED_SERVICE_ERROR:
        raise UnknownApdu(apdu[0])
    service, kind, value = reader.u8("service"), reader.u8("error type"), reader.u8("value")
    reader.end()
    try:
        return ConfirmedServiceError(
            ConfirmedServiceErrorChoice(service), ServiceErrorType(kind), value
        )
    except ValueError:
        raise MalformedData(f"confirmed-service-error {service}/{kind} is undefined") from None
