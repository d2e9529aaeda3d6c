"""Mutation fuzzing of encrypted pushes: no change to a ciphered frame is ever accepted.

``python -m benchmarks.fuzz_push --inputs 1000000`` (``make fuzz``) mutates real and synthetic
encrypted frames and decodes every mutant twice, through :func:`decode_frame` and through the
streaming :class:`PushDecoder` the service uses, each with the meter's keys, the strict policy
and the meter's HDLC route. A mutant may be rejected (a named error of the protocol's tree), or
accepted with exactly the genuine frame's values (a mutation that changed nothing the meter
said, e.g. a non-minimal BER length); anything else is counted: *crashes* (an exception outside
the error tree) and *accepted-changed* (values, clock, system title or counter that differ).
Issue 10 found 5,865 accepted-changed in 22,876 mutations before the strict policy.

Mutations: a bit of the ciphertext or the tag, the security control (any value, and the
0x30 → 0x20 downgrade with the tag dropped and a ciphertext bit flipped), the envelope (tag,
system title, BER length, invocation counter), the HDLC header (addresses, control, the
segmentation bit, the length field), insertions, deletions and truncations; each with the HCS
and FCS recomputed (so it reaches the layers behind them) or left as they fell.

The same operators drive the hypothesis property test in ``tests/``; this script is the long
run, without pytest's overhead.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from typing import Final

from ccc_gateway.protocol import (
    Keys,
    OmnipowerError,
    Push,
    PushDecoder,
    PushReceived,
    SecurityContext,
    decode_frame,
    parse_frame,
)
from ccc_gateway.protocol.apdu import LLC_RESPONSE, strip_llc
from ccc_gateway.protocol.crc import crc16_x25
from ccc_gateway.protocol.hdlc import HdlcRoute, route_of
from meter_emulator.ports.ccc_frames import PushSecurity, build_push_frame, system_title_for
from tests.vectors import RADIUS, frame, key, vectors

__all__ = ["MUTATIONS", "Mutation", "Outcome", "Seed", "judge", "mutate", "run", "seed_of", "seeds"]

#: The Green Book's example keys (EK 00..0F, AK D0..DF) for the synthetic seeds.
SYNTHETIC_KEYS: Final = Keys(bytes(range(16)), bytes(range(0xD0, 0xE0)))
TAG_LENGTH: Final = 12


class Mutation(IntEnum):
    """What a mutant changes (the fuzz counts inputs per kind)."""

    CIPHERTEXT_BIT = 0
    TAG_BIT = 1
    SECURITY_CONTROL = 2
    DOWNGRADE = 3
    ENVELOPE_BYTE = 4
    HDLC_HEADER_BYTE = 5
    SEGMENTATION_BIT = 6
    LENGTH_FIELD = 7
    INSERT = 8
    DELETE = 9
    TRUNCATE = 10
    ANY_BYTE = 11


MUTATIONS: Final = tuple(Mutation)


@dataclass(frozen=True, slots=True)
class Seed:
    """A genuine encrypted frame, its keys, its route and what it decodes to."""

    name: str
    frame: bytes
    keys: Keys
    route: HdlcRoute
    push: Push
    #: Offsets in ``frame``: HDLC header end (the HCS), the security control byte, the
    #: ciphertext start, the tag start, the FCS.
    header_end: int
    sc: int
    ciphertext: int
    tag: int
    fcs: int


def seed_of(name: str, raw: bytes, keys: Keys) -> Seed:
    """*raw*, a genuine encrypted push that *keys* open, as a fuzz seed."""
    hdlc = parse_frame(raw)
    push = decode_frame(raw, security=SecurityContext(keys))
    info_start = raw.index(hdlc.information)
    apdu_start = info_start + len(LLC_RESPONSE)
    apdu = strip_llc(hdlc.information)
    title_end = apdu_start + 2 + apdu[1]
    first = raw[title_end]
    sc = title_end + (1 if first < 0x80 else 1 + (first & 0x7F))
    return Seed(
        name=name,
        frame=raw,
        keys=keys,
        route=route_of(hdlc),
        push=push,
        header_end=info_start - 2,
        sc=sc,
        ciphertext=sc + 5,
        tag=len(raw) - 3 - TAG_LENGTH,
        fcs=len(raw) - 3,
    )


@cache
def seeds() -> tuple[Seed, ...]:
    """The real Radius frame (published keys) and synthetic frames of other real contents.

    The synthetic ones are the real plaintext of the other vectors (two Danish DLMS push 1 of
    unknown keys, and the plaintext HAN-NVE captures) encrypted as a meter does (SC 0x30).
    """
    ek, ak = key(RADIUS, "encryption_key"), key(RADIUS, "authentication_key")
    assert ek is not None
    out = [seed_of(RADIUS, frame(RADIUS), Keys(ek, ak))]
    for name, vector in vectors().items():
        raw = bytes.fromhex(vector["hex"])
        if name == RADIUS or not vector["kind"].startswith(("ccc_push", "vendor_example")):
            continue
        if "plaintext_apdu_hex" in vector:
            apdu = bytes.fromhex(vector["plaintext_apdu_hex"])
        elif raw[:1] == b"\x7e":
            apdu = strip_llc(parse_frame(raw).information)
        else:
            continue
        from ccc_gateway.protocol.apdu import parse_data_notification

        notification = parse_data_notification(apdu)
        assert notification.date_time is not None
        synthetic = build_push_frame(
            notification.body,
            date_time=notification.date_time,
            security=PushSecurity(SYNTHETIC_KEYS, system_title_for(12345678)),
            invocation_counter=1000 + len(out),
        )
        out.append(seed_of(f"synthetic:{name}", synthetic, SYNTHETIC_KEYS))
    return tuple(out)


def _fix_checks(raw: bytearray) -> None:
    """Recompute HCS and FCS as far as the (mutated) header lets us find them."""
    if len(raw) < 9 or raw[0] != 0x7E:
        return
    pos = 3
    for _ in range(2):
        end = next((i + 1 for i in range(pos, min(pos + 4, len(raw))) if raw[i] & 1), None)
        if end is None:
            return
        pos = end
    header_end = pos + 1
    if header_end + 2 <= len(raw) - 3:
        raw[header_end : header_end + 2] = crc16_x25(bytes(raw[1:header_end])).to_bytes(2, "little")
    raw[-3:-1] = crc16_x25(bytes(raw[1:-3])).to_bytes(2, "little")


def mutate(seed: Seed, kind: Mutation, where: int, value: int, fix: bool) -> bytes:
    """One mutant of *seed*: *where* and *value* are any non-negative ints (taken modulo)."""
    raw = bytearray(seed.frame)
    bit = 1 << (value % 8)
    if kind is Mutation.CIPHERTEXT_BIT:
        raw[seed.ciphertext + where % (seed.tag - seed.ciphertext)] ^= bit
    elif kind is Mutation.TAG_BIT:
        raw[seed.tag + where % TAG_LENGTH] ^= bit
    elif kind is Mutation.SECURITY_CONTROL:
        raw[seed.sc] = value % 256 if value % 256 != raw[seed.sc] else 0x20
    elif kind is Mutation.DOWNGRADE:
        # SC 0x20, tag dropped, the BER length and HDLC length shortened to match.
        length_at = seed.sc - 2 if raw[seed.sc - 3] == 0x82 else seed.sc - 1
        content = int.from_bytes(raw[length_at : seed.sc], "big") - TAG_LENGTH
        raw[length_at : seed.sc] = content.to_bytes(seed.sc - length_at, "big")
        raw[seed.sc] = 0x20
        raw[seed.ciphertext + where % (seed.tag - seed.ciphertext)] ^= bit
        del raw[seed.tag : seed.fcs]
        size = ((raw[1] & 0x07) << 8 | raw[2]) - TAG_LENGTH
        raw[1] = (raw[1] & 0xF8) | (size >> 8)
        raw[2] = size & 0xFF
        fix = True
    elif kind is Mutation.ENVELOPE_BYTE:
        span = seed.ciphertext - (seed.header_end + 2)
        raw[seed.header_end + 2 + where % span] ^= value % 255 + 1
    elif kind is Mutation.HDLC_HEADER_BYTE:
        raw[3 + where % (seed.header_end - 3)] ^= value % 255 + 1
    elif kind is Mutation.SEGMENTATION_BIT:
        raw[1] ^= 0x08
    elif kind is Mutation.LENGTH_FIELD:
        size = ((raw[1] & 0x07) << 8 | raw[2]) + (value % 64) - 32
        size = size % 0x800 if size != ((raw[1] & 0x07) << 8 | raw[2]) else size + 1
        raw[1] = (raw[1] & 0xF8) | (size >> 8)
        raw[2] = size & 0xFF
    elif kind is Mutation.INSERT:
        raw.insert(1 + where % (len(raw) - 2), value % 256)
    elif kind is Mutation.DELETE:
        del raw[1 + where % (len(raw) - 2)]
    elif kind is Mutation.TRUNCATE:
        del raw[where % (len(raw) - 1) + 1 :]
    else:
        raw[where % len(raw)] ^= value % 255 + 1
    if fix:
        _fix_checks(raw)
    return bytes(raw)


class Outcome(IntEnum):
    """What the decoders made of a mutant."""

    REJECTED = 0
    ACCEPTED_UNCHANGED = 1
    ACCEPTED_CHANGED = 2
    CRASH = 3


def _same(push: Push, genuine: Push) -> bool:
    return (
        push.readings == genuine.readings
        and push.apdu_datetime == genuine.apdu_datetime
        and push.system_title == genuine.system_title
        and push.invocation_counter == genuine.invocation_counter
    )


def judge(seed: Seed, mutant: bytes) -> tuple[Outcome, str]:
    """Decode *mutant* as the meter's own (keys, strict policy, route) in both decoders."""
    try:
        push: Push | None = decode_frame(
            mutant, security=SecurityContext(seed.keys, route=seed.route)
        )
    except OmnipowerError:
        push = None
    except Exception as exc:  # the finding: anything outside the error tree
        return Outcome.CRASH, f"decode_frame: {type(exc).__name__}: {exc}"
    pushes = [] if push is None else [push]
    try:
        decoder = PushDecoder(security=SecurityContext(seed.keys, route=seed.route))
        events = [*decoder.receive_data(mutant), *decoder.flush()]
    except Exception as exc:
        return Outcome.CRASH, f"PushDecoder: {type(exc).__name__}: {exc}"
    pushes += [e.push for e in events if isinstance(e, PushReceived)]
    if not pushes:
        return Outcome.REJECTED, ""
    if all(_same(p, seed.push) for p in pushes):
        return Outcome.ACCEPTED_UNCHANGED, ""
    return Outcome.ACCEPTED_CHANGED, "values differ from the genuine frame's"


