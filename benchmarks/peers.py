"""Our decoder and the three peers behind one small interface.

Each decoder turns one complete frame (flags included) into the values it carries, through the
library's public API used the way its documentation shows:

* **omnipower**: ``ccc_gateway.protocol.decode_frame`` (HCS/FCS, LLC, AES-GCM with tag check,
  list recognition, OBIS names, scalers and units, scaled values).
* **amshan**: ``han.hdlc.HdlcFrameReader.read`` then ``han.autodecoder.AutoDecoder.decode_message``
  (its README's "parse frames directly from raw bytes" and "decode" sections): HCS/FCS, a
  Kamstrup list decoder with a fixed scaling table, named values. No decryption.
* **dlms-cosem**: ``hdlc.frames.UnnumberedInformationFrame.from_bytes``,
  ``protocol.xdlms.GeneralGlobalCipher.from_bytes`` + ``security.decrypt`` for a ciphered APDU,
  ``protocol.xdlms.DataNotification.from_bytes`` and ``utils.parse_as_dlms_data`` (its
  ``examples/parse_norwegian_han.py``): HCS/FCS, AES-GCM with tag check, raw values only.
* **gurux-dlms**: ``secure.GXDLMSSecureClient.getData`` on a ``GXByteBuffer`` with a notify
  ``GXReplyData`` and the keys in ``client.ciphering`` (its push-listener usage): HCS/FCS,
  decryption, raw values only. It prints to stdout when it decrypts, so its calls run with
  stdout redirected to a sink (that cost is its own).

Libraries are imported in :meth:`Decoder.load`, not at module import, so that the footprint
probes (``benchmarks.footprint``) can import this module in a bare interpreter and measure one
library at a time. Every peer's output is reduced to ``{OBIS "A.B.C.D.E.F": value}`` by
:meth:`Decoder.readings`, outside the timed call, to check it against ours.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: the probes keep ``typing`` unloaded
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["DECODERS", "Decoder", "Unsupported", "decoder"]

LIST_VERSION = "1.1.0.2.129.255"


class Unsupported(Exception):
    """The decoder cannot decode this frame (no decryption, unknown objects, …)."""


def _obis_text(code: bytes | bytearray) -> str:
    return ".".join(str(b) for b in code)


def _pairs(items: Any) -> dict[str, Any]:
    """A flat push body (version id, then OBIS/value pairs, null pairs skipped) by OBIS."""
    values = list(items)
    out: dict[str, Any] = {LIST_VERSION: values[0]}
    for code, value in zip(values[1::2], values[2::2], strict=True):
        if code is not None:
            out[_obis_text(code)] = bytes(value) if isinstance(value, bytearray) else value
    return out


class Decoder:
    """One decoder: how to load it, bind it to a frame, and read back its values."""

    name = ""
    distribution = ""
    #: True when :meth:`readings` gives scaled values (compared with ours' ``.value``),
    #: False when it gives the raw wire values (compared with ours' ``.raw``).
    scaled = False
    summary = ""

    def version(self) -> str:
        from importlib import metadata

        return metadata.version(self.distribution)

    def load(self) -> None:
        """Import the library (what the footprint probes measure)."""
        raise NotImplementedError

    def bind(
        self, data: bytes, encryption_key: bytes | None, authentication_key: bytes | None
    ) -> Callable[[], Any]:
        """A call that decodes *data* completely each time; raises :class:`Unsupported`."""
        raise NotImplementedError

    def readings(self, result: Any) -> dict[str, Any]:
        """The values of one call's result by OBIS code."""
        raise NotImplementedError


class Omnipower(Decoder):
    name = "omnipower"
    distribution = "omnipower"
    scaled = True
    summary = "HCS/FCS, GCM decrypt + tag check, list recognised, OBIS names, scalers, units"

    def load(self) -> None:
        from ccc_gateway import protocol

        self._decode = protocol.decode_frame

    def bind(
        self, data: bytes, encryption_key: bytes | None, authentication_key: bytes | None
    ) -> Callable[[], Any]:
        decode = self._decode

        def call() -> Any:
            return decode(
                data, encryption_key=encryption_key, authentication_key=authentication_key
            )

        return call

    def readings(self, result: Any) -> dict[str, Any]:
        return {code: reading.value for code, reading in result.readings.items()}


