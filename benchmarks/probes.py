"""What each decoder checks, found by feeding it broken frames rather than taken from its docs.

* FCS: one bit of the 228 B list 1 frame's information field flipped, FCS left as it was;
* GCM tag: the last tag bit of the Radius frame flipped, HCS/FCS recomputed (only the tag is
  wrong);
* authentication key: the Radius frame as sent, with an all-zero authentication key.

A decoder "rejects" when it raises, "accepts" when it returns values anyway (a decoder that
accepts a forged tag would publish forged readings).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ccc_gateway.protocol import encode_frame, parse_frame
from ccc_gateway.protocol._record import replace

from .frames import BenchFrame
from .peers import Decoder, Unsupported

__all__ = ["PROBES", "probe"]


def _flip_fcs(frame: BenchFrame) -> tuple[bytes, bytes | None, bytes | None]:
    data = bytearray(frame.data)
    data[len(data) // 2] ^= 0x01
    return bytes(data), frame.encryption_key, frame.authentication_key


def _flip_tag(frame: BenchFrame) -> tuple[bytes, bytes | None, bytes | None]:
    parsed = parse_frame(frame.data)
    information = bytearray(parsed.information)
    information[-1] ^= 0x01
    forged = encode_frame(replace(parsed, information=bytes(information)))
    return forged, frame.encryption_key, frame.authentication_key


def _wrong_ak(frame: BenchFrame) -> tuple[bytes, bytes | None, bytes | None]:
    return frame.data, frame.encryption_key, bytes(16)


#: Probe name → (which bench frame, how to break it).
PROBES: dict[str, tuple[str, Callable[[BenchFrame], tuple[bytes, bytes | None, bytes | None]]]] = {
    "bad FCS": ("list1_3ph", _flip_fcs),
    "forged GCM tag": ("push1_gcm", _flip_tag),
    "wrong AK": ("push1_gcm", _wrong_ak),
}


def probe(decoder: Decoder, frames: dict[str, BenchFrame]) -> dict[str, str]:
    """Probe name → "rejects", "accepts" or "n/a" (the decoder cannot decode that frame)."""
    out: dict[str, str] = {}
    for name, (frame_name, breaker) in PROBES.items():
        data, ek, ak = breaker(frames[frame_name])
        try:
            call = decoder.bind(data, ek, ak)
            result: Any = call()
        except Unsupported:
            out[name] = "n/a"
        except Exception:
            out[name] = "rejects"
        else:
            out[name] = "accepts" if result is not None else "rejects"
    return out
