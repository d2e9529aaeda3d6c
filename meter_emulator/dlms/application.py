"""The DLMS server's application layer for one HDLC link: association, then GET/SET/ACTION.

APDU in, APDU out, always: every request gets an answer the standard defines (AARE with a
result and diagnostic, a data-access-result, an action-result, or an exception-response), and
no input raises. Rules:

* The association is chosen by the link's addresses (client SAP, logical device). An AARQ for
  another pair, or with a wrong password, is rejected-permanent with diagnostic 13
  (authentication-failure) as PROTOCOL.md 4 item 8 asks; a missing mechanism gets 12, a
  mechanism the association does not use 11, an unsupported application context 2.
* Services need an association and the negotiated conformance bit; otherwise the answer is an
  exception-response (service-not-allowed).
* An HLS-GMAC association (optional, :mod:`.hls`) serves nothing but the HLS reply until the
  client proved its key, and only glo-ciphered requests after.
* An object the association does not see is object-undefined; a class that does not match is
  object-class-inconsistent; an attribute the rights do not allow is read-write-denied.
* A GET answer longer than the client's max receive PDU (or the meter's own) goes out in
  raw-data blocks (get-response-with-datablock), each sent on the client's get-request-next;
  any other request abandons the transfer. Long SET values arrive the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ccc_gateway.protocol.axdr import Data, decode_data, encode_data
from ccc_gateway.protocol.dlms.acse import Aare, Aarq, Rlre, Rlrq
from ccc_gateway.protocol.dlms.action import ActionRequestNormal, ActionResponseNormal
from ccc_gateway.protocol.dlms.ciphering import CipheredPdu
from ccc_gateway.protocol.dlms.codec import Apdu, parse_apdu
from ccc_gateway.protocol.dlms.descriptors import (
    AttributeDescriptor,
    MethodDescriptor,
    SelectiveAccess,
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
    DataAccessResult,
    ExceptionServiceError,
    ExceptionStateError,
    InitiateError,
    ServiceErrorType,
)
from ccc_gateway.protocol.dlms.get import (
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    GetResult,
)
from ccc_gateway.protocol.dlms.initiate import InitiateRequest, InitiateResponse
from ccc_gateway.protocol.dlms.refusal import ConfirmedServiceError, ExceptionResponse
from ccc_gateway.protocol.dlms.set import (
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseNormal,
    SetResponseWithList,
)
from ccc_gateway.protocol.errors import MalformedData, RemoteProtocolError, UnknownApdu

from .association import AssociationConfig, AssociationStatus, Authentication
from .hls import HlsSession
from .registry import ObjectRegistry

__all__ = ["ServerSession"]

#: get-response-with-datablock header: tag, choice, invoke, last, block number (4), choice,
#: and up to 3 bytes of raw-data length.
_BLOCK_OVERHEAD: Final = 12
#: Smallest client max receive PDU that leaves room for a block of data.
_MIN_PDU: Final = 16
#: Class 15's reply_to_HLS_authentication on the current association.
_REPLY_TO_HLS: Final = MethodDescriptor.of(15, "0.0.40.0.0.255", 1)


@dataclass(frozen=True, slots=True)
class _Context:
    association_name: str


def _exception(service: ExceptionServiceError) -> bytes:
    return ExceptionResponse(ExceptionStateError.SERVICE_NOT_ALLOWED, service).to_bytes()


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
        self.negotiated = Conformance(0)
        self.max_send_pdu_size = 0
        self._blocks: list[bytes] = []
        self._block_number = 0
        self._set_target: AttributeDescriptor | None = None
        self._set_raw = bytearray()
        self._set_block = 0
        self._hls: HlsSession | None = None

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
            return _exception(ExceptionServiceError.OTHER_REASON)
        if isinstance(request, Aarq):
            return self._associate(request).to_bytes()
        if isinstance(request, Rlrq):
            self._release()
            return Rlre().to_bytes()
        config = self.config
        hls = self._hls
        if config is None or self.status is AssociationStatus.NON_ASSOCIATED:
            return _exception(ExceptionServiceError.OPERATION_NOT_POSSIBLE)
        if hls is None:
            return self._serve(request, config)
        if not isinstance(request, CipheredPdu):
            return _exception(ExceptionServiceError.OPERATION_NOT_POSSIBLE)
        plain = hls.unprotect(request)
        if isinstance(plain, ExceptionResponse):
            return plain.to_bytes()
        try:
            inner = parse_apdu(plain)
        except RemoteProtocolError:
            return _exception(ExceptionServiceError.OTHER_REASON)
        if self.status is AssociationStatus.ASSOCIATION_PENDING:
            return hls.protect(self._hls_reply(inner, hls))
        return hls.protect(self._serve(inner, config))

    def _serve(self, request: Apdu, config: AssociationConfig) -> bytes:
        """A service request of an established association."""
        if self.status is not AssociationStatus.ASSOCIATED:
            return _exception(ExceptionServiceError.OPERATION_NOT_POSSIBLE)
        context = _Context(config.name)
        if not isinstance(request, GetRequestNext):
            self._blocks.clear()
        if isinstance(request, GetRequestNormal | GetRequestNext | GetRequestWithList):
            return self._get(request, context)
        if isinstance(
            request,
            SetRequestNormal
            | SetRequestWithFirstDatablock
            | SetRequestWithDatablock
            | SetRequestWithList,
        ):
            return self._set(request, context)
        if isinstance(request, ActionRequestNormal):
            if Conformance.ACTION not in self.negotiated:
                return _exception(ExceptionServiceError.SERVICE_NOT_SUPPORTED)
            result, returned = self._invoke(request.method, request.parameters, context)
            return ActionResponseNormal(result, returned, request.invoke_id_and_priority).to_bytes()
        return ExceptionResponse(
            ExceptionStateError.SERVICE_UNKNOWN, ExceptionServiceError.SERVICE_NOT_SUPPORTED
        ).to_bytes()

    def _hls_reply(self, request: Apdu, hls: HlsSession) -> bytes:
        """Passes 3 and 4: only reply_to_HLS_authentication is served until they succeed."""
        if not isinstance(request, ActionRequestNormal) or request.method != _REPLY_TO_HLS:
            return _exception(ExceptionServiceError.OPERATION_NOT_POSSIBLE)
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
        self.negotiated = initiate.conformance & config.conformance
        # The answers fit the client's receive size and the meter's own send size (the
        # same as its receive size, as class 15's xDLMS_context_info states).
        self.max_send_pdu_size = min(
            initiate.client_max_receive_pdu_size or 0xFFFF, config.max_receive_pdu_size
        )
        response = InitiateResponse(self.negotiated, config.max_receive_pdu_size)
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
            InitiateResponse(self.negotiated, config.max_receive_pdu_size),
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
        self.status = AssociationStatus.NON_ASSOCIATED
        self.negotiated = Conformance(0)
        self._blocks.clear()

    # -- GET ------------------------------------------------------------------------------------

    def _read(
        self, attribute: AttributeDescriptor, access: SelectiveAccess | None, context: _Context
    ) -> GetResult:
        entry = self.registry.find(attribute.instance)
        rights = entry.rights_of(context.association_name) if entry is not None else None
        if entry is None or rights is None:
            return DataAccessResult.OBJECT_UNDEFINED
        obj = entry.obj
        if obj.class_id != attribute.class_id:
            return DataAccessResult.OBJECT_CLASS_INCONSISTENT
        if not 1 <= attribute.attribute <= obj.attribute_count:
            return DataAccessResult.OBJECT_UNDEFINED
        if not rights.may_read(attribute.attribute):
            return DataAccessResult.READ_WRITE_DENIED
        if access is not None and Conformance.SELECTIVE_ACCESS not in self.negotiated:
            return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
        return obj.get(attribute.attribute, access, context)

    def _get(
        self, request: GetRequestNormal | GetRequestNext | GetRequestWithList, context: _Context
    ) -> bytes:
        if Conformance.GET not in self.negotiated:
            return _exception(ExceptionServiceError.SERVICE_NOT_SUPPORTED)
        invoke = request.invoke_id_and_priority
        if isinstance(request, GetRequestNext):
            return self._next_block(request)
        if isinstance(request, GetRequestWithList):
            if Conformance.MULTIPLE_REFERENCES not in self.negotiated:
                return _exception(ExceptionServiceError.SERVICE_NOT_SUPPORTED)
            results = tuple(self._read(a, s, context) for a, s in request.attributes)
            answer = GetResponseWithList(results, invoke).to_bytes()
            body = answer[3:]  # the SEQUENCE OF Get-Data-Result, as the blocks carry it
        else:
            result = self._read(request.attribute, request.access, context)
            answer = GetResponseNormal(result, invoke).to_bytes()
            if isinstance(result, DataAccessResult):
                return answer
            body = encode_data(result)
        if len(answer) <= self.max_send_pdu_size:
            return answer
        if Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ not in self.negotiated:
            return GetResponseNormal(DataAccessResult.OTHER_REASON, invoke).to_bytes()
        size = self.max_send_pdu_size - _BLOCK_OVERHEAD
        self._blocks = [body[i : i + size] for i in range(0, len(body), size)]
        self._block_number = 0
        return self._send_block(invoke)

    def _send_block(self, invoke: int) -> bytes:
        chunk = self._blocks.pop(0)
        self._block_number += 1
        return GetResponseWithDatablock(
            not self._blocks, self._block_number, chunk, invoke
        ).to_bytes()

    def _next_block(self, request: GetRequestNext) -> bytes:
        invoke = request.invoke_id_and_priority
        if not self._blocks:
            return GetResponseWithDatablock(
                True, request.block_number, DataAccessResult.NO_LONG_GET_IN_PROGRESS, invoke
            ).to_bytes()
        if request.block_number != self._block_number:
            self._blocks.clear()
            return GetResponseWithDatablock(
                True, request.block_number, DataAccessResult.DATA_BLOCK_NUMBER_INVALID, invoke
            ).to_bytes()
        return self._send_block(invoke)

    # -- SET ------------------------------------------------------------------------------------

    def _write(
        self, attribute: AttributeDescriptor, value: Data, context: _Context
    ) -> DataAccessResult:
        entry = self.registry.find(attribute.instance)
        rights = entry.rights_of(context.association_name) if entry is not None else None
        if entry is None or rights is None:
            return DataAccessResult.OBJECT_UNDEFINED
        obj = entry.obj
        if obj.class_id != attribute.class_id:
            return DataAccessResult.OBJECT_CLASS_INCONSISTENT
        if not 1 <= attribute.attribute <= obj.attribute_count:
            return DataAccessResult.OBJECT_UNDEFINED
        if not rights.may_write(attribute.attribute):
            return DataAccessResult.READ_WRITE_DENIED
        return obj.set(attribute.attribute, value, context)

    def _set(
        self,
        request: SetRequestNormal
        | SetRequestWithFirstDatablock
        | SetRequestWithDatablock
        | SetRequestWithList,
        context: _Context,
    ) -> bytes:
        if Conformance.SET not in self.negotiated:
            return _exception(ExceptionServiceError.SERVICE_NOT_SUPPORTED)
        invoke = request.invoke_id_and_priority
        if isinstance(request, SetRequestNormal):
            self._set_target = None
            result = (
                DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
                if request.access is not None
                else self._write(request.attribute, request.value, context)
            )
            return SetResponseNormal(result, invoke).to_bytes()
        if isinstance(request, SetRequestWithList):
            self._set_target = None
            if Conformance.MULTIPLE_REFERENCES not in self.negotiated or len(
                request.attributes
            ) != len(request.values):
                return _exception(ExceptionServiceError.SERVICE_NOT_SUPPORTED)
            results = tuple(
                self._write(attribute, value, context)
                for (attribute, _), value in zip(request.attributes, request.values, strict=True)
            )
            return SetResponseWithList(results, invoke).to_bytes()
        if Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE not in self.negotiated:
            return _exception(ExceptionServiceError.SERVICE_NOT_SUPPORTED)
        block = request.block
        if isinstance(request, SetRequestWithFirstDatablock):
            self._set_target = request.attribute
            self._set_raw = bytearray()
            self._set_block = 0
        target = self._set_target
        if target is None:
            return SetResponseLastDatablock(
                DataAccessResult.NO_LONG_SET_IN_PROGRESS, block.block_number, invoke
            ).to_bytes()
        if block.block_number != self._set_block + 1:
            self._set_target = None
            return SetResponseLastDatablock(
                DataAccessResult.DATA_BLOCK_NUMBER_INVALID, block.block_number, invoke
            ).to_bytes()
        self._set_block = block.block_number
        self._set_raw += block.raw_data
        if not block.last_block:
            return SetResponseDatablock(block.block_number, invoke).to_bytes()
        self._set_target = None
        try:
            value, end = decode_data(bytes(self._set_raw))
        except MalformedData:
            end, value = -1, None
        if value is None or end != len(self._set_raw):
            result = DataAccessResult.TYPE_UNMATCHED
        else:
            result = self._write(target, value, context)
        return SetResponseLastDatablock(result, block.block_number, invoke).to_bytes()

    # -- ACTION ---------------------------------------------------------------------------------

    def _invoke(
        self, method: MethodDescriptor, parameters: Data | None, context: _Context
    ) -> tuple[ActionResult, Data | None]:
        entry = self.registry.find(method.instance)
        rights = entry.rights_of(context.association_name) if entry is not None else None
        if entry is None or rights is None:
            return ActionResult.OBJECT_UNDEFINED, None
        obj = entry.obj
        if obj.class_id != method.class_id:
            return ActionResult.OBJECT_CLASS_INCONSISTENT, None
        if not 1 <= method.method <= obj.method_count:
            return ActionResult.OBJECT_UNDEFINED, None
        if method.method not in rights.methods:
            return ActionResult.READ_WRITE_DENIED, None
        return obj.invoke(method.method, parameters, context)
