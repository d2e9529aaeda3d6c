"""Faults the emulator injects on the CCC wire, so the gateway's error paths get exercised.

Each frame-level fault turns a good push into what a real installation produces: line noise in
the header or body, a frame cut off, garbage between frames, a reader with the wrong parity.
Key faults (wrong key, swapped keys) and counter faults (replayed IC) are applied while the
frame is built; see :mod:`.ccc_port`. Pure functions of their inputs and a seeded RNG.
"""

from __future__ import annotations

import random
from enum import Enum
from typing import Final

from ccc_gateway.protocol.crc import crc16_x25_bytes

__all__ = ["Fault", "as_seen_by_8e1_receiver", "corrupt_frame", "corrupt_telegram"]


class Fault(Enum):
    """What can go wrong, by the names the control interface uses."""

    BAD_HCS = "bad_hcs"
    BAD_FCS = "bad_fcs"
    TRUNCATED = "truncated"
    GARBAGE = "garbage"
    WRONG_KEY = "wrong_key"
    SWAPPED_KEYS = "swapped_keys"
    CORRUPTED_TAG = "corrupted_tag"
    REPLAYED_IC = "replayed_ic"
    PARITY_8E1 = "parity_8e1"
    SILENCE = "silence"
    CLOCK_JUMP = "clock_jump"


#: Faults that change the bytes of one frame after it was built.
FRAME_FAULTS: Final = frozenset(
    {
        Fault.BAD_HCS,
        Fault.BAD_FCS,
        Fault.TRUNCATED,
        Fault.GARBAGE,
        Fault.PARITY_8E1,
        Fault.CORRUPTED_TAG,
    }
)
#: Faults that apply to a HAN P1 ASCII telegram (it has no header check and no cipher).
TELEGRAM_FAULTS: Final = frozenset(
    {Fault.BAD_FCS, Fault.TRUNCATED, Fault.GARBAGE, Fault.PARITY_8E1}
)
#: Faults applied while the push is built (keys, invocation counter).
BUILD_FAULTS: Final = frozenset({Fault.WRONG_KEY, Fault.SWAPPED_KEYS, Fault.REPLAYED_IC})


def _header_end(frame: bytes) -> int:
    """Index of the HCS: after the flag, format, both addresses and control."""
    pos = 3
    for _ in range(2):
        while not frame[pos] & 1:
            pos += 1
        pos += 1
    return pos + 1


def _refcs(body_with_flags: bytearray) -> bytes:
    body_with_flags[-3:-1] = crc16_x25_bytes(bytes(body_with_flags[1:-3]))
    return bytes(body_with_flags)


def corrupt_frame(fault: Fault, frame: bytes, rng: random.Random) -> bytes:
    """The frame as the fault leaves it on the wire."""
    out = bytearray(frame)
    if fault is Fault.BAD_HCS:
        # The header is damaged but the FCS was recomputed: a reader must name the HCS.
        out[_header_end(frame)] ^= 1 << rng.randrange(8)
        return _refcs(out)
    if fault is Fault.BAD_FCS:
        position = rng.randrange(_header_end(frame) + 2, len(frame) - 3)
        out[position] ^= 1 << rng.randrange(8)
        return bytes(out)
    if fault is Fault.TRUNCATED:
        return bytes(out[: rng.randrange(12, len(frame) - 2)])
    if fault is Fault.GARBAGE:
        noise = bytes(rng.choice([b for b in range(256) if b != 0x7E]) for _ in range(17))
        return noise + frame
    if fault is Fault.CORRUPTED_TAG:
        out[-4] ^= 0x01  # last byte of the GCM tag; HCS and FCS stay valid
        return _refcs(out)
    if fault is Fault.PARITY_8E1:
        return as_seen_by_8e1_receiver(frame)
    raise ValueError(f"{fault.value} is not a frame fault")


def corrupt_telegram(fault: Fault, telegram: bytes, rng: random.Random) -> bytes:
    """A HAN P1 telegram as the fault leaves it on the wire.

    A bad CRC changes one digit of a value (never into ``/`` or ``!``, which would read as a
    telegram boundary); a truncated telegram loses at least one CRC digit, so a reader that
    sees the next ``/`` first knows it was cut short.
    """
    out = bytearray(telegram)
    bang = telegram.rindex(b"!")
    if fault is Fault.BAD_FCS:
        body_start = telegram.index(b"(")  # after the identification: the first value
        digits = [i for i in range(body_start, bang) if 0x30 <= telegram[i] <= 0x39]
        position = rng.choice(digits)
        out[position] = 0x30 + (telegram[position] - 0x30 + rng.randrange(1, 10)) % 10
        return bytes(out)
    if fault is Fault.TRUNCATED:
        return bytes(out[: rng.randrange(6, bang + 4)])
    if fault is Fault.GARBAGE:
        allowed = [b for b in range(256) if b not in b"/!"]
        return bytes(rng.choice(allowed) for _ in range(17)) + telegram
    if fault is Fault.PARITY_8E1:
        return as_seen_by_8e1_receiver(telegram)
    raise ValueError(f"{fault.value} is not a HAN P1 telegram fault")


def _uart_bits_8n1(data: bytes) -> list[int]:
    bits: list[int] = [1, 1]  # idle line
    for byte in data:
        bits += [0, *((byte >> i) & 1 for i in range(8)), 1]
    return [*bits, 1, 1]


def as_seen_by_8e1_receiver(data: bytes) -> bytes:
    """What a UART set to 8E1 reads from the meter's 8N1 line (the classic misconfiguration).

    Bit-level: the receiver takes the sender's stop bit as parity and the next start bit as
    its stop bit, so it slips, and reports parity/framing errors as NUL bytes (Linux termios
    default without IGNPAR/PARMRK).
    """
    bits = _uart_bits_8n1(data)
    out = bytearray()
    i = 0
    while i < len(bits) - 10:
        if bits[i] == 1:  # idle, wait for a start bit
            i += 1
            continue
        data_bits = bits[i + 1 : i + 9]
        parity, stop = bits[i + 9], bits[i + 10]
        value = sum(bit << n for n, bit in enumerate(data_bits))
        good = (sum(data_bits) + parity) % 2 == 0 and stop == 1
        out.append(value if good else 0)
        i += 11
    return bytes(out)
