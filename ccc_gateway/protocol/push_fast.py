"""The push of a plaintext data-notification in one pass over its bytes (the hot path).

:func:`fast_push` gives what :func:`.push.interpret_body` gives on the parsed A-XDR tree,
without building the tree: a second reader of the same format, so a module of its own beside
the general one, which stays the reference. The tests hold both equal on every vector and on
mutated frames.
"""

from __future__ import annotations

import struct
from typing import Any, Final

from .axdr import DataType
from .cosem_time import CosemDateTime
from .obis import CLOCK, GS1_METER_ID, LIST_VERSION, METER_TYPE, Quantity, QuantityKind
from .push import (
    DEFAULT_RESOLUTION,
    KNOWN_LIST_VERSIONS,
    OBIS_ENTRIES,
    PHASE_2_3_CODES,
    POWERS,
    Push,
    Reading,
    Resolution,
    classify,
    new_reading,
    obis_entry,
)

__all__ = ["fast_push"]

#: A-XDR tags of the numbers a push carries → how to read them (the layouts of :mod:`.axdr`).
_NUMBERS: Final = {
    int(tag): (struct.Struct(fmt).unpack_from, size)
    for tag, fmt, size in (
        (DataType.DOUBLE_LONG_UNSIGNED, ">I", 4),
        (DataType.DOUBLE_LONG, ">i", 4),
        (DataType.LONG_UNSIGNED, ">H", 2),
        (DataType.LONG, ">h", 2),
        (DataType.UNSIGNED, ">B", 1),
        (DataType.INTEGER, ">b", 1),
        (DataType.LONG64, ">q", 8),
        (DataType.LONG64_UNSIGNED, ">Q", 8),
    )
}
_TAG_OCTET_STRING: Final = int(DataType.OCTET_STRING)
_TAG_VISIBLE_STRING: Final = int(DataType.VISIBLE_STRING)
_TAG_NULL: Final = int(DataType.NULL_DATA)


def fast_push(apdu: bytes, resolution: Resolution = DEFAULT_RESOLUTION) -> Push | None:
    """The push of a plaintext data-notification APDU in one pass, or None.

    Same result as ``interpret_body`` on ``parse_data_notification(apdu)``, without building
    the A-XDR :class:`Data` tree first. It covers what meters send (short lengths, numbers,
    OBIS and identity strings, null placeholders) and answers None for anything else, valid
    or not, so that the general path decodes it or raises the error it names. The tests hold
    both paths equal on every vector and on mutated frames.
    """
    size = len(apdu)
    if size < 8 or apdu[0] != 0x0F:
        return None
    dt_length = apdu[5]
    pos = 6 + dt_length
    if (
        (dt_length != 12 and dt_length != 0)
        or pos + 4 > size
        or apdu[pos] != 0x02
        or apdu[pos + 2] != _TAG_VISIBLE_STRING
    ):
        return None
    apdu_datetime = CosemDateTime.from_bytes(apdu[6:18]) if dt_length else None
    count = apdu[pos + 1]
    length = apdu[pos + 3]
    pos += 4
    end = pos + length
    if count == 0 or count >= 0x80 or length >= 0x80 or end > size:
        return None
    version = apdu[pos:end].decode("latin-1")
    if version not in KNOWN_LIST_VERSIONS:
        return None
    pos = end
    entries: list[tuple[str, Quantity, int, Any]] = []
    append = entries.append
    known = OBIS_ENTRIES
    numbers = _NUMBERS
    nulls = 0
    remaining = count - 1
    while remaining:
        if pos >= size:
            return None
        tag = apdu[pos]
        if tag == _TAG_NULL:  # a placeholder where an OBIS code would be
            nulls += 1
            pos += 1
            remaining -= 1
            continue
        if tag != _TAG_OCTET_STRING or remaining < 2 or pos + 9 > size or apdu[pos + 1] != 6:
            return None
        raw = apdu[pos + 2 : pos + 8]
        code, quantity = known.get(raw) or obis_entry(raw)
        pos += 8
        tag = apdu[pos]
        number = numbers.get(tag)
        if number is not None:
            unpack_from, width = number
            if pos + 1 + width > size:
                return None
            value: Any = unpack_from(apdu, pos + 1)[0]
            pos += 1 + width
        elif tag in (_TAG_OCTET_STRING, _TAG_VISIBLE_STRING):
            if pos + 1 >= size or apdu[pos + 1] >= 0x80:
                return None
            end = pos + 2 + apdu[pos + 1]
            if end > size:
                return None
            value = apdu[pos + 2 : end]
            if tag == _TAG_VISIBLE_STRING:
                value = value.decode("latin-1")
            pos = end
        elif tag == _TAG_NULL:
            value = None
            pos += 1
        else:
            return None
        append((code, quantity, tag, value))
        remaining -= 2
    if pos != size:
        return None
    codes = {entry[0] for entry in entries}
    list_kind = classify(codes)
    meter_type: str | None = None
    if METER_TYPE in codes:
        for code, _, tag, value in entries:
            if code == METER_TYPE and tag == _TAG_VISIBLE_STRING:
                meter_type = value
    readings: dict[str, Reading] = {
        LIST_VERSION: Reading(LIST_VERSION, "list_version", version, None, None, version)
    }
    scalers: dict[QuantityKind, int] = {}
    new = new_reading
    identity = QuantityKind.IDENTITY
    powers = POWERS
    for code, quantity, tag, value in entries:
        kind = quantity.kind
        if tag in numbers and kind is not identity:
            scaler = scalers.get(kind)
            if scaler is None:
                scaler = scalers[kind] = resolution.scaler_for(kind, list_kind, meter_type)
            readings[code] = new(
                Reading,
                (
                    code,
                    quantity.name,
                    value,
                    scaler,
                    quantity.unit,
                    value * powers[scaler] if scaler >= 0 else value / powers[-scaler],
                ),
            )
        elif tag == _TAG_NULL:
            nulls += 1
        elif tag == _TAG_OCTET_STRING and code == CLOCK and len(value) == 12:
            moment = CosemDateTime.from_bytes(value)
            readings[code] = new(Reading, (code, quantity.name, value, None, None, moment))
        else:
            readings[code] = new(Reading, (code, quantity.name, value, None, None, value))
    gs1 = readings.get(GS1_METER_ID)
    if gs1 is not None and not isinstance(gs1.value, str):
        return None
    return Push(
        version,
        list_kind,
        3 if codes & PHASE_2_3_CODES else 1,
        apdu_datetime,
        readings,
        nulls,
    )
