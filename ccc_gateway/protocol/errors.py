"""Every way a frame can fail has a name.

One tree under :class:`OmnipowerError`. As in h11, *remote* errors (bytes from the meter we must
not trust) are split from *local* ones (we misused the protocol). The decoder raises nothing
else on any input: the property tests feed it random bytes to hold it to that.

Each error carries a stable ``code`` (snake case) used as the counter name on the diagnostics
topic, and a ``hint`` a person can act on.
"""

from __future__ import annotations

__all__ = [
    "AddressMismatch",
    "AssociationRejected",
    "AuthenticationFailed",
    "ChecksumMismatch",
    "DecryptionFailed",
    "FcsError",
    "FrameTooLong",
    "FrameTruncated",
    "HcsError",
    "InvalidFrameFormat",
    "InvalidLlc",
    "KeysSwapped",
    "LinkProtocolError",
    "LinkTimeout",
    "LocalProtocolError",
    "MalformedData",
    "MissingKey",
    "OmnipowerError",
    "PlaintextRefused",
    "PolicyRefused",
    "RemoteProtocolError",
    "ReplayedFrame",
    "SegmentationError",
    "ServiceRefused",
    "UnauthenticatedRefused",
    "UnknownApdu",
    "UnknownListVersion",
]


class OmnipowerError(Exception):
    """Base of every error this project raises on purpose."""

    code: str = "error"
    hint: str = ""


class RemoteProtocolError(OmnipowerError):
    """The meter (or the wire) sent bytes we must not trust."""


class LocalProtocolError(OmnipowerError):
    """We asked for something the protocol forbids (a bug on our side or a bad argument)."""

    code = "local_protocol_error"


class ChecksumMismatch(RemoteProtocolError):
    """A check sequence that does not match the bytes it covers."""

    #: What the check sequence is called in messages ("HCS", "FCS").
    check = "checksum"
    covers = "bytes"

    def __init__(self, *, computed: int, received: int) -> None:
        self.computed = computed
        self.received = received
        super().__init__(
            f"{self.check} mismatch: frame carries {received:#06x}, "
            f"{self.covers} give {computed:#06x}"
        )


class HcsError(ChecksumMismatch):
    """The header check sequence does not match: the frame header is corrupt."""

    code = "hcs_error"
    hint = "Line noise or wrong serial settings: the CCC port runs at 2400 8N1."
    check = "HCS"
    covers = "header bytes"


class FcsError(ChecksumMismatch):
    """The frame check sequence does not match: some byte of the frame is corrupt."""

    code = "fcs_error"
    hint = "Line noise or wrong serial settings: the CCC port runs at 2400 8N1."
    check = "FCS"
    covers = "frame bytes"


class FrameTruncated(RemoteProtocolError):
    """Fewer bytes arrived than the frame (or a field inside it) announced."""

    code = "frame_truncated"
    hint = "The frame was cut off: a loose connection, or the reader started mid-frame."


class FrameTooLong(RemoteProtocolError):
    """A length field announces more than the protocol allows, so we have lost sync."""

    code = "frame_too_long"
    hint = "The stream is out of sync or not HDLC at all: check the port and baud rate."


class InvalidFrameFormat(RemoteProtocolError):
    """The bytes are not an HDLC type-3 frame (flags, format type or addresses are wrong)."""

    code = "invalid_frame_format"
    hint = "Not an HDLC frame: check that this is the meter's CCC/HAN port at 2400 8N1."


class InvalidLlc(RemoteProtocolError):
    """The LLC header is not E6 E7 00 (or E6 E6 00 for requests)."""

    code = "invalid_llc"
    hint = "The frame is not a DLMS push: check the port."


class UnknownApdu(RemoteProtocolError):
    """The APDU tag is one we do not decode."""

    code = "unknown_apdu"
    hint = "The meter sends an APDU this version does not decode: please report it with the frame."

    def __init__(self, tag: int) -> None:
        self.tag = tag
        super().__init__(f"unknown APDU tag {tag:#04x}")


class AuthenticationFailed(RemoteProtocolError):
    """The GCM tag does not verify with the configured keys."""

    code = "authentication_failed"
    hint = (
        "Wrong keys: check the encryption key (KeyType 64) and authentication key (KeyType 65) "
        "from your grid operator."
    )


class KeysSwapped(AuthenticationFailed):
    """The tag verifies only with the two keys exchanged: the configuration has them swapped."""

    code = "keys_swapped"
    hint = (
        "The encryption and authentication keys are swapped in the configuration: "
        "KeyType 64 is the encryption key, KeyType 65 the authentication key."
    )


