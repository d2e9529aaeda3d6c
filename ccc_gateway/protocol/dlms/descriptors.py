"""What a request points at: COSEM attribute and method descriptors, and selective access.

Green Book xDLMS ASN.1: Cosem-Attribute-Descriptor {class-id Unsigned16, instance-id OCTET
STRING (SIZE 6), attribute-id Integer8}, Cosem-Method-Descriptor (same with method-id) and
Selective-Access-Descriptor {access-selector Unsigned8, access-parameters Data}. The two selectors
of profile generic (class 7, Blue Book 4.3.6) are typed here: 1 range_descriptor and 2
entry_descriptor ([DLMS] §4 shows a Kamstrup range read byte by byte).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Self

from ..axdr import Data, DataType, encode_data
from ..errors import MalformedData
from ..obis import obis_from_bytes, obis_to_bytes
from .wire import Reader

__all__ = [
    "RANGE_DESCRIPTOR",
    "AttributeDescriptor",
    "CaptureObject",
    "EntryDescriptor",
    "MethodDescriptor",
    "RangeDescriptor",
    "SelectiveAccess",
    "parse_access_parameters",
]

#: access-selector of profile generic: 1 by range of a restricting value, 2 by entry numbers.
RANGE_DESCRIPTOR: Final = 1
ENTRY_DESCRIPTOR: Final = 2


def _instance(raw: bytes) -> bytes:
    if len(raw) != 6:
        raise ValueError(f"a logical name is 6 bytes, not {len(raw)}")
    return raw


def _integer8(value: int, what: str) -> int:
    """An Integer8 index, signed as the wire carries it.

    Manufacturer-specific attributes and methods are the negative ones; Kamstrup's documents
    number them as unsigned bytes (the load profile's LoggerStatus is "attribute 255"), so
    128..255 are accepted and stored as -128..-1.
    """
    if not -128 <= value <= 255:
        raise ValueError(f"{what} {value} does not fit an Integer8")
    return value - 256 if value > 127 else value


@dataclass(frozen=True, slots=True)
class AttributeDescriptor:
    """One attribute of one COSEM object: class, logical name (6 bytes) and attribute index."""

    class_id: int
    instance: bytes
    attribute: int

    def __post_init__(self) -> None:
        _instance(self.instance)
        object.__setattr__(self, "attribute", _integer8(self.attribute, "attribute"))

    @classmethod
    def of(cls, class_id: int, obis: str, attribute: int) -> Self:
        """From an OBIS string such as "1.1.0.0.1.255"."""
        return cls(class_id, obis_to_bytes(obis), attribute)

    @property
    def obis(self) -> str:
        """The logical name as "A.B.C.D.E.F"."""
        return obis_from_bytes(self.instance)

    def to_bytes(self) -> bytes:
        """class-id, instance-id, attribute-id."""
        return (
            self.class_id.to_bytes(2, "big")
            + self.instance
            + self.attribute.to_bytes(1, "big", signed=True)
        )

    @classmethod
    def read(cls, reader: Reader) -> Self:
        """Read one descriptor."""
        return cls(reader.u16("class-id"), reader.take(6, "instance-id"), reader.i8("attribute-id"))


@dataclass(frozen=True, slots=True)
class MethodDescriptor:
    """One method of one COSEM object."""

    class_id: int
    instance: bytes
    method: int

    def __post_init__(self) -> None:
        _instance(self.instance)
        object.__setattr__(self, "method", _integer8(self.method, "method"))

    @classmethod
    def of(cls, class_id: int, obis: str, method: int) -> Self:
        """From an OBIS string."""
        return cls(class_id, obis_to_bytes(obis), method)

    @property
    def obis(self) -> str:
        """The logical name as "A.B.C.D.E.F"."""
        return obis_from_bytes(self.instance)

    def to_bytes(self) -> bytes:
        """class-id, instance-id, method-id."""
        return (
            self.class_id.to_bytes(2, "big")
            + self.instance
            + self.method.to_bytes(1, "big", signed=True)
        )

    @classmethod
    def read(cls, reader: Reader) -> Self:
        """Read one descriptor."""
        return cls(reader.u16("class-id"), reader.take(6, "instance-id"), reader.i8("method-id"))


@dataclass(frozen=True, slots=True)
class SelectiveAccess:
    """Selective-Access-Descriptor as sent: the selector and its parameters as Data."""

    selector: int
    parameters: Data

    def to_bytes(self) -> bytes:
        """access-selector, access-parameters."""
        return bytes([self.selector]) + encode_data(self.parameters)

    @classmethod
    def read(cls, reader: Reader) -> Self:
        """Read one descriptor."""
        return cls(reader.u8("access-selector"), reader.data())


def write_optional_access(access: SelectiveAccess | None) -> bytes:
    """The OPTIONAL access-selection field."""
    return b"\x00" if access is None else b"\x01" + access.to_bytes()


def read_optional_access(reader: Reader) -> SelectiveAccess | None:
    """Read the OPTIONAL access-selection field."""
    return SelectiveAccess.read(reader) if reader.optional("access-selection") else None


# --- profile generic selectors ------------------------------------------------------------------


def _long_unsigned(value: int) -> Data:
    return Data(DataType.LONG_UNSIGNED, value)


@dataclass(frozen=True, slots=True)
class CaptureObject:
    """capture_object_definition {class_id, logical_name, attribute_index, data_index}."""

    class_id: int
    instance: bytes
    attribute: int
    data_index: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "attribute", _integer8(self.attribute, "attribute_index"))

    def to_data(self) -> Data:
        """The structure of four elements."""
        return Data(
            DataType.STRUCTURE,
            (
                _long_unsigned(self.class_id),
                Data(DataType.OCTET_STRING, self.instance),
                Data(DataType.INTEGER, self.attribute),
                _long_unsigned(self.data_index),
            ),
        )

    @classmethod
    def from_data(cls, value: Data) -> Self:
        """Read a capture_object_definition; MalformedData if the shape is wrong."""
        items = _fields(value, 4, "capture_object_definition")
        class_id, instance, attribute, data_index = (item.value for item in items)
        if not (
            isinstance(class_id, int)
            and isinstance(instance, bytes)
            and len(instance) == 6
            and isinstance(attribute, int)
            and isinstance(data_index, int)
        ):
            raise MalformedData("capture_object_definition has wrong element types")
        return cls(class_id, instance, attribute, data_index)


def _fields(value: Data, count: int, what: str) -> tuple[Data, ...]:
    if value.type != DataType.STRUCTURE or len(value.value) != count:
        raise MalformedData(f"{what} is a structure of {count} elements")
    items: tuple[Data, ...] = value.value
    return items


@dataclass(frozen=True, slots=True)
class RangeDescriptor:
    """range_descriptor: entries whose restricting value lies in [from_value, to_value].

    ``selected_values`` empty means every captured column.
    """

    restricting_object: CaptureObject
    from_value: Data
    to_value: Data
    selected_values: tuple[CaptureObject, ...] = ()

    def to_access(self) -> SelectiveAccess:
        """The descriptor as selector 1 and its parameters."""
        return SelectiveAccess(
            RANGE_DESCRIPTOR,
            Data(
                DataType.STRUCTURE,
                (
                    self.restricting_object.to_data(),
                    self.from_value,
                    self.to_value,
                    Data(DataType.ARRAY, tuple(c.to_data() for c in self.selected_values)),
                ),
            ),
        )


@dataclass(frozen=True, slots=True)
class EntryDescriptor:
    """entry_descriptor: entries from_entry..to_entry (1-based, 0 = to the last), and columns."""

    from_entry: int
    to_entry: int = 0
    from_selected_value: int = 1
    to_selected_value: int = 0

    def to_access(self) -> SelectiveAccess:
        """The descriptor as selector 2 and its parameters."""
        return SelectiveAccess(
            ENTRY_DESCRIPTOR,
            Data(
                DataType.STRUCTURE,
                (
                    Data(DataType.DOUBLE_LONG_UNSIGNED, self.from_entry),
                    Data(DataType.DOUBLE_LONG_UNSIGNED, self.to_entry),
                    _long_unsigned(self.from_selected_value),
                    _long_unsigned(self.to_selected_value),
                ),
            ),
        )


def parse_access_parameters(access: SelectiveAccess) -> RangeDescriptor | EntryDescriptor:
    """The typed profile-generic descriptor; MalformedData for another selector or shape."""
    if access.selector == RANGE_DESCRIPTOR:
        restricting, from_value, to_value, selected = _fields(
            access.parameters, 4, "range_descriptor"
        )
        if selected.type != DataType.ARRAY:
            raise MalformedData("range_descriptor's selected_values is not an array")
        return RangeDescriptor(
            CaptureObject.from_data(restricting),
            from_value,
            to_value,
            tuple(CaptureObject.from_data(item) for item in selected.value),
        )
    if access.selector == ENTRY_DESCRIPTOR:
        items = _fields(access.parameters, 4, "entry_descriptor")
        expected = (
            DataType.DOUBLE_LONG_UNSIGNED,
            DataType.DOUBLE_LONG_UNSIGNED,
            DataType.LONG_UNSIGNED,
            DataType.LONG_UNSIGNED,
        )
        if tuple(item.type for item in items) != expected:
            raise MalformedData("entry_descriptor has wrong element types")
        return EntryDescriptor(*(int(item.value) for item in items))
    raise MalformedData(f"access selector {access.selector} is not a profile-generic selector")
