"""Sans-I/O DLMS client: association, GET (with block transfer and selective access), SET,
ACTION and release, over the HDLC client link.

Two layers, both without I/O or clock:

* :class:`ClientSession` works on APDUs: each request method returns the APDU to send;
  :meth:`ClientSession.receive_apdu` turns an answer into events and, during a block transfer,
  the get-request-next to send on. It runs one request at a time, as the meter does.
* :class:`DlmsClient` joins it to :class:`~.link.ClientLink`: bytes in, events out, bytes
  queued; the gateway's optical-port adapter owns the port and the clock and calls ``timer``
  at ``next_deadline``.

Association as the OMNIPOWER optical port expects it (PROTOCOL.md 2.3.2): client SAP 19,
server logical device 16, LLS with the password (or the public client 16 to server 1 without).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from ..axdr import Data, DataType, decode_data
from ..cipher import Keys
from ..errors import (
    AssociationRejected,
    AuthenticationFailed,
    LocalProtocolError,
    MalformedData,
    RemoteProtocolError,
    ReplayedFrame,
    ServiceRefused,
)
from ..events import FrameRejected
from ..hdlc import HdlcAddress
from .acse import Aare, Aarq, Rlre, Rlrq
from .action import ActionRequestNormal, ActionResponseNormal
from .ciphering import (
    CipheredPdu,
    cipher_pdu,
    decipher_pdu,
    hls_gmac_response,
    verify_hls_gmac_response,
)
from .codec import Apdu, parse_apdu
from .control import LinkParameters
from .descriptors import AttributeDescriptor, MethodDescriptor, SelectiveAccess
from .enums import (
    LN_REFERENCING_CIPHERED,
    MECHANISM_HLS_GMAC,
    MECHANISM_LLS,
    AcseServiceUserDiagnostic,
    ActionResult,
    AssociationResult,
    Conformance,
    DataAccessResult,
)
from .get import (
    GetRequestNext,
    GetRequestNormal,
    GetResponseNormal,
    GetResponseWithDatablock,
)
from .initiate import InitiateRequest, InitiateResponse, parse_initiate_response
from .link import (
    ApduReceived,
    ClientLink,
    LinkConnected,
    LinkDisconnected,
    LinkEvent,
    LinkState,
)
from .refusal import ConfirmedServiceError, ExceptionResponse
from .set import SetRequestNormal, SetResponseNormal

__all__ = [
    "DEFAULT_CONFORMANCE",
    "ActionOutcome",
    "Associated",
    "AssociationState",
    "AttributeValue",
    "ClientEvent",
    "ClientSession",
    "DlmsClient",
    "ExchangeFailed",
    "HlsGmac",
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
#: The current association object and its reply_to_HLS_authentication method (Blue Book 15).
_REPLY_TO_HLS: Final = MethodDescriptor.of(15, "0.0.40.0.0.255", 1)


@dataclass(frozen=True, slots=True, repr=False)
class HlsGmac:
    """HLS mechanism 5 (GMAC) with glo-ciphering, the optional secured OMNIPOWER access.

    ``challenge`` (CtoS, 8 to 64 random bytes) and the first ``invocation_counter`` come from
    the caller, who owns randomness and persistence: the core draws nothing and stores nothing.
    """

    keys: Keys
    system_title: bytes
    challenge: bytes
    invocation_counter: int = 1

    def __repr__(self) -> str:
        return f"HlsGmac(system_title={self.system_title.hex().upper()}, <keys redacted>)"


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


type SessionEvent = (
    Associated | AttributeValue | SetOutcome | ActionOutcome | Released | (ExchangeFailed)
)

type _Pending = tuple[str, None] | tuple[str, AttributeDescriptor] | tuple[str, MethodDescriptor]


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
        self.hls = hls
        self.invocation_counter = hls.invocation_counter if hls is not None else 0
        self.server_system_title: bytes | None = None
        self._server_counter: int | None = None
        self._server_challenge = b""
        self.conformance = conformance
        self.max_receive_pdu_size = max_receive_pdu_size
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

    def associate(self) -> bytes:
        """The AARQ: LLS when a password is set, otherwise the public (lowest) association."""
        if self.state is not AssociationState.IDLE or self.busy:
            raise LocalProtocolError(f"cannot associate while {self.state.value}")
        initiate = InitiateRequest(self.conformance, self.max_receive_pdu_size)
        if self.hls is not None:
            aarq = Aarq(
                self._cipher_pdu(initiate.to_bytes()),
                application_context_name=LN_REFERENCING_CIPHERED,
                calling_ap_title=self.hls.system_title,
                mechanism_name=MECHANISM_HLS_GMAC,
                authentication_value=self.hls.challenge,
            )
        else:
            aarq = Aarq(
                initiate,
                mechanism_name=MECHANISM_LLS if self.password is not None else None,
                authentication_value=self.password,
            )
        self.server_system_title = None
        self._server_counter = None
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
        return self._protect(
            SetRequestNormal(attribute, value, None, self._next_invoke()).to_bytes()
        )

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

    def receive_apdu(self, apdu: bytes) -> tuple[list[SessionEvent], bytes | None]:
        """Events for one answer, and the APDU to send next (get-request-next) if any."""
        pending = self._pending
        if pending is None:
            return [], None  # unsolicited: nothing asked, nothing to match it to
        try:
            parsed = self._unprotect(parse_apdu(apdu), pending[0])
        except RemoteProtocolError as error:
            if pending[0] in ("associate", "hls"):
                self.state = AssociationState.IDLE
            return self._fail(error), None
        if isinstance(parsed, ExceptionResponse | ConfirmedServiceError):
            refusal = ServiceRefused(f"the server refused the {pending[0]}: {parsed}")
            if pending[0] in ("associate", "hls"):
                self.state = AssociationState.IDLE
            return self._fail(refusal), None
        kind, target = pending
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

    def _fail(self, error: RemoteProtocolError) -> list[SessionEvent]:
        self._pending = None
        self._blocks.clear()
        if self.state is AssociationState.ASSOCIATING:
            self.state = AssociationState.IDLE
        return [ExchangeFailed(error)]

    def _on_aare(self, aare: Aare) -> tuple[list[SessionEvent], bytes | None]:
        events = self._on_aare_events(aare)
        if self._pending is not None:  # HLS: pass 3, the reply to the server's challenge
            return events, self._hls_reply()
        return events, None

    def _on_aare_events(self, aare: Aare) -> list[SessionEvent]:
        self._pending = None
        initiate = aare.user_information
        if aare.result is not AssociationResult.ACCEPTED:
            self.state = AssociationState.IDLE
            return [
                ExchangeFailed(
                    AssociationRejected(
                        f"association {aare.result.name.lower()}: {aare.diagnostic.name.lower()}",
                        result=aare.result,
                        diagnostic=aare.diagnostic,
                    )
                )
            ]
        if self.hls is not None:
            return self._on_hls_aare(aare)
        if not isinstance(initiate, InitiateResponse):
            self.state = AssociationState.IDLE
            return [ExchangeFailed(MalformedData("accepting AARE without an InitiateResponse"))]
        self.state = AssociationState.ASSOCIATED
        self.negotiated = initiate.conformance
        self.server_max_receive_pdu_size = initiate.server_max_receive_pdu_size
        self._aare = aare
        return [Associated(initiate.conformance, initiate.server_max_receive_pdu_size, aare)]

    # -- HLS-GMAC -------------------------------------------------------------------------------

    def _cipher_pdu(self, apdu: bytes) -> CipheredPdu:
        hls = self.hls
        assert hls is not None
        pdu = cipher_pdu(
            apdu,
            keys=hls.keys,
            system_title=hls.system_title,
            invocation_counter=self.invocation_counter,
        )
        self.invocation_counter += 1
        return pdu

    def _protect(self, apdu: bytes) -> bytes:
        """Glo-cipher a service request under HLS; plain otherwise."""
        return self._cipher_pdu(apdu).to_bytes() if self.hls is not None else apdu

    def _unprotect(self, parsed: Apdu, kind: str) -> Apdu:
        """Decipher a glo-ciphered answer from the server, refusing replays."""
        hls = self.hls
        if not isinstance(parsed, CipheredPdu):
            if (
                hls is not None
                and kind in ("get", "set", "action", "hls")
                and not isinstance(parsed, ExceptionResponse)
            ):
                raise MalformedData("a plain answer inside a ciphered association")
            return parsed
        title = self.server_system_title
        if hls is None or title is None:
            raise MalformedData("a ciphered answer outside a ciphered association")
        last = self._server_counter
        if last is not None and parsed.invocation_counter <= last:
            raise ReplayedFrame(
                system_title=title,
                invocation_counter=parsed.invocation_counter,
                last_accepted=last,
            )
        plain = decipher_pdu(parsed, keys=hls.keys, system_title=title)
        self._server_counter = parsed.invocation_counter
        return parse_apdu(plain)

    def _on_hls_aare(self, aare: Aare) -> list[SessionEvent]:
        hls = self.hls
        assert hls is not None
        pending = (
            aare.diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED
            and aare.mechanism_name == MECHANISM_HLS_GMAC
            and aare.responding_ap_title is not None
            and len(aare.responding_ap_title) == 8
            and aare.authentication_value is not None
            and isinstance(aare.user_information, CipheredPdu)
        )
        if not pending:
            self.state = AssociationState.IDLE
            return [ExchangeFailed(MalformedData("the AARE does not continue HLS-GMAC"))]
        assert aare.responding_ap_title is not None
        assert aare.authentication_value is not None
        assert isinstance(aare.user_information, CipheredPdu)
        self.server_system_title = aare.responding_ap_title
        self._server_challenge = aare.authentication_value
        try:
            initiate = parse_initiate_response(
                self._unprotect_initiate(aare.user_information, hls.keys)
            )
        except RemoteProtocolError as error:
            self.state = AssociationState.IDLE
            return [ExchangeFailed(error)]
        self.negotiated = initiate.conformance
        self.server_max_receive_pdu_size = initiate.server_max_receive_pdu_size
        self._aare = aare
        self._pending = ("hls", None)
        return []

    def _unprotect_initiate(self, pdu: CipheredPdu, keys: Keys) -> bytes:
        assert self.server_system_title is not None
        plain = decipher_pdu(pdu, keys=keys, system_title=self.server_system_title)
        self._server_counter = pdu.invocation_counter
        return plain

    def _hls_reply(self) -> bytes:
        """Pass 3: the action-request carrying f(StoC)."""
        hls = self.hls
        assert hls is not None
        answer = hls_gmac_response(
            keys=hls.keys,
            system_title=hls.system_title,
            invocation_counter=self.invocation_counter,
            challenge=self._server_challenge,
        )
        self.invocation_counter += 1
        request = ActionRequestNormal(
            _REPLY_TO_HLS, Data(DataType.OCTET_STRING, answer), self._next_invoke()
        )
        return self._cipher_pdu(request.to_bytes()).to_bytes()

    def _on_hls_reply(self, response: ActionResponseNormal) -> list[SessionEvent]:
        """Pass 4: the server's f(CtoS) must verify, or the association fails."""
        hls = self.hls
        self._pending = None
        returned = response.return_parameters
        title = self.server_system_title
        aare = self._aare
        try:
            if (
                hls is None
                or title is None
                or aare is None
                or response.result is not ActionResult.SUCCESS
                or not isinstance(returned, Data)
                or returned.type != DataType.OCTET_STRING
            ):
                raise AuthenticationFailed("the server refused our HLS-GMAC reply")
            verify_hls_gmac_response(
                returned.value, keys=hls.keys, system_title=title, challenge=hls.challenge
            )
        except AuthenticationFailed as error:
            self.state = AssociationState.IDLE
            return [ExchangeFailed(error)]
        self.state = AssociationState.ASSOCIATED
        return [Associated(self.negotiated, self.server_max_receive_pdu_size, aare)]

    def _on_block(
        self, attribute: AttributeDescriptor, block: GetResponseWithDatablock
    ) -> tuple[list[SessionEvent], bytes | None]:
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
            return [], request.to_bytes()
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


