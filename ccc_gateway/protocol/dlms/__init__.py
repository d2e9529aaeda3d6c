"""DLMS/COSEM application layer codecs, shared by the gateway's client and the emulator's server.

Pure and synchronous: dataclasses with ``to_bytes()`` and ``parse_*`` functions that raise only
named :class:`~ccc_gateway.protocol.errors.RemoteProtocolError` subclasses. Not imported by
``ccc_gateway.protocol`` itself, so the push decoder's start-up does not pay for it.

Modules: :mod:`.enums` (codes), :mod:`.descriptors` (attribute/method descriptors, selective
access), :mod:`.initiate` and :mod:`.acse` (association), :mod:`.get`, :mod:`.set`,
:mod:`.action`, :mod:`.refusal` (services and errors), :mod:`.ciphering` (glo-ciphering,
HLS-GMAC), :mod:`.codec` (decode any APDU), :mod:`.control` and :mod:`.link` (the HDLC link
state machines), :mod:`.client` (the client session).
"""
