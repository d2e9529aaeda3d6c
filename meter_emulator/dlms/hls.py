"""The server's side of an HLS-GMAC association (Green Book 9.2.7.4, mechanism 5).

Pass 1, AARQ: the client's system title (calling-AP-title), its challenge CtoS and a
glo-ciphered InitiateRequest. Pass 2, AARE: accepted with diagnostic authentication-required,
the meter's title, its challenge StoC and a glo-ciphered InitiateResponse. Pass 3: the client
calls reply_to_HLS_authentication (class 15 method 1) with f(StoC) = SC || IC || GMAC; pass 4:
the meter checks it and returns f(CtoS). Every later APDU is ciphered both ways, answers in
the form of the request (glo- or general-glo-ciphering); a client invocation counter that does
not grow is refused.
"""

from __future__ import annotations

from ccc_gateway.protocol.axdr import Data, DataType
from ccc_gateway.protocol.dlms.acse import Aarq
from ccc_gateway.protocol.dlms.ciphering import (
    GLO_TAGS,
    CipheredPdu,
    cipher_pdu,
    decipher_pdu,
    hls_gmac_response,
    verify_hls_gmac_response,
)
from ccc_gateway.protocol.dlms.enums import (
    LN_REFERENCING_CIPHERED,
    MECHANISM_HLS_GMAC,
    AcseServiceUserDiagnostic,
    ExceptionServiceError,
    ExceptionStateError,
)
from ccc_gateway.protocol.dlms.initiate import InitiateRequest, parse_initiate_request
from ccc_gateway.protocol.dlms.refusal import ExceptionResponse
from ccc_gateway.protocol.errors import RemoteProtocolError

from .association import HlsGmacServer

__all__ = ["HlsSession"]


class HlsSession:
    """One association's HLS state: the titles, both challenges, the client's counter."""

    def __init__(self, settings: HlsGmacServer) -> None:
        self.settings = settings
        self.client_title = b""
        self.client_challenge = b""
        self.server_challenge = b""
        self.last_client_counter: int | None = None
        self.authenticated = False
        #: Whether the last request came general-glo-ciphered (the answer goes the same way).
        self.general = False

    def accept(self, aarq: Aarq) -> InitiateRequest | AcseServiceUserDiagnostic:
        """Pass 1: the deciphered InitiateRequest, or why the AARQ is refused."""
        if aarq.application_context_name != LN_REFERENCING_CIPHERED:
            return AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED
        if aarq.mechanism_name is None:
            return AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED
        if aarq.mechanism_name != MECHANISM_HLS_GMAC:
            return AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED
        title = aarq.calling_ap_title
        if title is None or len(title) != 8:
            return AcseServiceUserDiagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED
        challenge = aarq.authentication_value
        if challenge is None or not 8 <= len(challenge) <= 64:
            return AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE
        pdu = aarq.user_information
        if not isinstance(pdu, CipheredPdu):
            return AcseServiceUserDiagnostic.NO_REASON_GIVEN
        try:
            plain = decipher_pdu(pdu, keys=self.settings.keys, system_title=title)
            initiate = parse_initiate_request(plain)
        except RemoteProtocolError:
            return AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE
        self.client_title = title
        self.client_challenge = challenge
        self.last_client_counter = pdu.invocation_counter
        self.server_challenge = self.settings.challenge()
        self.authenticated = False
        return initiate

    def protect(self, apdu: bytes) -> bytes:
        """Glo-cipher an answer (exception-responses have no ciphered form and stay plain)."""
        if apdu[:1] and apdu[0] not in GLO_TAGS:
            return apdu
        settings = self.settings
        return cipher_pdu(
            apdu,
            keys=settings.keys,
            system_title=settings.system_title,
            invocation_counter=settings.next_invocation_counter(),
            general=self.general,
        ).to_bytes()

    def protect_pdu(self, apdu: bytes) -> CipheredPdu:
        """Glo-cipher the InitiateResponse for the AARE."""
        settings = self.settings
        return cipher_pdu(
            apdu,
            keys=settings.keys,
            system_title=settings.system_title,
            invocation_counter=settings.next_invocation_counter(),
        )

    def unprotect(self, pdu: CipheredPdu) -> bytes | ExceptionResponse:
        """The plain request, or the exception-response that refuses it."""
        last = self.last_client_counter
        if last is not None and pdu.invocation_counter <= last:
            return ExceptionResponse(
                ExceptionStateError.SERVICE_NOT_ALLOWED,
                ExceptionServiceError.INVOCATION_COUNTER_ERROR,
                last + 1,
            )
        try:
            plain = decipher_pdu(pdu, keys=self.settings.keys, system_title=self.client_title)
        except RemoteProtocolError:
            return ExceptionResponse(
                ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.DECIPHERING_ERROR
            )
        self.last_client_counter = pdu.invocation_counter
        self.general = pdu.general
        return plain

    def reply(self, parameters: Data | None) -> Data | None:
        """Pass 3 to 4: f(CtoS) when the client's f(StoC) verifies, None when it does not."""
        if parameters is None or parameters.type != DataType.OCTET_STRING:
            return None
        try:
            verify_hls_gmac_response(
                parameters.value,
                keys=self.settings.keys,
                system_title=self.client_title,
                challenge=self.server_challenge,
            )
        except RemoteProtocolError:
            return None
        self.authenticated = True
        answer = hls_gmac_response(
            keys=self.settings.keys,
            system_title=self.settings.system_title,
            invocation_counter=self.settings.next_invocation_counter(),
            challenge=self.client_challenge,
        )
        return Data(DataType.OCTET_STRING, answer)
