"""COSEM interface classes the emulated OMNIPOWER serves: 1 Data, 3 Register, 4 Extended
register, 8 Clock and 23 HDLC setup (7 Profile generic and 15 Association LN have modules of their
own).

Attribute and method indices per the Blue Book ([BB]; [GX] implementations for the
types). An object holds *bindings*, not values: each readable attribute is a function that asks
the meter model at the moment of the request, so every port sees the same registers at the same
instant (docs/emulator.md). Unbound attributes read as object-unavailable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, unique
from typing import TYPE_CHECKING, ClassVar, Final, Protocol, TypeAlias

from ccc_gateway.protocol.axdr import CosemDateTime, Data, DataType
from ccc_gateway.protocol.dlms.enums import ActionResult, DataAccessResult
from ccc_gateway.protocol.errors import MalformedData
from ccc_gateway.protocol.obis import obis_to_bytes

if TYPE_CHECKING:
    from ccc_gateway.protocol.dlms.descriptors import SelectiveAccess

__all__ = [
    "UNITS",
    "AccessMode",
    "ActionHandler",
    "Clock",
    "CosemObject",
    "DataObject",
    "ExtendedRegister",
    "HdlcSetup",
    "Reader",
    "Register",
    "RequestContext",
    "Rights",
    "Writer",
    "enum",
    "integer",
    "long_unsigned",
    "octets",
    "unsigned",
]

Reader: TypeAlias = Callable[[], Data | DataAccessResult]
Writer: TypeAlias = Callable[[Data], DataAccessResult]
ActionHandler: TypeAlias = Callable[[Data | None], tuple[ActionResult, Data | None]]

#: Blue Book unit enumeration (class 3 scaler_unit), by the symbols our object table uses.
UNITS: Final = {
    "h": 6,
    "s": 7,
    "W": 27,
    "VA": 28,
    "var": 29,
    "Wh": 30,
    "VAh": 31,
    "varh": 32,
    "A": 33,
    "V": 35,
    "Hz": 44,
    "%": 56,
    None: 255,  # count: no unit
}


def unsigned(value: int) -> Data:
    """An unsigned (8-bit) value."""
    return Data(DataType.UNSIGNED, value)


def long_unsigned(value: int) -> Data:
    """A long-unsigned (16-bit) value."""
    return Data(DataType.LONG_UNSIGNED, value)


def integer(value: int) -> Data:
    """An integer (signed 8-bit) value."""
    return Data(DataType.INTEGER, value)


def enum(value: int) -> Data:
    """An enum value."""
    return Data(DataType.ENUM, value)


def octets(raw: bytes) -> Data:
    """An octet-string."""
    return Data(DataType.OCTET_STRING, raw)


@unique
class AccessMode(IntEnum):
    """attribute_access_mode of the association's object_list (Blue Book class 15)."""

    NO_ACCESS = 0
    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_AND_WRITE = 3


@dataclass(frozen=True, slots=True)
class Rights:
    """What one association may do with one object. Attributes not listed: no access."""

    attributes: Mapping[int, AccessMode] = field(default_factory=dict)
    methods: frozenset[int] = frozenset()

    def may_read(self, attribute: int) -> bool:
        """Whether GET of *attribute* is allowed."""
        mode = self.attributes.get(attribute, AccessMode.NO_ACCESS)
        return mode in (AccessMode.READ_ONLY, AccessMode.READ_AND_WRITE)

    def may_write(self, attribute: int) -> bool:
        """Whether SET of *attribute* is allowed."""
        mode = self.attributes.get(attribute, AccessMode.NO_ACCESS)
        return mode in (AccessMode.WRITE_ONLY, AccessMode.READ_AND_WRITE)

    @classmethod
    def read_only(cls, count: int) -> Rights:
        """Read every one of attributes 1..count, no methods."""
        return cls(dict.fromkeys(range(1, count + 1), AccessMode.READ_ONLY))


class RequestContext(Protocol):
    """What an object may know about the association asking (class 15 lists its rights)."""

    @property
    def association_name(self) -> str:
        """The association's name ("public", "optical", ...)."""
        ...