def run(inputs: int, *, seed: int = 10, report_every: int = 0) -> Counter[Outcome]:
    """Fuzz *inputs* mutants; print the counts (and every finding) as it goes."""
    rng = random.Random(seed)
    frames = seeds()
    outcomes: Counter[Outcome] = Counter()
    kinds: Counter[Mutation] = Counter()
    started = time.perf_counter()
    for index in range(1, inputs + 1):
        chosen = frames[rng.randrange(len(frames))]
        kind = MUTATIONS[rng.randrange(len(MUTATIONS))]
        where, value = rng.randrange(1 << 16), rng.randrange(1 << 16)
        fix = rng.random() < 0.9
        mutant = mutate(chosen, kind, where, value, fix)
        outcome, detail = judge(chosen, mutant)
        outcomes[outcome] += 1
        kinds[kind] += 1
        if outcome in (Outcome.CRASH, Outcome.ACCEPTED_CHANGED):
            print(f"{outcome.name} {chosen.name} {kind.name} {detail}: {mutant.hex()}")
        if report_every and index % report_every == 0:
            print(f"{index:,} inputs, {time.perf_counter() - started:.0f} s", flush=True)
    elapsed = time.perf_counter() - started
    print(f"seeds: {len(frames)} ({', '.join(s.name for s in frames)})")
    print("per mutation: " + ", ".join(f"{k.name.lower()} {kinds[k]:,}" for k in MUTATIONS))
    print(
        f"inputs: {inputs:,}  crashes: {outcomes[Outcome.CRASH]:,}  "
        f"accepted-changed: {outcomes[Outcome.ACCEPTED_CHANGED]:,}  "
        f"accepted-unchanged: {outcomes[Outcome.ACCEPTED_UNCHANGED]:,}  "
        f"rejected: {outcomes[Outcome.REJECTED]:,}  "
        f"time: {elapsed:.1f} s ({inputs / elapsed:,.0f} inputs/s)"
    )
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzz_push", description=__doc__)
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=10, help="random seed (runs repeat)")
    parser.add_argument("--report-every", type=int, default=100_000, metavar="N")
    args = parser.parse_args(argv)
    outcomes = run(args.inputs, seed=args.seed, report_every=args.report_every)
    return 1 if outcomes[Outcome.CRASH] or outcomes[Outcome.ACCEPTED_CHANGED] else 0


if __name__ == "__main__":
    sys.exit(main())
