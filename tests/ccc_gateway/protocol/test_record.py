"""The value classes of the decode path behave as the frozen dataclasses they replaced."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import pytest

from ccc_gateway.protocol import CosemDateTime, HdlcAddress, HdlcFrame, Keys, Push
from ccc_gateway.protocol._record import replace as record_replace
from ccc_gateway.protocol.push import ListKind

# copy.replace is Python 3.13+; on 3.11 the records' same __replace__ is reached through the helper.
replace = getattr(copy, "replace", record_replace)


def _frame() -> HdlcFrame:
    return HdlcFrame(HdlcAddress(1), HdlcAddress(16, 1, 2), 0x13, b"\x01\x02")


def test_fields_defaults_and_keywords() -> None:
    frame = HdlcFrame(destination=HdlcAddress(1), source=HdlcAddress(16, 1, 2), control=0x13)
    assert frame.information == b""
    assert frame.segmented is False
    assert HdlcAddress.__match_args__ == ("logical", "physical", "size")
    with pytest.raises(TypeError):
        HdlcAddress()  # type: ignore[call-arg]


def test_equality_hash_and_repr() -> None:
    assert _frame() == _frame()
    assert hash(_frame()) == hash(_frame())
    assert _frame() != replace(_frame(), control=0x03)
    assert HdlcAddress(1) != (1, None, 1)
    assert repr(HdlcAddress(1)) == "HdlcAddress(logical=1, physical=None, size=1)"


def test_frozen() -> None:
    frame = _frame()
    with pytest.raises(AttributeError):
        frame.control = 0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del frame.control  # type: ignore[misc]
    with pytest.raises(AttributeError):
        frame.extra = 1  # type: ignore[attr-defined]


def test_replace_copy_and_pickle() -> None:
    stamp = CosemDateTime(2024, 3, 31, 7, 2, 30, 0)
    assert replace(stamp, hour=3).hour == 3
    with pytest.raises(TypeError):
        replace(stamp, hours=3)
    assert copy.deepcopy(_frame()) == _frame()
    assert pickle.loads(pickle.dumps(_frame())) == _frame()
    push = Push("Kamstrup_V0001", ListKind.HAN_NVE_LIST_1, 3, stamp, {})
    assert replace(push, invocation_counter=5).invocation_counter == 5


def test_own_methods_are_kept() -> None:
    keys = Keys(bytes(16), bytes(16))
    assert repr(keys) == "Keys(<redacted>)"
    with pytest.raises(ValueError, match="16 bytes"):
        Keys(bytes(15))


def test_decode_path_loads_no_heavy_modules() -> None:
    code = (
        "import sys\n"
        # Python 3.11's own typing module imports re (3.12 dropped that): not ours to avoid.
        "import typing\n"
        "interpreter = set(sys.modules)\n"
        "from ccc_gateway.protocol import decode_frame\n"
        "heavy = {'dataclasses', 'inspect', 're', 'datetime', 'cryptography'} - interpreter\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
