"""The meter's optical port: DLMS/COSEM polling and commands, IEC 62056-21 readout as fallback.

Pure pieces (what to read, how read values become the contract's payloads and events) sit next to
the thin asyncio adapters that drive a port.
"""
