"""The DLMS server's application layer for one HDLC link: association, then GET/SET/ACTION.

APDU in, APDU out, always: every request gets an answer the standard defines (AARE with a
result and diagnostic, a data-access-result, an action-result, or an exception-response), and
no input raises. Rules:

* The association is chosen by the link's addresses (client SAP, logical device). An AARQ for
  another pair, or with a wrong password, is rejected-permanent with diagnostic 13
  (authentication-failure) as docs/emulator.md asks; a missing mechanism gets 12, a
  mechanism the association does not use 11, an unsupported application context 2.
* Services need an association and the negotiated conformance bit; otherwise the answer is an
  exception-response (service-not-allowed).
* An HLS-GMAC association (optional, :mod:`.hls`) serves nothing but the HLS reply until the
  client proved its key, and only ciphered requests after: glo-ciphered, or
  general-glo-ciphered when the general-protection bit was negotiated.
* The services themselves, their rights and their block transfers are :mod:`.services`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ccc_gateway.protocol.dlms.acse import Aare, Aarq, Rlre, Rlrq
from ccc_gateway.protocol.dlms.action import ActionRequestNormal, ActionResponseNormal
from ccc_gateway.protocol.dlms.ciphering import CipheredPdu
from ccc_gateway.protocol.dlms.codec import Apdu, parse_apdu
from ccc_gateway.protocol.dlms.descriptors import (
    MethodDescriptor,
)
from ccc_gateway.protocol.dlms.enums import (
    LN_REFERENCING_CIPHERED,
    LN_REFERENCING_NO_CIPHERING,
    MECHANISM_HLS_GMAC,
    MECHANISM_LLS,
    AcseServiceUserDiagnostic,
    ActionResult,
    AssociationResult,
    ConfirmedServiceErrorChoice,
    Conformance,
    ExceptionServiceError,
    ExceptionStateError,
    InitiateError,
    ServiceErrorType,
)
from ccc_gateway.protocol.dlms.initiate import InitiateRequest, InitiateResponse
from ccc_gateway.protocol.dlms.refusal import ConfirmedServiceError, ExceptionResponse
from ccc_gateway.protocol.errors import RemoteProtocolError, UnknownApdu

from .association import AssociationConfig, AssociationStatus, Authentication
from .hls import HlsSession
from .registry import ObjectRegistry
from .services import Services, exception

__all__ = ["ServerSession"]

#: Smallest client max receive PDU that leaves room for a block of data.
_MIN_PDU: Final = 16
#: Class 15's reply_to_HLS_authentication on the current association.
_REPLY_TO_HLS: Final = MethodDescriptor.of(15, "0.0.40.0.0.255", 1)


def _reject(diagnostic: AcseServiceUserDiagnostic, *, transient: bool = False) -> Aare:
    result = (
        AssociationResult.REJECTED_TRANSIENT if transient else AssociationResult.REJECTED_PERMANENT
    )
    return Aare(result, diagnostic, None)


class ServerSession:
    """One link's association and services. Create it when the link connects."""

    def __init__(
        self,
        registry: ObjectRegistry,
        configs: Sequence[AssociationConfig],
        *,
        client_sap: int,
        logical_device: int,
    ) -> None:
        self.registry = registry
        self.config = next(
            (
                c
                for c in configs
                if (c.client_sap, c.logical_device) == (client_sap, logical_device)
            ),
            None,
        )
        self.status = AssociationStatus.NON_ASSOCIATED
        self._services: Services | None = None
        self._hls: HlsSession | None = None
        self._negotiated = Conformance(0)

    @property
    def services(self) -> Services | None:
        """The services of the association, once accepted."""
        return self._services

    @property
    def association_name(self) -> str | None:
        """The association this link speaks for, if its addresses match one."""
        return self.config.name if self.config is not None else None

    def handle(self, apdu: bytes) -> bytes:
        """The answer to one request APDU."""
        try:
            request = parse_apdu(apdu)
        except UnknownApdu:
            return ExceptionResponse(
                ExceptionStateError.SERVICE_UNKNOWN, ExceptionServiceError.SERVICE_NOT_SUPPORTED
            ).to_bytes()
        except RemoteProtocolError:
            return exception(ExceptionServiceError.OTHER_REASON)
        if isinstance(request, Aarq):
            return self._associate(request).to_bytes()
        if isinstance(request, Rlrq):
            self._release()
            return Rlre().to_bytes()
        config = self.config
        hls = self._hls
        if config is None or self.status is AssociationStatus.NON_ASSOCIATED:
            return exception(ExceptionServiceError.OPERATION_NOT_POSSIBLE)
        if hls is None:
            return self._serve(request)
        if not isinstance(request, CipheredPdu):
            return exception(ExceptionServiceError.OPERATION_NOT_POSSIBLE)
        if request.general and not self._negotiated & Conformance.GENERAL_PROTECTION:
            return exception(ExceptionServiceError.OPERATION_NOT_POSSIBLE)
        plain = hls.unprotect(request)
        if isinstance(plain, ExceptionResponse):
            return plain.to_bytes()
        try:
            inner = parse_apdu(plain)
        except RemoteProtocolError:
            return exception(ExceptionServiceError.OTHER_REASON)
        if self.status is AssociationStatus.ASSOCIATION_PENDING:
            return hls.protect(self._hls_reply(inner, hls))
        return hls.protect(self._serve(inner))

    def _serve(self, request: Apdu) -> bytes:
        services = self._services
        if self.status is not AssociationStatus.ASSOCIATED or services is None:
            return exception(ExceptionServiceError.OPERATION_NOT_POSSIBLE)
        return services.serve(request)

    def _hls_reply(self, request: Apdu, hls: HlsSession) -> bytes:
        """Passes 3 and 4: only reply_to_HLS_authentication is served until they succeed."""
        if not isinstance(request, ActionRequestNormal) or request.method != _REPLY_TO_HLS:
            return exception(ExceptionServiceError.OPERATION_NOT_POSSIBLE)
        invoke = request.invoke_id_and_priority
        returned = hls.reply(request.parameters)
        if returned is None:
            self.status = AssociationStatus.NON_ASSOCIATED
            return ActionResponseNormal(ActionResult.OTHER_REASON, None, invoke).to_bytes()
        self.status = AssociationStatus.ASSOCIATED
        return ActionResponseNormal(ActionResult.SUCCESS, returned, invoke).to_bytes()

    # -- association ----------------------------------------------------------------------------

    def _associate(self, aarq: Aarq) -> Aare:
        config = self.config
        if self.status is AssociationStatus.ASSOCIATED:
            return _reject(AcseServiceUserDiagnostic.NO_REASON_GIVEN, transient=True)
        if config is None:
            return _reject(AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE)
        if not config.available():
            return _reject(AcseServiceUserDiagnostic.NO_REASON_GIVEN, transient=True)
        hls: HlsSession | None = None
        if config.authentication is Authentication.HLS_GMAC:
            if config.hls is None:
                return _reject(AcseServiceUserDiagnostic.NO_REASON_GIVEN)
            hls = HlsSession(config.hls)
            accepted = hls.accept(aarq)
            if isinstance(accepted, AcseServiceUserDiagnostic):
                return _reject(accepted)
            initiate: object = accepted
        elif aarq.application_context_name != LN_REFERENCING_NO_CIPHERING:
            return _reject(AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
        else:
            initiate = aarq.user_information
        if config.authentication is Authentication.LLS:
            if aarq.mechanism_name is None:
                return _reject(AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED)
            if aarq.mechanism_name != MECHANISM_LLS:
                return _reject(
                    AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED
                )
            if aarq.authentication_value != config.password:
                return _reject(AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE)
        if not isinstance(initiate, InitiateRequest):
            return _reject(AcseServiceUserDiagnostic.NO_REASON_GIVEN)
        error = self._initiate_error(initiate, config)
        if error is not None:
            refused = ConfirmedServiceError(
                ConfirmedServiceErrorChoice.INITIATE_ERROR, ServiceErrorType.INITIATE, error
            )
            return Aare(
                AssociationResult.REJECTED_PERMANENT,
                AcseServiceUserDiagnostic.NO_REASON_GIVEN,
                refused,
            )
        negotiated = initiate.conformance & config.conformance
        self._negotiated = negotiated
        # The answers fit the client's receive size and the meter's own send size (the
        # same as its receive size, as class 15's xDLMS_context_info states).
        max_send = min(initiate.client_max_receive_pdu_size or 0xFFFF, config.max_receive_pdu_size)
        self._services = Services(self.registry, config.name, negotiated, max_send)
        response = InitiateResponse(negotiated, config.max_receive_pdu_size)
        if hls is not None and config.hls is not None:
            self._hls = hls
            self.status = AssociationStatus.ASSOCIATION_PENDING
            return Aare(
                AssociationResult.ACCEPTED,
                AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
                hls.protect_pdu(response.to_bytes()),
                LN_REFERENCING_CIPHERED,
                responding_ap_title=config.hls.system_title,
                mechanism_name=MECHANISM_HLS_GMAC,
                authentication_value=hls.server_challenge,
            )
        self.status = AssociationStatus.ASSOCIATED
        lls = config.authentication is Authentication.LLS
        return Aare(
            AssociationResult.ACCEPTED,
            AcseServiceUserDiagnostic.NULL,
            response,
            mechanism_name=MECHANISM_LLS if lls else None,
        )

    @staticmethod
    def _initiate_error(initiate: InitiateRequest, config: AssociationConfig) -> int | None:
        if initiate.dlms_version < 6:
            return InitiateError.DLMS_VERSION_TOO_LOW
        if not initiate.conformance & config.conformance:
            return InitiateError.INCOMPATIBLE_CONFORMANCE
        if 0 < initiate.client_max_receive_pdu_size < _MIN_PDU:
            return InitiateError.PDU_SIZE_TOO_SHORT
        return None

    def _release(self) -> None:
        self._hls = None
        self._services = None
        self.status = AssociationStatus.NON_ASSOCIATED
