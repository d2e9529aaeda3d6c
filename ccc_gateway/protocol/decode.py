"""One-call decoding for tools, tests and benchmarks, and the streaming :class:`PushDecoder`.

Order of checks (docs/gateway.md): flags, format, length, HCS, FCS, segmentation, LLC, the
meter's security policy (no plaintext once keys are configured; no tag-less 0x20 unless the
meter opted in; the meter's HDLC route), APDU structure, GCM tag, invocation counter; a value
exists only once all of them passed. Every failure raises one of the named errors of
:mod:`.errors`, nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .apdu import (
    LLC_RESPONSE,
    ApduTag,
    parse_ciphered_apdu,
    parse_data_notification,
    parse_general_ciphering,
    strip_llc,
)
from .cipher import SC_AUTHENTICATED, Keys, SecurityContext, SecurityPolicy, decrypt
from .errors import (
    DecryptionFailed,
    FrameTruncated,
    MalformedData,
    OmnipowerError,
    PlaintextRefused,
    RemoteProtocolError,
    SegmentationError,
    UnknownApdu,
    UnknownListVersion,
)
from .events import FrameRejected, PushReceived
from .frame_reader import DEFAULT_MAX_FRAME_LENGTH, FrameReader
from .hdlc import HdlcFrame, HdlcRoute, parse_frame, route_of
from .push import DEFAULT_RESOLUTION, Push, Resolution, interpret_body
from .push_fast import fast_push
from .segments import Reassembler

if TYPE_CHECKING:
    from .p1 import P1TelegramReader

__all__ = ["PushDecoder", "decode_apdu", "decode_frame", "decode_information"]


def decode_apdu(
    apdu: bytes, *, resolution: Resolution = DEFAULT_RESOLUTION, trace: list[str] | None = None
) -> Push:
    """Readings of an already-decrypted data-notification APDU (tag 0x0F)."""
    if trace is None and type(apdu) is bytes:
        push = fast_push(apdu, resolution)
        if push is not None:
            return push
    notification = parse_data_notification(apdu)
    if trace is not None:
        trace.append(
            f"APDU: data-notification, invoke-id {notification.long_invoke_id_and_priority:#010x}"
            + (f", date-time {notification.date_time}" if notification.date_time else "")
        )
    push = interpret_body(
        notification.body, apdu_datetime=notification.date_time, resolution=resolution
    )
    if trace is not None:
        trace.append(
            f"list: {push.list_kind.value} ({push.list_version}), {push.phases}-phase, "
            f"{len(push.readings)} values, {push.null_placeholders} null-data placeholders"
        )
    return push


def _keys(encryption_key: bytes | None, authentication_key: bytes | None) -> Keys | None:
    if encryption_key is None:
        return None
    try:
        return Keys(encryption_key, authentication_key)
    except ValueError as exc:
        raise DecryptionFailed(str(exc)) from None


def decode_information(
    information: bytes,
    *,
    security: SecurityContext | None = None,
    resolution: Resolution = DEFAULT_RESOLUTION,
    route: HdlcRoute | None = None,
    trace: list[str] | None = None,
) -> Push:
    """Readings of an HDLC information field (LLC + APDU, plaintext or ciphered).

    *route* is the HDLC header the field arrived under; *security* holds it to the meter's.
    """
    context = security if security is not None else SecurityContext(keys=None)
    apdu = strip_llc(information)
    if trace is not None:
        trace.append("LLC: E6 E7 00 ok")
    if not apdu:
        raise MalformedData("the frame carries no APDU")
    tag = apdu[0]
    if tag == ApduTag.DATA_NOTIFICATION:
        context.check_plaintext()
        if trace is not None:
            trace.append("security: plaintext push, accepted because no keys are configured")
        return decode_apdu(apdu, resolution=resolution, trace=trace)
    if tag == ApduTag.GENERAL_CIPHERING:
        general = parse_general_ciphering(apdu)
        raise DecryptionFailed(
            "general-ciphering (0xDD) with key transport is not used by OMNIPOWER pushes; "
            f"security control {general.security_control:#04x}, "
            f"IC {general.invocation_counter}"
        )
    if tag not in (ApduTag.GENERAL_GLO_CIPHERING, ApduTag.GENERAL_DED_CIPHERING):
        raise UnknownApdu(tag)
    envelope = parse_ciphered_apdu(apdu)
    if trace is not None:
        trace.append(
            f"ciphering: {ApduTag(tag).name.lower().replace('_', '-')}, system title "
            f"{envelope.system_title.hex().upper()}, SC {envelope.security_control:#04x}, "
            f"IC {envelope.invocation_counter}"
        )
    context.check_envelope(envelope.security_control, route)
    if trace is not None and context.keys is not None:
        trace.append(_policy_line(context, envelope.security_control, route))
    context.check(envelope.system_title, envelope.invocation_counter)
    plaintext = decrypt(
        envelope.payload,
        keys=context.keys,
        system_title=envelope.system_title,
        invocation_counter=envelope.invocation_counter,
        security_control=envelope.security_control,
    )
    if trace is not None:
        trace.append(
            "GCM tag ok (12 bytes)" if envelope.security_control & 0x10 else "decrypted (no tag)"
        )
    try:
        push = decode_apdu(plaintext, resolution=resolution, trace=trace)
    except (MalformedData, UnknownApdu, UnknownListVersion) as exc:
        if envelope.security_control & 0x10:
            raise
        # Encryption without authentication: a wrong key yields garbage, not a tag failure.
        raise DecryptionFailed(f"decrypted content does not parse ({exc}): wrong key?") from exc
    context.accept(envelope.system_title, envelope.invocation_counter, route)
    if trace is not None:
        trace.append(f"invocation counter {envelope.invocation_counter} accepted (newer)")
    return Push(
        push.list_version,
        push.list_kind,
        push.phases,
        push.apdu_datetime,
        push.readings,
        push.null_placeholders,
        envelope.system_title,
        envelope.invocation_counter,
        push.checks,
    )


def _policy_line(context: SecurityContext, security_control: int, route: HdlcRoute | None) -> str:
    """How the policy judged a ciphered frame, for ``omnipower decode``'s explanation."""
    if security_control & SC_AUTHENTICATED:
        verdict = f"security control {security_control:#04x} is authenticated (GCM tag)"
    else:
        verdict = (
            f"security control {security_control:#04x} is encryption only (no tag), accepted "
            "because this meter opted in (security = encryption_only): its values are not "
            "protected against changes on the wire"
        )
    where = (
        "HDLC route not checked (no earlier frame)"
        if context.route is None or route is None
        else "HDLC route is the meter's"
    )
    return f"security: policy {context.policy.value}; {verdict}; {where}"


