"""The client's side of an HLS-GMAC association (Green Book 9.2.7.4, mechanism 5).

Pass 1, AARQ: our system title, our challenge CtoS, a glo-ciphered InitiateRequest. Pass 2,
AARE: accepted with authentication-required, the meter's title, its challenge StoC, a
glo-ciphered InitiateResponse. Pass 3: reply_to_HLS_authentication (class 15 method 1) with
f(StoC) = SC || IC || GMAC(SC || AK || StoC); pass 4: the meter's f(CtoS) must verify. Every
later APDU is ciphered both ways, and the meter's invocation counter must grow: with
general-glo-ciphering when the meter grants the general-protection conformance bit (the form
the public OMNIPOWER hints name, [GB] 9.2.7.4), else with the service-specific glo- tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..axdr import Data, DataType
from ..cipher import Keys
from ..errors import AuthenticationFailed, MalformedData, ReplayedFrame
from .acse import Aare, Aarq
from .action import ActionRequestNormal, ActionResponseNormal
from .ciphering import (
    CipheredPdu,
    cipher_pdu,
    decipher_pdu,
    hls_gmac_response,
    verify_hls_gmac_response,
)
from .codec import Apdu, parse_apdu
from .descriptors import MethodDescriptor
from .enums import (
    LN_REFERENCING_CIPHERED,
    MECHANISM_HLS_GMAC,
    AcseServiceUserDiagnostic,
    ActionResult,
)
from .initiate import InitiateRequest, InitiateResponse, parse_initiate_response
from .refusal import ExceptionResponse

__all__ = ["REPLY_TO_HLS", "HlsClient", "HlsGmac"]

#: The current association object's reply_to_HLS_authentication (Blue Book class 15).
REPLY_TO_HLS: Final = MethodDescriptor.of(15, "0.0.40.0.0.255", 1)


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


class HlsClient:
    """Our titles, counters and challenges for one association at a time."""

    def __init__(self, settings: HlsGmac) -> None:
        self.settings = settings
        #: The next invocation counter we use (the caller persists it between sessions).
        self.invocation_counter = settings.invocation_counter
        self.server_system_title: bytes | None = None
        self.server_counter: int | None = None
        self.server_challenge = b""
        #: Whether requests go general-glo-ciphered (set once the meter granted the bit).
        self.general = False

    def aarq(self, initiate: InitiateRequest) -> Aarq:
        """Pass 1."""
        self.server_system_title = None
        self.server_counter = None
        self.general = False  # the AARQ's InitiateRequest is always glo-ciphered (tag 21)
        return Aarq(
            self._cipher(initiate.to_bytes()),
            application_context_name=LN_REFERENCING_CIPHERED,
            calling_ap_title=self.settings.system_title,
            mechanism_name=MECHANISM_HLS_GMAC,
            authentication_value=self.settings.challenge,
        )

    def accept_aare(self, aare: Aare) -> InitiateResponse:
        """Pass 2: the deciphered InitiateResponse; MalformedData if the AARE is not HLS's."""
        title = aare.responding_ap_title
        challenge = aare.authentication_value
        pdu = aare.user_information
        if (
            aare.diagnostic is not AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED
            or aare.mechanism_name != MECHANISM_HLS_GMAC
            or title is None
            or len(title) != 8
            or challenge is None
            or not isinstance(pdu, CipheredPdu)
        ):
            raise MalformedData("the AARE does not continue HLS-GMAC")
        self.server_system_title = title
        self.server_challenge = challenge
        plain = decipher_pdu(pdu, keys=self.settings.keys, system_title=title)
        self.server_counter = pdu.invocation_counter
        return parse_initiate_response(plain)

    def reply_request(self, invoke_id_and_priority: int) -> bytes:
        """Pass 3: the glo-ciphered action-request carrying f(StoC)."""
        answer = hls_gmac_response(
            keys=self.settings.keys,
            system_title=self.settings.system_title,
            invocation_counter=self.invocation_counter,
            challenge=self.server_challenge,
        )
        self.invocation_counter += 1
        request = ActionRequestNormal(
            REPLY_TO_HLS, Data(DataType.OCTET_STRING, answer), invoke_id_and_priority
        )
        return self.protect(request.to_bytes())

    def verify_reply(self, response: ActionResponseNormal) -> None:
        """Pass 4: AuthenticationFailed unless the meter's f(CtoS) verifies."""
        returned = response.return_parameters
        title = self.server_system_title
        if (
            title is None
            or response.result is not ActionResult.SUCCESS
            or not isinstance(returned, Data)
            or returned.type != DataType.OCTET_STRING
        ):
            raise AuthenticationFailed("the meter refused our HLS-GMAC reply")
        verify_hls_gmac_response(
            returned.value,
            keys=self.settings.keys,
            system_title=title,
            challenge=self.settings.challenge,
        )

    def protect(self, apdu: bytes) -> bytes:
        """A request, glo-ciphered with our title and next counter."""
        return self._cipher(apdu).to_bytes()

    def unprotect(self, parsed: Apdu, *, ciphered_expected: bool) -> Apdu:
        """The plain answer; refuses replays and plain answers where ciphered ones are due."""
        if not isinstance(parsed, CipheredPdu):
            if ciphered_expected and not isinstance(parsed, ExceptionResponse):
                raise MalformedData("a plain answer inside a ciphered association")
            return parsed
        title = self.server_system_title
        if title is None:
            raise MalformedData("a ciphered answer before the meter's title is known")
        last = self.server_counter
        if last is not None and parsed.invocation_counter <= last:
            raise ReplayedFrame(
                system_title=title,
                invocation_counter=parsed.invocation_counter,
                last_accepted=last,
            )
        plain = decipher_pdu(parsed, keys=self.settings.keys, system_title=title)
        self.server_counter = parsed.invocation_counter
        return parse_apdu(plain)

    def _cipher(self, apdu: bytes) -> CipheredPdu:
        pdu = cipher_pdu(
            apdu,
            keys=self.settings.keys,
            system_title=self.settings.system_title,
            invocation_counter=self.invocation_counter,
            general=self.general,
        )
        self.invocation_counter += 1
        return pdu
