"""The DLMS client's application layer on APDUs: association, GET with block transfer and
selective access, SET, ACTION, release; one request at a time, as the meter serves them.

Each request method returns the APDU to send; :meth:`ClientSession.receive_apdu` turns an
answer into events and, during a block transfer or the HLS handshake, the APDU to send next.
No I/O, no clock, no randomness (the HLS challenge is the caller's).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final, TypeAlias

from ..axdr import Data, decode_data
from ..errors import (
    AssociationRejected,
    AuthenticationFailed,
    LocalProtocolError,
    MalformedData,
    RemoteProtocolError,
    ServiceRefused,
)
from .acse import Aare, Aarq, Rlre, Rlrq
from .action import ActionRequestNormal, ActionResponseNormal
from .codec import parse_apdu
from .descriptors import AttributeDescriptor, MethodDescriptor, SelectiveAccess
from .enums import (
    MECHANISM_LLS,
    ActionResult,
    AssociationResult,
    Conformance,
    DataAccessResult,
)
from .get import GetRequestNext, GetRequestNormal, GetResponseNormal, GetResponseWithDatablock
from .hls_client import HlsClient, HlsGmac
from .initiate import InitiateRequest, InitiateResponse
from .refusal import ConfirmedServiceError, ExceptionResponse
from .set import SetRequestNormal, SetResponseNormal

__all__ = [
    "DEFAULT_CONFORMANCE",
    "ActionOutcome",
    "Associated",
    "AssociationState",
    "AttributeValue",
    "ClientSession",
    "ExchangeFailed",
    "Released",
    "SessionEvent",
    "SetOutcome",
]

#: What the gateway proposes: the services the OMNIPOWER LLS association grants, and no more.
DEFAULT_CONFORMANCE: Final = (
    Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    | Conformance.GET
    | Conformance.SET
    | Conformance.SELECTIVE_ACCESS
    | Conformance.ACTION
)
_HIGH_PRIORITY: Final = 0x80
#: Requests whose answer comes back glo-ciphered in an HLS association.
_CIPHERED: Final = frozenset({"get", "set", "action", "hls"})


class AssociationState(Enum):
    """Where the application association stands."""

    IDLE = "idle"
    ASSOCIATING = "associating"
    ASSOCIATED = "associated"
    RELEASING = "releasing"


@dataclass(frozen=True, slots=True)
class Associated:
    """The server accepted the association; ``conformance`` and PDU size are what it granted."""

    conformance: Conformance
    server_max_receive_pdu_size: int
    aare: Aare


@dataclass(frozen=True, slots=True)
class AttributeValue:
    """The answer to a GET: the value (block transfer already joined) or why there is none."""

    attribute: AttributeDescriptor
    result: Data | DataAccessResult


@dataclass(frozen=True, slots=True)
class SetOutcome:
    """The answer to a SET."""

    attribute: AttributeDescriptor
    result: DataAccessResult


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """The answer to an ACTION, with the method's return value if any."""

    method: MethodDescriptor
    result: ActionResult
    returned: Data | DataAccessResult | None


@dataclass(frozen=True, slots=True)
class Released:
    """The association was released (RLRE received)."""

    response: Rlre


@dataclass(frozen=True, slots=True)
class ExchangeFailed:
    """A request failed as a whole: refused, rejected, or answered with bytes we cannot trust."""

    error: RemoteProtocolError


SessionEvent: TypeAlias = (
    Associated | AttributeValue | SetOutcome | ActionOutcome | Released | ExchangeFailed
)

_Pending: TypeAlias = (
    tuple[str, None] | tuple[str, AttributeDescriptor] | tuple[str, MethodDescriptor]
)
_Answer: TypeAlias = tuple[list[SessionEvent], bytes | None]


