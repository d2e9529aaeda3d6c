"""Issue 10: no mutation of an encrypted frame is ever accepted with different values.

Real (the Radius frame, published keys) and synthetic encrypted frames are mutated in their
ciphertext, tag, security control, envelope, HDLC header, lengths and segmentation bit, with
the checksums recomputed or not, and decoded by ``decode_frame`` and by ``PushDecoder`` as the
meter's own (keys, strict policy, HDLC route). Each mutant is rejected with a named error or
yields exactly the genuine values. ``make fuzz`` runs the same operators a million times.
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from benchmarks.fuzz_push import MUTATIONS, Mutation, Outcome, Seed, judge, mutate, seeds
from ccc_gateway.protocol import OmnipowerError, SecurityContext, SecurityPolicy, decode_frame

_SEEDS = seeds()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_SEEDS),
    st.sampled_from(MUTATIONS),
    st.integers(0, 2**16),
    st.integers(0, 2**16),
    st.booleans(),
)
@example(_SEEDS[0], Mutation.DOWNGRADE, 100, 0, True)  # the forgery
@example(_SEEDS[0], Mutation.SEGMENTATION_BIT, 0, 0, True)
@example(_SEEDS[0], Mutation.HDLC_HEADER_BYTE, 0, 2, True)  # destination 0x41 → 0x43
@example(_SEEDS[0], Mutation.LENGTH_FIELD, 0, 63, True)
def test_no_mutant_is_accepted_with_different_values(
    seed: Seed, kind: Mutation, where: int, value: int, fix: bool
) -> None:
    outcome, detail = judge(seed, mutate(seed, kind, where, value, fix))
    assert outcome in (Outcome.REJECTED, Outcome.ACCEPTED_UNCHANGED), detail


def test_every_seed_is_accepted_unmutated() -> None:
    assert len(_SEEDS) >= 5
    for seed in _SEEDS:
        assert judge(seed, seed.frame)[0] is Outcome.ACCEPTED_UNCHANGED, seed.name


def test_the_oracle_sees_a_downgrade_the_opt_in_would_accept() -> None:
    """The property can fail: with ``encryption_only`` a downgraded mutant changes values."""
    changed = 0
    for where in range(0, 400, 7):
        seed = _SEEDS[0]
        mutant = mutate(seed, Mutation.DOWNGRADE, where, 3, True)
        context = SecurityContext(seed.keys, policy=SecurityPolicy.ENCRYPTION_ONLY)
        try:
            push = decode_frame(mutant, security=context)
        except OmnipowerError:
            continue
        changed += push.readings != seed.push.readings
    assert changed > 0
