"""The frames every decoder is timed on: the anchor table of issue 3 §5.

Real captures where one exists (``tests/vectors``, provenance in its README); the others are
built from real content with the emulator's own frame builder, so the bytes are exactly what a
meter configured for that list sends:

* 228 B HAN-NVE list 1, three-phase: a real Norwegian capture (``no_3ph_list1_plain``).
* 302 B HAN-NVE list 2 (the hourly list), three-phase: no real capture is public, so the
  instantaneous values of the 228 B capture plus four energy registers and the clock, through
  :func:`meter_emulator.ports.ccc_frames.build_push_frame`.
* 461 B DLMS push 1, plaintext: the Radius Elnet frame's published plaintext (Radius guide,
  same keys) in a plaintext UI frame, as a CCC configured without encryption sends it.
* 491 B DLMS push 1, encrypted: the Radius Elnet frame itself, with its published keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ccc_gateway.protocol import CosemDateTime, HdlcFrame, decode_frame, encode_frame
from ccc_gateway.protocol.apdu import LLC_RESPONSE
from meter_emulator.ports.ccc_frames import PLAIN_ADDRESSES, UI_FINAL, build_push_frame
from meter_emulator.ports.push_lists import (
    AbsentObjects,
    ListProfile,
    PushList,
    build_list_body,
)
from tests.vectors import RADIUS, frame, key, vectors

__all__ = ["BenchFrame", "bench_frames"]

LIST_VERSION = "1.1.0.2.129.255"
#: Energy registers added to the list 1 capture to make the hourly list (raw, 10 Wh/varh).
_HOURLY_ENERGY = {
    "1.1.1.8.0.255": 1234567,
    "1.1.2.8.0.255": 0,
    "1.1.3.8.0.255": 2345,
    "1.1.4.8.0.255": 123456,
}


@dataclass(frozen=True, slots=True)
class BenchFrame:
    """One frame on the wire, the keys it needs, and where it comes from."""

    name: str
    label: str
    data: bytes
    origin: str
    encryption_key: bytes | None = None
    authentication_key: bytes | None = None

    @property
    def encrypted(self) -> bool:
        return self.encryption_key is not None


def _hourly_list_3ph() -> bytes:
    source = decode_frame(frame("no_3ph_list1_plain"))
    snapshot: dict[str, int | str | CosemDateTime] = {
        code: reading.raw for code, reading in source.readings.items() if code != LIST_VERSION
    }
    snapshot.update(_HOURLY_ENERGY)
    clock = CosemDateTime.from_datetime(datetime(2024, 10, 30, 18, 0, 0), dst=False)
    profile = ListProfile(PushList.HAN_NVE_LIST_2, AbsentObjects.NULL_DATA)
    return build_push_frame(build_list_body(profile, snapshot, clock=clock), date_time=clock)


def _plain_push1() -> bytes:
    apdu = bytes.fromhex(vectors()[RADIUS]["plaintext_apdu_hex"])
    destination, source = PLAIN_ADDRESSES
    return encode_frame(HdlcFrame(destination, source, UI_FINAL, LLC_RESPONSE + apdu))


def bench_frames() -> list[BenchFrame]:
    """The four frames of the anchor table, in table order."""
    return [
        BenchFrame(
            "list1_3ph",
            "HAN-NVE list 1, 3-ph",
            frame("no_3ph_list1_plain"),
            "real capture (no_3ph_list1_plain)",
        ),
        BenchFrame(
            "list2_3ph",
            "HAN-NVE list 2, 3-ph",
            _hourly_list_3ph(),
            "emulator-built from the 228 B capture + energies",
        ),
        BenchFrame(
            "push1_plain",
            "DLMS push 1, plain",
            _plain_push1(),
            "Radius published plaintext in a plain UI frame",
        ),
        BenchFrame(
            "push1_gcm",
            "DLMS push 1, AES-GCM",
            frame(RADIUS),
            "real capture (Radius Elnet, published keys)",
            key(RADIUS, "encryption_key"),
            key(RADIUS, "authentication_key"),
        ),
    ]