class ClientSession:
    """The client's application layer on APDUs, one request at a time."""

    def __init__(
        self,
        *,
        password: bytes | None = None,
        conformance: Conformance = DEFAULT_CONFORMANCE,
        max_receive_pdu_size: int = 0xFFFF,
        hls: HlsGmac | None = None,
    ) -> None:
        self.password = password
        # With HLS the client also proposes general protection (general-glo-ciphering).
        self.conformance = (
            conformance | Conformance.GENERAL_PROTECTION if hls is not None else conformance
        )
        self.max_receive_pdu_size = max_receive_pdu_size
        self.hls = HlsClient(hls) if hls is not None else None
        self.state = AssociationState.IDLE
        self.negotiated: Conformance = Conformance(0)
        self.server_max_receive_pdu_size = 0
        self._invoke_id = 0
        self._pending: _Pending | None = None
        self._blocks = bytearray()
        self._block_number = 0
        self._aare: Aare | None = None

    @property
    def busy(self) -> bool:
        """Whether a request waits for its answer."""
        return self._pending is not None

    @property
    def invocation_counter(self) -> int:
        """The next invocation counter of an HLS association (0 without HLS): persist it."""
        return self.hls.invocation_counter if self.hls is not None else 0

    def associate(self) -> bytes:
        """The AARQ: HLS-GMAC if configured, LLS when a password is set, else public."""
        if self.state is not AssociationState.IDLE or self.busy:
            raise LocalProtocolError(f"cannot associate while {self.state.value}")
        initiate = InitiateRequest(self.conformance, self.max_receive_pdu_size)
        if self.hls is not None:
            aarq = self.hls.aarq(initiate)
        else:
            aarq = Aarq(
                initiate,
                mechanism_name=MECHANISM_LLS if self.password is not None else None,
                authentication_value=self.password,
            )
        self.state = AssociationState.ASSOCIATING
        self._pending = ("associate", None)
        return aarq.to_bytes()

    def get(self, attribute: AttributeDescriptor, access: SelectiveAccess | None = None) -> bytes:
        """A get-request-normal; a long answer is fetched block by block on its own."""
        self._ready("get")
        self._pending = ("get", attribute)
        self._blocks.clear()
        self._block_number = 0
        return self._protect(GetRequestNormal(attribute, access, self._next_invoke()).to_bytes())

    def set(self, attribute: AttributeDescriptor, value: Data) -> bytes:
        """A set-request-normal."""
        self._ready("set")
        self._pending = ("set", attribute)
        request = SetRequestNormal(attribute, value, None, self._next_invoke())
        return self._protect(request.to_bytes())

    def action(self, method: MethodDescriptor, parameters: Data | None = None) -> bytes:
        """An action-request-normal."""
        self._ready("action")
        self._pending = ("action", method)
        return self._protect(
            ActionRequestNormal(method, parameters, self._next_invoke()).to_bytes()
        )

    def release(self) -> bytes:
        """The RLRQ."""
        self._ready("release")
        self.state = AssociationState.RELEASING
        self._pending = ("release", None)
        return Rlrq().to_bytes()

    def reset(self) -> None:
        """Forget the association (the link under it went down)."""
        self.state = AssociationState.IDLE
        self._pending = None
        self._blocks.clear()

    def receive_apdu(self, apdu: bytes) -> _Answer:
        """Events for one answer, and the APDU to send next (get-request-next, HLS) if any."""
        pending = self._pending
        if pending is None:
            return [], None  # unsolicited: nothing asked, nothing to match it to
        kind, target = pending
        try:
            parsed = parse_apdu(apdu)
            if self.hls is not None:
                parsed = self.hls.unprotect(parsed, ciphered_expected=kind in _CIPHERED)
        except RemoteProtocolError as error:
            return self._fail(error), None
        if isinstance(parsed, ExceptionResponse | ConfirmedServiceError):
            return self._fail(ServiceRefused(f"the server refused the {kind}: {parsed}")), None
        if kind == "associate" and isinstance(parsed, Aare):
            return self._on_aare(parsed)
        if kind == "hls" and isinstance(parsed, ActionResponseNormal):
            return self._on_hls_reply(parsed), None
        if kind == "release" and isinstance(parsed, Rlre):
            self._pending = None
            self.state = AssociationState.IDLE
            return [Released(parsed)], None
        if kind == "get" and isinstance(target, AttributeDescriptor):
            if isinstance(parsed, GetResponseNormal):
                self._pending = None
                return [AttributeValue(target, parsed.result)], None
            if isinstance(parsed, GetResponseWithDatablock):
                return self._on_block(target, parsed)
        if (
            kind == "set"
            and isinstance(target, AttributeDescriptor)
            and isinstance(parsed, SetResponseNormal)
        ):
            self._pending = None
            return [SetOutcome(target, parsed.result)], None
        if (
            kind == "action"
            and isinstance(target, MethodDescriptor)
            and isinstance(parsed, ActionResponseNormal)
        ):
            self._pending = None
            return [ActionOutcome(target, parsed.result, parsed.return_parameters)], None
        return self._fail(MalformedData(f"{type(parsed).__name__} does not answer a {kind}")), None

    # -- internals ------------------------------------------------------------------------------

    def _ready(self, what: str) -> None:
        if self.state is not AssociationState.ASSOCIATED:
            raise LocalProtocolError(f"cannot {what}: the association is {self.state.value}")
        if self.busy:
            raise LocalProtocolError(f"cannot {what}: a request is still waiting for its answer")

    def _next_invoke(self) -> int:
        self._invoke_id = self._invoke_id % 15 + 1
        return _HIGH_PRIORITY | self._invoke_id

    def _protect(self, apdu: bytes) -> bytes:
        return self.hls.protect(apdu) if self.hls is not None else apdu

    def _fail(self, error: RemoteProtocolError) -> list[SessionEvent]:
        self._pending = None
        self._blocks.clear()
        if self.state in (AssociationState.ASSOCIATING, AssociationState.RELEASING):
            self.state = AssociationState.IDLE
        return [ExchangeFailed(error)]

    def _on_aare(self, aare: Aare) -> _Answer:
        if aare.result is not AssociationResult.ACCEPTED:
            error = AssociationRejected(
                f"association {aare.result.name.lower()}: {aare.diagnostic.name.lower()}",
                result=aare.result,
                diagnostic=aare.diagnostic,
            )
            return self._fail(error), None
        if self.hls is not None:
            try:
                initiate = self.hls.accept_aare(aare)
            except RemoteProtocolError as error:
                return self._fail(error), None
            self._grant(initiate, aare)
            self._pending = ("hls", None)  # pass 3: answer the meter's challenge
            return [], self.hls.reply_request(self._next_invoke())
        if not isinstance(aare.user_information, InitiateResponse):
            return self._fail(MalformedData("accepting AARE without an InitiateResponse")), None
        self._pending = None
        self._grant(aare.user_information, aare)
        self.state = AssociationState.ASSOCIATED
        return [self._associated(aare)], None

    def _grant(self, initiate: InitiateResponse, aare: Aare) -> None:
        self.negotiated = initiate.conformance
        self.server_max_receive_pdu_size = initiate.server_max_receive_pdu_size
        self._aare = aare
        if self.hls is not None:
            self.hls.general = bool(initiate.conformance & Conformance.GENERAL_PROTECTION)

    def _associated(self, aare: Aare) -> Associated:
        return Associated(self.negotiated, self.server_max_receive_pdu_size, aare)

    def _on_hls_reply(self, response: ActionResponseNormal) -> list[SessionEvent]:
        """Pass 4: the meter's f(CtoS) must verify, or the association fails."""
        hls, aare = self.hls, self._aare
        if hls is None or aare is None:
            return self._fail(MalformedData("an HLS reply outside an HLS association"))
        try:
            hls.verify_reply(response)
        except AuthenticationFailed as error:
            return self._fail(error)
        self._pending = None
        self.state = AssociationState.ASSOCIATED
        return [self._associated(aare)]

    def _on_block(self, attribute: AttributeDescriptor, block: GetResponseWithDatablock) -> _Answer:
        if isinstance(block.raw_data, DataAccessResult):
            self._pending = None
            self._blocks.clear()
            return [AttributeValue(attribute, block.raw_data)], None
        if block.block_number != self._block_number + 1:
            error = MalformedData(
                f"block {block.block_number} arrived, block {self._block_number + 1} was due"
            )
            return self._fail(error), None
        self._blocks += block.raw_data
        self._block_number = block.block_number
        if not block.last_block:
            request = GetRequestNext(self._block_number, block.invoke_id_and_priority)
            return [], self._protect(request.to_bytes())
        raw = bytes(self._blocks)
        self._blocks.clear()
        self._pending = None
        try:
            value, end = decode_data(raw)
        except MalformedData as error:
            return [ExchangeFailed(error)], None
        if end != len(raw):
            return [ExchangeFailed(MalformedData(f"{len(raw) - end} bytes follow the value"))], None
        return [AttributeValue(attribute, value)], None
