"""Turn a push's notification body into typed readings.

The list is recognised from its content, never by matching known frames ([HAN]):

* first element: the list version id, a bare visible-string ("Kamstrup_V0001");
* then pairs of OBIS octet-string(6) and value; absent objects either omitted or sent as
  null-data placeholders (two nulls per pair on real single-phase meters);
* HAN-NVE lists start with the GS1 id; list 2 adds the clock and energy registers;
  DLMS push 1 starts with the energy registers and carries the meter number.

Scalers are not transmitted ("meter configurations have to be known", [HAN] §5), so the
resolution per quantity is configuration, with the documented defaults as fallback.

This module holds what a push *is* (:class:`Push`, :class:`Reading`, :class:`Resolution`) and
the reference reading of a parsed body (:func:`interpret_body`); the one-pass reader of the
hot path, held equal to it by the tests, is :mod:`.push_fast`.
"""

from __future__ import annotations

from enum import Enum
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final

from ._record import record
from .axdr import Data, DataType
from .cosem_time import CosemDateTime
from .errors import MalformedData, UnknownListVersion
from .obis import (
    CLOCK,
    GS1_METER_ID,
    LIST_VERSION,
    METER_TYPE,
    Quantity,
    QuantityKind,
    obis_from_bytes,
    quantity_of,
)

__all__ = [
    "KNOWN_LIST_VERSIONS",
    "ListKind",
    "Push",
    "Reading",
    "Resolution",
    "interpret_body",
    "scaled",
]

#: List version ids whose scalers are documented ([HAN] §5, [NVE] §2.7, [OBISLIST]).
KNOWN_LIST_VERSIONS: Final = frozenset({"Kamstrup_V0001"})


class ListKind(Enum):
    """Which push list a frame carries."""

    HAN_NVE_LIST_1 = "han_nve_list_1"
    HAN_NVE_LIST_2 = "han_nve_list_2"
    DLMS_PUSH_1 = "dlms_push_1"
    HAN_P1 = "han_p1"


class Reading(tuple[str, str, Any, int | None, str | None, Any]):
    """One value from the meter: OBIS, name, what was sent, and what it means.

    ``value`` = ``raw`` × 10^``scaler`` for numbers (an int when the scaler is ≥ 0); strings,
    identities and the clock carry no scaler. A named tuple written out, as :class:`.Data`.
    """

    __slots__ = ()
    __match_args__ = ("obis", "name", "raw", "scaler", "unit", "value")
    _fields = __match_args__

    def __new__(
        cls, obis: str, name: str, raw: Any, scaler: int | None, unit: str | None, value: Any
    ) -> Reading:
        return tuple.__new__(cls, (obis, name, raw, scaler, unit, value))

    if TYPE_CHECKING:

        @property
        def obis(self) -> str: ...
        @property
        def name(self) -> str: ...
        @property
        def raw(self) -> Any: ...
        @property
        def scaler(self) -> int | None: ...
        @property
        def unit(self) -> str | None: ...
        @property
        def value(self) -> Any: ...
    else:
        obis = property(itemgetter(0), doc="The OBIS code, A.B.C.D.E.F.")
        name = property(itemgetter(1), doc="The quantity's name.")
        raw = property(itemgetter(2), doc="The value as sent.")
        scaler = property(itemgetter(3), doc="The decimal scaler, if any.")
        unit = property(itemgetter(4), doc="The unit, if any.")
        value = property(itemgetter(5), doc="The value the meter means.")

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={v!r}" for n, v in zip(self._fields, self, strict=True))
        return f"Reading({fields})"

    def __getnewargs__(self) -> tuple[str, str, Any, int | None, str | None, Any]:
        return (self[0], self[1], self[2], self[3], self[4], self[5])


@record
class Resolution:
    """Decimal scalers per quantity ([HAN] "Scaler caveats").

    ``None`` means "the documented default for the list": energy 10 Wh (scaler 1) on HAN-NVE
    lists and Wh (0) on DLMS push 1; current 0.01 A (−2), or 0.001 A (−3) on CT meters (type
    685…). Voltage is whole volts (0) unless configured as 0.01 V (−2, Bornholm meters).
    """

    energy_scaler: int | None = None
    voltage_scaler: int = 0
    current_scaler: int | None = None
    power_scaler: int = 0
    power_factor_scaler: int = -2
    frequency_scaler: int = -2

    def scaler_for(self, kind: QuantityKind, list_kind: ListKind, meter_type: str | None) -> int:
        """The scaler of *kind* in a list of *list_kind* from a meter of *meter_type*."""
        match kind:
            case QuantityKind.ENERGY:
                if self.energy_scaler is not None:
                    return self.energy_scaler
                return 0 if list_kind is ListKind.DLMS_PUSH_1 else 1
            case QuantityKind.CURRENT:
                if self.current_scaler is not None:
                    return self.current_scaler
                return -3 if meter_type is not None and meter_type.startswith("685") else -2
            case QuantityKind.VOLTAGE:
                return self.voltage_scaler
            case QuantityKind.POWER:
                return self.power_scaler
            case QuantityKind.POWER_FACTOR:
                return self.power_factor_scaler
            case QuantityKind.FREQUENCY:
                return self.frequency_scaler
            case _:
                return 0


DEFAULT_RESOLUTION: Final = Resolution()


@record
class Push:
    """A decoded push: which list, when, and every reading by OBIS code."""

    list_version: str
    list_kind: ListKind
    phases: int
    apdu_datetime: CosemDateTime | None
    readings: dict[str, Reading]
    null_placeholders: int = 0
    system_title: bytes | None = None
    invocation_counter: int | None = None
    checks: tuple[str, ...] = ()

    def value(self, obis: str) -> Any:
        """The scaled value of *obis*, or None when the list does not carry it."""
        reading = self.readings.get(obis)
        return None if reading is None else reading.value


