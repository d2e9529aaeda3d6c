"""GET, SET and ACTION of one established association, with its rights and its transfers.

* An object the association does not see is object-undefined; a class that does not match is
  object-class-inconsistent; an attribute the rights do not allow is read-write-denied.
* A GET answer longer than the client's max receive PDU (or the meter's own) goes out in
  raw-data blocks (get-response-with-datablock), each sent on the client's get-request-next;
  any other request abandons the transfer. Long SET values arrive the same way.
* A service outside the negotiated conformance gets an exception-response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ccc_gateway.protocol.axdr import Data, decode_data, encode_data
from ccc_gateway.protocol.dlms.action import ActionRequestNormal, ActionResponseNormal
from ccc_gateway.protocol.dlms.codec import Apdu
from ccc_gateway.protocol.dlms.descriptors import (
    AttributeDescriptor,
    MethodDescriptor,
    SelectiveAccess,
)
from ccc_gateway.protocol.dlms.enums import (
    ActionResult,
    Conformance,
    DataAccessResult,
    ExceptionServiceError,
    ExceptionStateError,
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
from ccc_gateway.protocol.dlms.refusal import ExceptionResponse
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
from ccc_gateway.protocol.errors import MalformedData

from .registry import ObjectRegistry

__all__ = ["Services", "exception"]

#: get-response-with-datablock header: tag, choice, invoke, last, block number (4), choice,
#: and up to 3 bytes of raw-data length.
_BLOCK_OVERHEAD: Final = 12


@dataclass(frozen=True, slots=True)
class _Context:
    association_name: str


def exception(service: ExceptionServiceError) -> bytes:
    """An exception-response: service-not-allowed, for *service*."""
    return ExceptionResponse(ExceptionStateError.SERVICE_NOT_ALLOWED, service).to_bytes()


class Services:
    """The services of one association: what it negotiated, and the transfers under way."""

    def __init__(
        self,
        registry: ObjectRegistry,
        association_name: str,
        negotiated: Conformance,
        max_send_pdu_size: int,
    ) -> None:
        self.registry = registry
        self.negotiated = negotiated
        self.max_send_pdu_size = max_send_pdu_size
        self._context = _Context(association_name)
        self._blocks: list[bytes] = []
        self._block_number = 0
        self._set_target: AttributeDescriptor | None = None
        self._set_raw = bytearray()
        self._set_block = 0

    def serve(self, request: Apdu) -> bytes:
        """The answer to one service request."""
        context = self._context
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
                return exception(ExceptionServiceError.SERVICE_NOT_SUPPORTED)
            result, returned = self._invoke(request.method, request.parameters, context)
            return ActionResponseNormal(result, returned, request.invoke_id_and_priority).to_bytes()
        return ExceptionResponse(
            ExceptionStateError.SERVICE_UNKNOWN, ExceptionServiceError.SERVICE_NOT_SUPPORTED
        ).to_bytes()

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
            return exception(ExceptionServiceError.SERVICE_NOT_SUPPORTED)
        invoke = request.invoke_id_and_priority
        if isinstance(request, GetRequestNext):
            return self._next_block(request)
        if isinstance(request, GetRequestWithList):
            if Conformance.MULTIPLE_REFERENCES not in self.negotiated:
                return exception(ExceptionServiceError.SERVICE_NOT_SUPPORTED)
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
            return exception(ExceptionServiceError.SERVICE_NOT_SUPPORTED)
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
                return exception(ExceptionServiceError.SERVICE_NOT_SUPPORTED)
            results = tuple(
                self._write(attribute, value, context)
                for (attribute, _), value in zip(request.attributes, request.values, strict=True)
            )
            return SetResponseWithList(results, invoke).to_bytes()
        if Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE not in self.negotiated:
            return exception(ExceptionServiceError.SERVICE_NOT_SUPPORTED)
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