class DecryptionFailed(RemoteProtocolError):
    """Ciphered content that cannot be decrypted (encryption-only mode yields garbage)."""

    code = "decryption_failed"
    hint = "Wrong encryption key (KeyType 64), or the ciphered content is corrupt."


class MissingKey(DecryptionFailed):
    """The frame is encrypted and no key was configured, so it cannot be decrypted."""

    code = "missing_key"
    hint = (
        "The meter encrypts its push: ask the grid operator for the HAN keys "
        "(KeyType 64 = encryption key, 65 = authentication key) and configure both."
    )


class ReplayedFrame(RemoteProtocolError):
    """The invocation counter is not newer than the last accepted one for this system title."""

    code = "replayed_frame"
    hint = (
        "A frame was sent again (replay) or the meter's counter went back: nothing was published."
    )

    def __init__(self, *, system_title: bytes, invocation_counter: int, last_accepted: int) -> None:
        self.system_title = system_title
        self.invocation_counter = invocation_counter
        self.last_accepted = last_accepted
        super().__init__(
            f"invocation counter {invocation_counter} from {system_title.hex().upper()} is not "
            f"newer than the last accepted {last_accepted}"
        )


class PolicyRefused(RemoteProtocolError):
    """The frame may be well formed, but this meter's security policy does not accept it.

    The push travels over a wire anyone can tap into: with keys configured, only frames that
    prove they come from the meter may set values (docs/gateway.md, Integrity).
    """

    code = "policy_refused"


class PlaintextRefused(PolicyRefused):
    """A plaintext data-notification arrived for a meter that has keys configured."""

    code = "plaintext_refused"
    hint = (
        "This meter has keys configured, so plaintext pushes are refused (anyone on the wire "
        "could have written it). If the meter really sends in clear, remove its keys."
    )


class UnauthenticatedRefused(PolicyRefused):
    """A ciphered push without a GCM tag (security control 0x20) under the strict policy."""

    code = "unauthenticated_refused"
    hint = (
        "The push is encrypted but not authenticated (security control 0x20): its values can "
        "be changed on the wire without the key. If this meter really sends encryption-only "
        'pushes, set security = "encryption_only" for it (omnipower decode: '
        "--security encryption_only)."
    )


class AddressMismatch(RemoteProtocolError):
    """An encrypted frame's HDLC addresses or control byte differ from the meter's.

    The HDLC header is not covered by the GCM tag, so it is held to the meter's own: the
    configured one, or the one of the first frame that passed every check.
    """

    code = "address_mismatch"
    hint = (
        "The frame's HDLC addresses or control byte differ from this meter's: another sender "
        "on the line, or a tampered frame. Nothing was published."
    )


class SegmentationError(RemoteProtocolError):
    """A segmented HDLC frame (S bit, Green Book 8.4.1.3) that cannot form a complete APDU."""

    code = "segmentation_error"
    hint = (
        "A frame announced more segments that never completed the APDU (OMNIPOWER pushes are "
        "never segmented): a tampered or broken stream. Nothing was published."
    )


class MalformedData(RemoteProtocolError):
    """The APDU passed every check but its A-XDR content does not parse."""

    code = "malformed_data"
    hint = "The frame content is not valid A-XDR: please report it with the frame."


class UnknownListVersion(RemoteProtocolError):
    """The push content is not a list this decoder recognises."""

    code = "unknown_list_version"
    hint = "The meter pushes a list this version does not know: please report it with the frame."


# --- the optical port's DLMS/COSEM session (HDLC link, association, services) -----------------


class LinkProtocolError(RemoteProtocolError):
    """The peer broke the HDLC link procedure (FRMR, DM, wrong sequence numbers, bad fields)."""

    code = "link_protocol_error"
    hint = "The HDLC link was refused or broken: check the client and server addresses."


class LinkTimeout(RemoteProtocolError):
    """The peer did not answer within the response timeout, after every retry."""

    code = "link_timeout"
    hint = "The meter does not answer: check the optical head's position and 9600 8N1."


class AssociationRejected(RemoteProtocolError):
    """The AARE refused the association; ``result`` and ``diagnostic`` are the AARE's codes."""

    code = "association_rejected"
    hint = "The meter refused the association: check the client address and the LLS password."

    def __init__(self, message: str, *, result: int, diagnostic: int) -> None:
        self.result = result
        self.diagnostic = diagnostic
        super().__init__(message)


class ServiceRefused(RemoteProtocolError):
    """The peer answered a request with exception-response or confirmed-service-error."""

    code = "service_refused"
    hint = "The meter refused the request: the association may lack the right to it."