class Amshan(Decoder):
    name = "amshan"
    distribution = "amshan"
    scaled = True
    summary = "HCS/FCS, fixed Kamstrup scaling table, named values; no decryption"

    def load(self) -> None:
        from han import autodecoder, hdlc, obis_map

        self._reader_class = hdlc.HdlcFrameReader
        self._decoder_class = autodecoder.AutoDecoder
        self._names = {
            name: f"1.1.{codes[-1]}.255"
            for name, codes in obis_map.name_obis_map.items()
            if name != obis_map.FIELD_METER_DATETIME  # the APDU header time, not an object
        }
        self._names[obis_map.FIELD_OBIS_LIST_VER_ID] = LIST_VERSION
        self._names[obis_map.FIELD_METER_ID] = "1.1.0.0.5.255"
        self._names[obis_map.FIELD_METER_TYPE] = "1.1.96.1.1.255"

    def bind(
        self, data: bytes, encryption_key: bytes | None, authentication_key: bytes | None
    ) -> Callable[[], Any]:
        if encryption_key is not None:
            raise Unsupported("no decryption")
        # One reader and one auto-decoder per stream, as a long-running reader keeps them.
        reader, decoder = self._reader_class(), self._decoder_class()

        def call() -> Any:
            frames = reader.read(data)
            if len(frames) != 1 or not frames[0].is_valid:
                raise ValueError("amshan: frame not valid")
            return decoder.decode_message(frames[0])

        try:
            result = call()
        except KeyError as error:  # an object its Kamstrup name table does not know
            raise Unsupported(f"KeyError {error} (object not in its name table)") from None
        if result is None:
            raise Unsupported("no decoder matched")
        return call

    def readings(self, result: Any) -> dict[str, Any]:
        return {self._names[k]: v for k, v in result.items() if k in self._names}


class DlmsCosem(Decoder):
    name = "dlms-cosem"
    distribution = "dlms-cosem"
    summary = "HCS/FCS, GCM decrypt + tag check, raw values (no scalers, no names)"

    def load(self) -> None:
        from dlms_cosem import security, utils
        from dlms_cosem.hdlc import frames
        from dlms_cosem.protocol import xdlms

        self._ui = frames.UnnumberedInformationFrame
        self._glo = xdlms.GeneralGlobalCipher
        self._notification = xdlms.DataNotification
        self._decrypt = security.decrypt
        self._parse = utils.parse_as_dlms_data

    def bind(
        self, data: bytes, encryption_key: bytes | None, authentication_key: bytes | None
    ) -> Callable[[], Any]:
        ui, glo, notification = self._ui, self._glo, self._notification
        decrypt, parse = self._decrypt, self._parse
        ek, ak = encryption_key or b"", authentication_key or b""

        def call() -> Any:
            apdu = ui.from_bytes(data).payload[3:]  # after the LLC header
            if apdu[0] == glo.TAG:
                ciphered = glo.from_bytes(apdu)
                apdu = decrypt(
                    ciphered.security_control,
                    ciphered.system_title,
                    ciphered.invocation_counter,
                    ek,
                    ciphered.ciphered_text,
                    ak,
                )
            return parse(notification.from_bytes(apdu).body)

        return call

    def readings(self, result: Any) -> dict[str, Any]:
        return _pairs(result)


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class Gurux(Decoder):
    name = "gurux-dlms"
    distribution = "gurux_dlms"
    summary = "HCS/FCS, GCM decrypt (tag NOT checked, see probes), raw values"

    def load(self) -> None:
        import contextlib

        from gurux_dlms import GXByteBuffer, GXReplyData
        from gurux_dlms.enums import InterfaceType, Security
        from gurux_dlms.secure import GXDLMSSecureClient

        self._redirect = contextlib.redirect_stdout
        self._buffer, self._reply = GXByteBuffer, GXReplyData
        self._client_class, self._interface, self._security = (
            GXDLMSSecureClient,
            InterfaceType.HDLC,
            Security.AUTHENTICATION_ENCRYPTION,
        )

    def bind(
        self, data: bytes, encryption_key: bytes | None, authentication_key: bytes | None
    ) -> Callable[[], Any]:
        client = self._client_class(True)
        client.interfaceType = self._interface
        if encryption_key is not None:
            client.ciphering.security = self._security
            client.ciphering.blockCipherKey = encryption_key
            client.ciphering.authenticationKey = authentication_key
        buffer, reply_data, redirect, sink = self._buffer, self._reply, self._redirect, _Sink()

        def call() -> Any:
            reply, notify = reply_data(), reply_data()
            with redirect(sink):
                client.getData(buffer(data), reply, notify)
            if not notify.isComplete():
                raise ValueError("gurux: notification not complete")
            return notify.value

        return call

    def readings(self, result: Any) -> dict[str, Any]:
        return _pairs(result)


DECODERS: tuple[Decoder, ...] = (Omnipower(), Amshan(), DlmsCosem(), Gurux())


def decoder(name: str) -> Decoder:
    """The decoder called *name*."""
    for candidate in DECODERS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)