class CosemObject:
    """One COSEM object: its class, logical name and attribute/method bindings."""

    class_id: ClassVar[int] = 0
    version: ClassVar[int] = 0
    #: Attributes and methods the class defines (1..n): anything else is object-undefined.
    attribute_count: ClassVar[int] = 1
    method_count: ClassVar[int] = 0

    def __init__(self, obis: str) -> None:
        self.obis = obis
        self.logical_name = obis_to_bytes(obis)
        self.readers: dict[int, Reader] = {1: lambda: octets(self.logical_name)}
        self.writers: dict[int, Writer] = {}
        self.actions: dict[int, ActionHandler] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.obis!r})"

    def get(
        self, attribute: int, access: SelectiveAccess | None, context: RequestContext
    ) -> Data | DataAccessResult:
        """The attribute's value now (selective access only where the class defines it)."""
        if not 1 <= attribute <= self.attribute_count:
            return DataAccessResult.OBJECT_UNDEFINED
        if access is not None:
            return DataAccessResult.OTHER_REASON  # no selective access on this attribute
        reader = self.readers.get(attribute)
        if reader is None:
            return DataAccessResult.OBJECT_UNAVAILABLE
        return reader()

    def set(self, attribute: int, value: Data, context: RequestContext) -> DataAccessResult:
        """Write the attribute (the association's rights were checked by the caller)."""
        if not 1 <= attribute <= self.attribute_count:
            return DataAccessResult.OBJECT_UNDEFINED
        writer = self.writers.get(attribute)
        if writer is None:
            return DataAccessResult.READ_WRITE_DENIED
        return writer(value)

    def invoke(
        self, method: int, parameters: Data | None, context: RequestContext
    ) -> tuple[ActionResult, Data | None]:
        """Run the method (the association's rights were checked by the caller)."""
        if not 1 <= method <= self.method_count:
            return ActionResult.OBJECT_UNDEFINED, None
        handler = self.actions.get(method)
        if handler is None:
            return ActionResult.OBJECT_UNAVAILABLE, None
        return handler(parameters)

    def default_rights(self) -> Rights:
        """Read every attribute: the public association's default."""
        return Rights.read_only(self.attribute_count)


def typed_writer(expected: DataType, write: Callable[[Data], DataAccessResult]) -> Writer:
    """A writer that answers type-unmatched to any other A-XDR type."""

    def writer(value: Data) -> DataAccessResult:
        if value.type != expected:
            return DataAccessResult.TYPE_UNMATCHED
        return write(value)

    return writer


class DataObject(CosemObject):
    """Class 1 (Data), version 0: attribute 2 value."""

    class_id = 1
    attribute_count = 2

    def __init__(self, obis: str, value: Reader, write: Writer | None = None) -> None:
        super().__init__(obis)
        self.readers[2] = value
        if write is not None:
            self.writers[2] = write


def scaler_unit(scaler: int, unit: str | None) -> Data:
    """The scaler_unit structure {scaler integer, unit enum}.

    The Blue Book has no kilo units: a value in kWh at scaler s is Wh at scaler s + 3.
    """
    if unit is not None and unit not in UNITS and unit.startswith("k") and unit[1:] in UNITS:
        unit, scaler = unit[1:], scaler + 3
    return Data(DataType.STRUCTURE, (integer(scaler), enum(UNITS[unit])))


class Register(CosemObject):
    """Class 3 (Register), version 0: 2 value, 3 scaler_unit; method 1 reset."""

    class_id = 3
    attribute_count = 3
    method_count = 1

    def __init__(
        self,
        obis: str,
        value: Reader,
        scaler_unit: Reader,
        *,
        write: Writer | None = None,
        reset: ActionHandler | None = None,
    ) -> None:
        super().__init__(obis)
        self.readers[2] = value
        self.readers[3] = scaler_unit
        if write is not None:
            self.writers[2] = write
        if reset is not None:
            self.actions[1] = reset


class ExtendedRegister(Register):
    """Class 4 (Extended register), version 0: Register plus 4 status, 5 capture_time."""

    class_id = 4
    attribute_count = 5

    def __init__(
        self,
        obis: str,
        value: Reader,
        scaler_unit: Reader,
        status: Reader,
        capture_time: Reader,
        *,
        reset: ActionHandler | None = None,
    ) -> None:
        super().__init__(obis, value, scaler_unit, reset=reset)
        self.readers[4] = status
        self.readers[5] = capture_time