def scaled(raw: int, scaler: int) -> int | float:
    """raw × 10^scaler, exact for the decimal the meter meant (int for scaler ≥ 0).

    Division by a power of ten gives the float nearest the decimal (2.9, not 2.9000000000000004).
    """
    if scaler >= 0:
        return int(raw * 10**scaler)
    return float(raw / 10**-scaler)


# Shared with :mod:`.push_fast` (package-internal, hence not in ``__all__``).

#: Codes only a three-phase meter sends.
PHASE_2_3_CODES: Final = frozenset(
    {"1.1.51.7.0.255", "1.1.52.7.0.255", "1.1.71.7.0.255", "1.1.72.7.0.255"}
)
_NUMERIC: Final = frozenset(
    {
        DataType.DOUBLE_LONG_UNSIGNED,
        DataType.DOUBLE_LONG,
        DataType.LONG_UNSIGNED,
        DataType.LONG,
        DataType.UNSIGNED,
        DataType.INTEGER,
        DataType.LONG64,
        DataType.LONG64_UNSIGNED,
    }
)


#: Reading's written-out __new__ is a Python function; the hot paths build tuples directly.
new_reading: Final = tuple.__new__
#: 10**n for every scaler a register can carry.
POWERS: Final = tuple(10**n for n in range(19))


#: A 6-byte OBIS octet-string → its code and quantity, one look-up per pair on the hot path
#: (memoised like :func:`obis_from_bytes`: a meter repeats the same codes in every push).
OBIS_ENTRIES: dict[bytes, tuple[str, Quantity]] = {}


def obis_entry(raw: bytes) -> tuple[str, Quantity]:
    """The code and quantity of a 6-byte OBIS octet-string, memoised."""
    entry = OBIS_ENTRIES.get(raw)
    if entry is None:
        code = obis_from_bytes(raw)
        entry = (code, quantity_of(code))
        if len(OBIS_ENTRIES) < 4096:
            OBIS_ENTRIES[raw] = entry
    return entry


def _pairs(items: tuple[Data, ...]) -> tuple[list[tuple[str, Quantity, Data]], int]:
    """OBIS/value pairs after the version id, skipping null-data placeholders."""
    pairs: list[tuple[str, Quantity, Data]] = []
    append = pairs.append
    known = OBIS_ENTRIES
    nulls = 0
    i = 1
    count = len(items)
    while i < count:
        data_type, value = items[i]
        if data_type == DataType.NULL_DATA:
            nulls += 1
            i += 1
            continue
        if data_type != DataType.OCTET_STRING or len(value) != 6:
            raise MalformedData(f"element {i} should be an OBIS code (octet-string of 6)")
        if i + 1 >= count:
            raise MalformedData(f"OBIS {obis_from_bytes(value)} has no value")
        code, quantity = known.get(value) or obis_entry(value)
        append((code, quantity, items[i + 1]))
        i += 2
    return pairs, nulls


def classify(codes: set[str]) -> ListKind:
    """Which list carries *codes* ([HAN]: recognised by content, never by frame)."""
    if GS1_METER_ID in codes:
        return ListKind.HAN_NVE_LIST_2 if CLOCK in codes else ListKind.HAN_NVE_LIST_1
    return ListKind.DLMS_PUSH_1


def interpret_body(
    body: Data,
    *,
    apdu_datetime: CosemDateTime | None,
    resolution: Resolution = DEFAULT_RESOLUTION,
) -> Push:
    """Readings of a notification body. Raises UnknownListVersion or MalformedData."""
    if body.type != DataType.STRUCTURE or not body.value:
        raise UnknownListVersion("the push body is not a structure starting with a list id")
    items: tuple[Data, ...] = body.value
    version = items[0]
    if version.type != DataType.VISIBLE_STRING:
        raise UnknownListVersion("the push body does not start with a list version id")
    if version.value not in KNOWN_LIST_VERSIONS:
        raise UnknownListVersion(f"list version {version.value!r} is not one we know")
    pairs, nulls = _pairs(items)
    codes = {pair[0] for pair in pairs}
    list_kind = classify(codes)
    phases = 3 if codes & PHASE_2_3_CODES else 1
    meter_type: str | None = None
    if METER_TYPE in codes:
        for code, _, data in pairs:
            if code == METER_TYPE and data.type == DataType.VISIBLE_STRING:
                meter_type = data.value
    readings: dict[str, Reading] = {
        LIST_VERSION: Reading(
            LIST_VERSION, "list_version", version.value, None, None, version.value
        )
    }
    scalers: dict[QuantityKind, int] = {}
    new = new_reading
    numeric = _NUMERIC
    identity = QuantityKind.IDENTITY
    powers = POWERS
    for code, quantity, (data_type, value) in pairs:
        kind = quantity.kind
        if data_type in numeric and kind is not identity:
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
        elif data_type == DataType.OCTET_STRING and code == CLOCK and len(value) == 12:
            moment = CosemDateTime.from_bytes(value)
            readings[code] = new(Reading, (code, quantity.name, value, None, None, moment))
        elif data_type == DataType.NULL_DATA:
            nulls += 1
        else:
            readings[code] = new(Reading, (code, quantity.name, value, None, None, value))
    if GS1_METER_ID in readings and not isinstance(readings[GS1_METER_ID].value, str):
        raise MalformedData("GS1 meter id is not a visible-string")
    return Push(
        list_version=version.value,
        list_kind=list_kind,
        phases=phases,
        apdu_datetime=apdu_datetime,
        readings=readings,
        null_placeholders=nulls,
    )