def decode_frame(
    frame: bytes,
    *,
    encryption_key: bytes | None = None,
    authentication_key: bytes | None = None,
    policy: SecurityPolicy = SecurityPolicy.AUTHENTICATED,
    resolution: Resolution = DEFAULT_RESOLUTION,
    security: SecurityContext | None = None,
    trace: list[str] | None = None,
) -> Push:
    """Decode one complete push: an HDLC frame (flags included) or a HAN P1 telegram.

    Keys may be passed directly (with the meter's *policy*), or through *security* (which also
    guards against replays and learns the meter's HDLC route across calls). With keys, a
    plaintext push raises :class:`PlaintextRefused`; without the ``ENCRYPTION_ONLY`` opt-in a
    tag-less ciphered one raises :class:`UnauthenticatedRefused`. A frame with the HDLC
    segmentation bit is one part of a longer APDU, never a push: :class:`SegmentationError`
    (feed the stream to :class:`PushDecoder`, which reassembles). Raises only the named errors
    of :mod:`.errors`.
    """
    try:
        if frame[:1] == b"/":
            from .p1 import parse_telegram  # HAN P1 meters only: keeps ``re`` unloaded

            push = parse_telegram(frame)
            if trace is not None:
                trace.append("HAN P1 telegram: CRC-16 ok")
            # A P1 telegram is always in clear: a meter with keys never sends one.
            if security is not None:
                security.check_plaintext()
            elif encryption_key is not None:
                raise PlaintextRefused("HAN P1 telegram refused: this meter has keys configured")
            return push
        hdlc = parse_frame(frame)
        if trace is not None:
            trace.extend(
                [
                    f"flags: 7E ... 7E, format type 3, length {len(frame) - 2} ok",
                    f"addresses: destination {hdlc.destination.logical}, "
                    f"source {hdlc.source.logical}, control {hdlc.control:#04x}",
                    "HCS ok" if hdlc.information else "no information field",
                    "FCS ok",
                ]
            )
        if hdlc.segmented:
            raise SegmentationError(
                "the frame has the HDLC segmentation bit set: it is one segment of a longer "
                "APDU, never a complete push"
            )
        if security is None:
            security = SecurityContext(
                keys=_keys(encryption_key, authentication_key), policy=policy
            )
        return decode_information(
            hdlc.information,
            security=security,
            resolution=resolution,
            route=route_of(hdlc),
            trace=trace,
        )
    except OmnipowerError:
        raise
    except Exception as exc:  # pragma: no cover - the property tests hold this unreachable
        raise MalformedData(f"undecodable frame: {type(exc).__name__}: {exc}") from exc