class Clock(CosemObject):
    """Class 8 (Clock), version 0.

    Attributes: 2 time (octet-string date-time), 3 time_zone (long, minutes), 4 status
    (unsigned), 5 daylight_savings_begin, 6 _end, 7 _deviation (integer), 8 _enabled (boolean),
    9 clock_base (enum). Methods: 1 adjust_to_quarter ... 6 shift_time (long, seconds).
    OMNIPOWER uses neither time_zone nor the status bits other than 0 and 7 ([DLMS] §3).
    """

    class_id = 8
    attribute_count = 9
    method_count = 6

    def __init__(
        self,
        obis: str,
        time: Callable[[], CosemDateTime],
        *,
        set_time: Callable[[CosemDateTime], DataAccessResult] | None = None,
        shift_time: Callable[[int], ActionResult] | None = None,
        dst_begin: bytes = bytes.fromhex("FFFF03FE07020000FF800000"),
        dst_end: bytes = bytes.fromhex("FFFF0AFE07030000FF800000"),
        dst_deviation_min: int = 60,
        dst_enabled: bool = True,
    ) -> None:
        super().__init__(obis)
        self.readers[2] = lambda: octets(time().to_bytes())
        self.readers[3] = lambda: Data(DataType.LONG, -0x8000)  # not used on OMNIPOWER
        self.readers[4] = lambda: unsigned(time().clock_status)
        self.readers[5] = lambda: octets(dst_begin)
        self.readers[6] = lambda: octets(dst_end)
        self.readers[7] = lambda: integer(dst_deviation_min)
        self.readers[8] = lambda: Data(DataType.BOOLEAN, dst_enabled)
        self.readers[9] = lambda: enum(1)  # internal crystal
        if set_time is not None:
            setter = set_time

            def write_time(value: Data) -> DataAccessResult:
                try:
                    moment = CosemDateTime.from_bytes(value.value)
                except MalformedData:  # not 12 octets
                    return DataAccessResult.TYPE_UNMATCHED
                return setter(moment)

            self.writers[2] = typed_writer(DataType.OCTET_STRING, write_time)
        if shift_time is not None:
            shifter = shift_time

            def shift(parameters: Data | None) -> tuple[ActionResult, Data | None]:
                if parameters is None or parameters.type != DataType.LONG:
                    return ActionResult.TYPE_UNMATCHED, None
                return shifter(int(parameters.value)), None

            self.actions[6] = shift


@unique
class CommSpeed(IntEnum):
    """HDLC setup comm_speed (Blue Book class 23)."""

    BAUD_300 = 0
    BAUD_600 = 1
    BAUD_1200 = 2
    BAUD_2400 = 3
    BAUD_4800 = 4
    BAUD_9600 = 5
    BAUD_19200 = 6


class HdlcSetup(CosemObject):
    """Class 23 (IEC HDLC setup), version 1, as OMNIPOWER's defaults ([DLMS] §2.2).

    Attributes: 2 comm_speed, 3 window_size_transmit, 4 window_size_receive,
    5 max_info_field_length_transmit, 6 _receive, 7 inter_octet_time_out (ms),
    8 inactivity_time_out (s), 9 device_address.
    """

    class_id = 23
    version = 1
    attribute_count = 9

    def __init__(
        self,
        obis: str = "0.0.22.0.0.255",
        *,
        comm_speed: CommSpeed = CommSpeed.BAUD_9600,
        max_info: int = 1010,
        inter_octet_ms: int = 500,
        inactivity_s: int = 20,
        device_address: int = 32,
    ) -> None:
        super().__init__(obis)
        self.readers[2] = lambda: enum(comm_speed)
        self.readers[3] = lambda: unsigned(1)
        self.readers[4] = lambda: unsigned(1)
        self.readers[5] = lambda: long_unsigned(max_info)
        self.readers[6] = lambda: long_unsigned(max_info)
        self.readers[7] = lambda: long_unsigned(inter_octet_ms)
        self.readers[8] = lambda: long_unsigned(inactivity_s)
        self.readers[9] = lambda: long_unsigned(device_address)
