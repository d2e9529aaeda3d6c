"""The CCC push lists of [HAN], built from a register snapshot.

A snapshot maps OBIS codes ("A.B.C.D.E.F") to the raw value the meter sends: integers at the
configured register resolution, strings for identities. An object missing from the snapshot is
"absent" on this meter (a single-phase meter has no L2/L3) and is either omitted or sent as a
null-data pair, as the list profile says. Element order and types are exactly the lists'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final

from ccc_gateway.protocol.axdr import NULL, CosemDateTime, Data, DataType, structure
from ccc_gateway.protocol.obis import obis_to_bytes

__all__ = [
    "AbsentObjects",
    "ListProfile",
    "PushList",
    "build_list_body",
    "list_objects",
]

LIST_VERSION_ID: Final = "Kamstrup_V0001"
CLOCK: Final = "0.1.1.0.0.255"


class PushList(Enum):
    """The push lists an OMNIPOWER CCC can be configured for."""

    HAN_NVE_LIST_1 = "han_nve_list_1"
    HAN_NVE_LIST_2 = "han_nve_list_2"
    DLMS_PUSH_1 = "dlms_push_1"


class AbsentObjects(Enum):
    """How a list carries objects this meter does not have."""

    NULL_DATA = "null_data"  # real single-phase HAN-NVE meters: two null-data per pair
    OMIT = "omit"  # DLMS push 1 single-phase, and the HAN-NVE vendor example 3


@dataclass(frozen=True, slots=True)
class ListProfile:
    """Which list, and how absent objects are sent."""

    push_list: PushList
    absent: AbsentObjects


def _codes(*cde: str) -> tuple[str, ...]:
    return tuple(f"1.1.{c}.255" for c in cde)


_NVE_LIST_1: Final = (
    "1.1.0.0.5.255",  # GS1 meter id
    "1.1.96.1.1.255",  # meter type
    *_codes("1.7.0", "2.7.0", "3.7.0", "4.7.0"),
    *_codes("31.7.0", "51.7.0", "71.7.0"),
    *_codes("32.7.0", "52.7.0", "72.7.0"),
)
_NVE_LIST_2: Final = (*_NVE_LIST_1, CLOCK, *_codes("1.8.0", "2.8.0", "3.8.0", "4.8.0"))
_DLMS_PUSH_1: Final = (
    *_codes("1.8.0", "2.8.0", "3.8.0", "4.8.0"),
    "1.1.0.0.1.255",  # meter number 1
    *_codes("1.7.0", "2.7.0", "3.7.0", "4.7.0"),
    CLOCK,
    *_codes("32.7.0", "52.7.0", "72.7.0"),
    *_codes("31.7.0", "51.7.0", "71.7.0"),
    *_codes("21.7.0", "41.7.0", "61.7.0"),
    *_codes("33.7.0", "53.7.0", "73.7.0"),
    *_codes("13.7.0"),
    *_codes("22.7.0", "42.7.0", "62.7.0"),
    *_codes("22.8.0", "42.8.0", "62.8.0"),
    *_codes("21.8.0", "41.8.0", "61.8.0"),
)
_OBJECTS: Final = {
    PushList.HAN_NVE_LIST_1: _NVE_LIST_1,
    PushList.HAN_NVE_LIST_2: _NVE_LIST_2,
    PushList.DLMS_PUSH_1: _DLMS_PUSH_1,
}

#: A-XDR type of each object's value ([HAN] §5, [NVE] §2.7; checked on every vector).
_LONG_UNSIGNED: Final = frozenset(
    _codes("32.7.0", "52.7.0", "72.7.0", "33.7.0", "53.7.0", "73.7.0", "13.7.0", "14.7.0")
)
_VISIBLE: Final = frozenset({"1.1.0.0.5.255", "1.1.96.1.1.255"})


def list_objects(push_list: PushList) -> tuple[str, ...]:
    """The OBIS codes of a list, in push order (the version id is not among them)."""
    return _OBJECTS[push_list]


def _value(code: str, raw: int | str | CosemDateTime) -> Data:
    if code == CLOCK:
        if not isinstance(raw, CosemDateTime):
            raise TypeError("the clock object needs a CosemDateTime")
        return Data(DataType.OCTET_STRING, raw.to_bytes())
    if code in _VISIBLE:
        return Data(DataType.VISIBLE_STRING, str(raw))
    if not isinstance(raw, int):
        raise TypeError(f"{code} needs an integer raw value, not {type(raw).__name__}")
    if code in _LONG_UNSIGNED:
        return Data(DataType.LONG_UNSIGNED, raw)
    return Data(DataType.DOUBLE_LONG_UNSIGNED, raw)


def build_list_body(
    profile: ListProfile,
    snapshot: Mapping[str, int | str | CosemDateTime],
    *,
    clock: CosemDateTime,
) -> Data:
    """The notification body: version id, then OBIS/value pairs (absent ones per profile).

    The clock object carries *clock*, the push's trigger time, as real meters do.
    """
    items: list[Data] = [Data(DataType.VISIBLE_STRING, LIST_VERSION_ID)]
    for code in _OBJECTS[profile.push_list]:
        raw = clock if code == CLOCK else snapshot.get(code)
        if raw is None:
            if profile.absent is AbsentObjects.NULL_DATA:
                items += [NULL, NULL]
            continue
        items += [Data(DataType.OCTET_STRING, obis_to_bytes(code)), _value(code, raw)]
    return structure(*items)