class PushDecoder:
    """CCC bytes in, events out: every push that passed all checks, or why a frame did not.

    *security* carries the meter's keys, policy and HDLC route (learned from the first push
    that passed every check when not configured). No I/O, no clock, no logging; the adapter
    logs and counts the events.
    """

    def __init__(
        self,
        *,
        security: SecurityContext | None = None,
        resolution: Resolution = DEFAULT_RESOLUTION,
        p1: bool = False,
        max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH,
    ) -> None:
        self._security = security if security is not None else SecurityContext(keys=None)
        self._resolution = resolution
        self._frames = FrameReader(max_length=max_frame_length)
        self._segments = Reassembler()
        self._telegrams: P1TelegramReader | None = None
        if p1:
            from .p1 import P1TelegramReader

            self._telegrams = P1TelegramReader()

    @property
    def discarded_bytes(self) -> int:
        """Bytes outside any frame so far."""
        return self._frames.discarded_bytes

    def receive_data(self, data: bytes) -> list[PushReceived | FrameRejected]:
        """Events for every frame completed by *data*, in stream order."""
        if self._telegrams is not None:
            return [self._telegram_event(t) for t in self._telegrams.receive_data(data)]
        events: list[PushReceived | FrameRejected] = []
        for event in self._frames.receive_data(data):
            if isinstance(event, FrameRejected):
                events.append(event)
            else:
                self._frame_events(event.frame, event.raw, events)
        return events

    def _frame_events(
        self, frame: HdlcFrame, raw: bytes, events: list[PushReceived | FrameRejected]
    ) -> None:
        """Reassemble (Green Book 8.4.1.3) and decode; a broken assembly costs no good frame.

        Segments that never form an APDU are rejected by name; a complete frame that arrived
        in their middle (it starts with the LLC header and has no S bit) is decoded on its own,
        so injected segments in front of a genuine push cannot make it be lost.
        """
        assembled = self._segments.pending
        try:
            information = self._segments.feed(frame)
        except RemoteProtocolError as error:
            events.append(FrameRejected(error, raw))
            assembled = False
            try:
                information = self._segments.feed(frame)  # start afresh with this frame
            except RemoteProtocolError as again:  # pragma: no cover - feed just reset
                events.append(FrameRejected(again, raw))
                return
        if information is None:
            return  # more segments to come
        route = route_of(frame)
        try:
            push = self._decode(information, route)
        except RemoteProtocolError as error:
            if not assembled:
                events.append(FrameRejected(error, raw))
                return
            events.append(
                FrameRejected(
                    SegmentationError(
                        f"the segmented APDU does not decode ({error.code}: {error})"
                    ),
                    raw,
                )
            )
            if not frame.information.startswith(LLC_RESPONSE):
                return
            try:
                push = self._decode(frame.information, route)
            except RemoteProtocolError as alone:
                events.append(FrameRejected(alone, raw))
                return
        events.append(PushReceived(push, raw))

    def _decode(self, information: bytes, route: HdlcRoute) -> Push:
        return decode_information(
            information, security=self._security, resolution=self._resolution, route=route
        )

    def flush(self) -> list[FrameRejected]:
        """The line went quiet: report a partial frame (or segmented APDU) as truncated."""
        events = self._frames.flush()
        if self._segments.pending:
            self._segments.reset()
            events.append(
                FrameRejected(FrameTruncated("segmented APDU ended before its last segment"), b"")
            )
        return events

    def _telegram_event(
        self, telegram: bytes | RemoteProtocolError
    ) -> PushReceived | FrameRejected:
        if isinstance(telegram, RemoteProtocolError):
            return FrameRejected(telegram, b"")
        from .p1 import parse_telegram

        try:
            push = parse_telegram(telegram)
            self._security.check_plaintext()  # keys configured: a clear telegram is forgeable
            return PushReceived(push, telegram)
        except RemoteProtocolError as error:
            return FrameRejected(error, telegram)