type ClientEvent = SessionEvent | LinkConnected | LinkDisconnected | FrameRejected


class DlmsClient:
    """The session over the HDLC link: what the gateway's optical-port adapter drives.

    Typical use: ``connect`` → :class:`LinkConnected`; ``associate`` → :class:`Associated`;
    ``get``/``set``/``action`` → one outcome event each; ``release`` → :class:`Released`;
    ``disconnect`` → :class:`LinkDisconnected`. After every call, write ``data_to_send()``.
    """

    def __init__(
        self,
        *,
        client: int = 19,
        server: HdlcAddress | None = None,
        password: bytes | None = None,
        conformance: Conformance = DEFAULT_CONFORMANCE,
        parameters: LinkParameters | None = None,
        response_timeout: float = 2.0,
        hls: HlsGmac | None = None,
    ) -> None:
        self.link = ClientLink(
            client=client,
            server=server or HdlcAddress(16),
            parameters=parameters,
            response_timeout=response_timeout,
        )
        self.session = ClientSession(password=password, conformance=conformance, hls=hls)

    @property
    def next_deadline(self) -> float | None:
        """When :meth:`timer` must next run."""
        return self.link.next_deadline

    @property
    def connected(self) -> bool:
        """Whether the HDLC link is up."""
        return self.link.state is LinkState.CONNECTED

    def data_to_send(self) -> bytes:
        """Bytes for the port."""
        return self.link.data_to_send()

    def connect(self, now: float) -> None:
        """Open the HDLC link (SNRM)."""
        self.link.connect(now)

    def disconnect(self, now: float) -> None:
        """Close the HDLC link (DISC); the association ends with it."""
        self.session.reset()
        self.link.disconnect(now)

    def associate(self, now: float) -> None:
        """Send the AARQ."""
        self.link.send_apdu(self.session.associate(), now)

    def get(
        self, attribute: AttributeDescriptor, now: float, access: SelectiveAccess | None = None
    ) -> None:
        """Read one attribute."""
        self.link.send_apdu(self.session.get(attribute, access), now)

    def set(self, attribute: AttributeDescriptor, value: Data, now: float) -> None:
        """Write one attribute."""
        self.link.send_apdu(self.session.set(attribute, value), now)

    def action(self, method: MethodDescriptor, now: float, parameters: Data | None = None) -> None:
        """Invoke one method."""
        self.link.send_apdu(self.session.action(method, parameters), now)

    def release(self, now: float) -> None:
        """Send the RLRQ."""
        self.link.send_apdu(self.session.release(), now)

    def receive_data(self, data: bytes, now: float) -> list[ClientEvent]:
        """Events for the bytes; block transfer continues on its own."""
        return self._session_events(self.link.receive_data(data, now), now)

    def timer(self, now: float) -> list[ClientEvent]:
        """Run the link's response timeout."""
        return self._session_events(self.link.timer(now), now)

    def _session_events(self, link_events: list[LinkEvent], now: float) -> list[ClientEvent]:
        events: list[ClientEvent] = []
        for event in link_events:
            if isinstance(event, ApduReceived):
                session_events, follow_up = self.session.receive_apdu(event.apdu)
                events += session_events
                if follow_up is not None:
                    self.link.send_apdu(follow_up, now)
            elif isinstance(event, LinkDisconnected):
                self.session.reset()
                events.append(event)
            else:
                events.append(event)
        return events
