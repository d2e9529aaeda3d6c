"""DLMS/COSEM application layer codecs, shared by the gateway's client and the emulator's server.

Pure and synchronous: dataclasses with ``to_bytes()`` and ``parse_*`` functions that raise only
named :class:`~ccc_gateway.protocol.errors.RemoteProtocolError` subclasses. Not imported by
``ccc_gateway.protocol`` itself, so the push decoder's start-up does not pay for it.

Modules: :mod:`.enums` (codes), :mod:`.descriptors` (attribute/method descriptors, selective
access), :mod:`.initiate` and :mod:`.acse` (association), :mod:`.get`, :mod:`.set`,
:mod:`.action`, :mod:`.refusal` (services and errors), :mod:`.ciphering` (glo-ciphering,
HLS-GMAC), :mod:`.codec` (decode any APDU), :mod:`.control` (HDLC control field, link
parameters, FRMR), :mod:`.link`, :mod:`.link_client` and :mod:`.link_server` (the HDLC link
state machines), :mod:`.session` and :mod:`.hls_client` (the client's application layer),
:mod:`.client` (session and link together, for the gateway).
"""
