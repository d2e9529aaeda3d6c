"""The payload diff that decides which entities a message writes (issue 12)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from custom_components.omnipower.dispatch import ENVELOPE, changed_keys

KEYS = st.sampled_from(["ts", "schema", "a_w", "b_w", "c_v", "d_a"])
VALUES = st.one_of(st.none(), st.integers(-3, 3), st.floats(-2, 2), st.booleans())
PAYLOADS = st.dictionaries(KEYS, VALUES, max_size=6)
_MISSING = object()


@given(PAYLOADS, PAYLOADS)
def test_changed_keys_are_exactly_the_differences(old: dict, new: dict) -> None:
    """Every key whose value differs, appeared or went, and nothing else; never the envelope."""
    expected = {
        key
        for key in old.keys() | new.keys()
        if key not in ENVELOPE and old.get(key, _MISSING) != new.get(key, _MISSING)
    }
    changed = changed_keys(old, new)
    assert set(changed) == expected
    assert len(changed) == len(expected)  # each once


@given(PAYLOADS)
def test_first_payload_changes_every_value(new: dict) -> None:
    assert set(changed_keys(None, new)) == set(new) - ENVELOPE
