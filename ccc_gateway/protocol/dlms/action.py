"""ACTION service APDUs (Green Book xDLMS, tags C3 action-request and C7 action-response).

Only the normal forms: OMNIPOWER methods take small parameters ([DLMS] §4).
Action-Response-With-Optional-Data is {result Action-Result, return-parameters Get-Data-Result
OPTIONAL}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..axdr import Data, encode_data
from ..errors import MalformedData, UnknownApdu
from .descriptors import MethodDescriptor
from .enums import ActionResult, DataAccessResult
from .get import DEFAULT_INVOKE_ID_AND_PRIORITY, GetResult
from .wire import Reader

__all__ = [
    "ACTION_REQUEST",
    "ACTION_RESPONSE",
    "ActionRequestNormal",
    "ActionResponseNormal",
    "parse_action_request",
    "parse_action_response",
]

ACTION_REQUEST: Final = 0xC3
ACTION_RESPONSE: Final = 0xC7


@dataclass(frozen=True, slots=True)
class ActionRequestNormal:
    """Invoke one method, with optional parameters."""

    method: MethodDescriptor
    parameters: Data | None = None
    invoke_id_and_priority: int = DEFAULT_INVOKE_ID_AND_PRIORITY

    def to_bytes(self) -> bytes:
        """The APDU."""
        tail = b"\x00" if self.parameters is None else b"\x01" + encode_data(self.parameters)
        return (
            bytes([ACTION_REQUEST, 1, self.invoke_id_and_priority]) + self.method.to_bytes() + tail
        )


def parse_action_request(apdu: bytes) -> ActionRequestNormal:
    """Decode an action-request-normal; MalformedData or UnknownApdu on anything else."""
    reader = Reader(apdu, what="action-request")
    if reader.u8("tag") != ACTION_REQUEST:
        raise UnknownApdu(apdu[0])
    choice = reader.u8("choice")
    if choice != 1:
        raise MalformedData(f"action-request choice {choice} is not supported (only normal, 1)")
    invoke = reader.u8("invoke-id-and-priority")
    method = MethodDescriptor.read(reader)
    parameters = reader.data() if reader.optional("method-invocation-parameters") else None
    reader.end()
    return ActionRequestNormal(method, parameters, invoke)


@dataclass(frozen=True, slots=True)
class ActionResponseNormal:
    """The outcome of an action, with the method's return value if it has one."""

    result: ActionResult
    return_parameters: GetResult | None = None
    invoke_id_and_priority: int = DEFAULT_INVOKE_ID_AND_PRIORITY

    def to_bytes(self) -> bytes:
        """The APDU."""
        out = bytes([ACTION_RESPONSE, 1, self.invoke_id_and_priority, self.result])
        returned = self.return_parameters
        if returned is None:
            return out + b"\x00"
        if isinstance(returned, DataAccessResult):
            return out + bytes([1, 1, returned])
        return out + b"\x01\x00" + encode_data(returned)


def parse_action_response(apdu: bytes) -> ActionResponseNormal:
    """Decode an action-response-normal; MalformedData or UnknownApdu on anything else."""
    reader = Reader(apdu, what="action-response")
    if reader.u8("tag") != ACTION_RESPONSE:
        raise UnknownApdu(apdu[0])
    choice = reader.u8("choice")
    if choice != 1:
        raise MalformedData(f"action-response choice {choice} is not supported (only normal, 1)")
    invoke = reader.u8("invoke-id-and-priority")
    code = reader.u8("action-result")
    try:
        result = ActionResult(code)
    except ValueError:
        raise MalformedData(f"action-result {code} is not defined") from None
    returned: GetResult | None = None
    if reader.optional("return-parameters"):
        kind = reader.u8("Get-Data-Result choice")
        if kind == 0:
            returned = reader.data()
        elif kind == 1:
            error = reader.u8("data-access-result")
            try:
                returned = DataAccessResult(error)
            except ValueError:
                raise MalformedData(f"data-access-result {error} is not defined") from None
        else:
            raise MalformedData(f"Get-Data-Result choice {kind} is not 0 or 1")
    reader.end()
    return ActionResponseNormal(result, returned, invoke)
