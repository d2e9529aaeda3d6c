"""The OMNIPOWER object model over DLMS: what the meter model must provide, and the registry
and associations built on it.

The object table is :data:`ccc_gateway.protocol.omnipower_objects.OBJECTS`, shared with the
gateway's client so names, classes and access can never disagree. The meter model plugs in
through :class:`MeterProvider`; every value is read from it at the moment of the request.

Access ([DLMS] §2.4 and §3): the authenticated associations (LLS: primary module 18,
optical 19, CCC 20; or an HLS one) read every attribute and write attribute 2 of the RW objects;
R(W) objects are written only by the primary module, so the optical port gets
read-write-denied. The public association (16 to logical device 1) only reads. The load
profile's capture_period (attribute 4) is RW, and the clock's time (attribute 2) and
shift_time (method 6) are open to the authenticated associations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, Protocol

from ccc_gateway.protocol.axdr import CosemDateTime, Data, DataType
from ccc_gateway.protocol.dlms.descriptors import CaptureObject
from ccc_gateway.protocol.dlms.enums import ActionResult, Conformance, DataAccessResult
from ccc_gateway.protocol.omnipower_objects import OBJECTS, Access
from ccc_gateway.protocol.omnipower_objects import CosemObject as ObjectInfo

from .association import AssociationConfig, AssociationLn, Authentication, HlsGmacServer
from .display_lists import DisplayList
from .image_transfer import ImageTransfer
from .interface import (
    AccessMode,
    Clock,
    CosemObject,
    DataObject,
    ExtendedRegister,
    HdlcSetup,
    Reader,
    Register,
    Rights,
    scaler_unit,
)
from .profile import ProfileGeneric
from .registry import ObjectRegistry

__all__ = [
    "HLS_CONFORMANCE",
    "LLS_CONFORMANCE",
    "PUBLIC_CONFORMANCE",
    "MeterProvider",
    "build_omnipower_registry",
    "omnipower_associations",
]

#: GET and block-GET only ([DLMS] §2.4).
PUBLIC_CONFORMANCE: Final = Conformance.GET | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
#: GET, block-GET, SET, ACTION and selective access.
LLS_CONFORMANCE: Final = (
    PUBLIC_CONFORMANCE | Conformance.SET | Conformance.ACTION | Conformance.SELECTIVE_ACCESS
)
#: The LLS services plus general protection (general-glo-ciphering), as the public hints on
#: OMNIPOWER's HLS association say ([DLMS] HLS, [GB] 9.2.7.4).
HLS_CONFORMANCE: Final = LLS_CONFORMANCE | Conformance.GENERAL_PROTECTION


class MeterProvider(Protocol):
    """What the meter model offers the DLMS server, by the object names of the shared table.

    Values are raw, at the meter's configured resolution, typed as the meter sends them (for
    example double-long-unsigned energies); :meth:`scaler` keeps attribute 3 consistent with
    the push resolution (docs/emulator.md).
    """

    def has(self, name: str) -> bool:
        """Whether this meter has the object (a single-phase meter has no L2/L3 registers)."""
        ...

    def value(self, name: str) -> Data | None:
        """Attribute 2 now; None when the value is unavailable at the moment."""
        ...

    def write(self, name: str, value: Data) -> DataAccessResult:
        """Write attribute 2 (rights already checked): success, type-unmatched, ..."""
        ...

    def scaler(self, name: str) -> int:
        """The scaler of a register's value."""
        ...

    def status(self, name: str) -> Data | None:
        """Attribute 4 of an extended register."""
        ...

    def capture_time(self, name: str) -> CosemDateTime | None:
        """Attribute 5 of an extended register."""
        ...

    def clock(self) -> CosemDateTime:
        """The meter clock now, with its DST status bit."""
        ...

    def set_clock(self, value: CosemDateTime) -> DataAccessResult:
        """Set the meter clock."""
        ...

    def shift_clock(self, seconds: int) -> ActionResult:
        """Shift the meter clock."""
        ...

    def capture_objects(self, name: str) -> Sequence[CaptureObject]:
        """The columns of a profile."""
        ...

    def profile_rows(self, name: str) -> Sequence[tuple[Data, ...]]:
        """A profile's buffer, oldest entry first."""
        ...

    def profile_entries(self, name: str) -> int:
        """A profile's capacity: the entries its logger holds when full (attribute 8)."""
        ...

    def capture_period(self, name: str) -> int:
        """A profile's capture period in seconds (0 for event-driven loggers)."""
        ...

    def set_capture_period(self, name: str, seconds: int) -> DataAccessResult:
        """Change a profile's capture period."""
        ...

    def standard_offset_min(self) -> int:
        """The meter's standard time from UTC in minutes (Z11): where its local stamps sit."""
        ...


def omnipower_associations(
    *,
    password: bytes = b"12345",
    ccc_available: Callable[[], bool] = lambda: True,
    firmware_f1: bool = False,
    hls: HlsGmacServer | None = None,
) -> tuple[AssociationConfig, ...]:
    """The four associations of [DLMS] §2.4 (optical and CCC SAPs swap on SW F1).

    With *hls* (local interface encryption, Z28 = 1) the three authenticated associations take
    HLS-GMAC with those keys instead of the LLS password, which they then refuse; the public
    association stays as it is (read-only, no secrets).
    """
    optical, ccc = (20, 19) if firmware_f1 else (19, 20)

    def secured(
        name: str, client_sap: int, *, available: Callable[[], bool] = lambda: True
    ) -> AssociationConfig:
        return AssociationConfig(
            name,
            client_sap,
            16,
            LLS_CONFORMANCE if hls is None else HLS_CONFORMANCE,
            Authentication.LLS if hls is None else Authentication.HLS_GMAC,
            password if hls is None else None,
            available=available,
            hls=hls,
            writes_module_objects=name == "primary",
        )

    return (
        AssociationConfig("public", 16, 1, PUBLIC_CONFORMANCE),
        secured("primary", 18),
        secured("optical", optical),
        secured("ccc", ccc, available=ccc_available),
    )


def _value(provider: MeterProvider, name: str) -> Reader:
    def read() -> Data | DataAccessResult:
        value = provider.value(name)
        return DataAccessResult.OBJECT_UNAVAILABLE if value is None else value

    return read


def _rights(
    obj: CosemObject, info: ObjectInfo, associations: Sequence[AssociationConfig]
) -> dict[str, Rights]:
    """Unauthenticated associations read; authenticated ones also write what the table allows."""
    read = dict.fromkeys(range(1, obj.attribute_count + 1), AccessMode.READ_ONLY)
    rights = {}
    for association in associations:
        if association.authentication is Authentication.NONE:
            rights[association.name] = Rights(read)
            continue
        attributes = dict(read)
        methods: frozenset[int] = frozenset()
        writable = info.access is Access.READ_WRITE or (
            info.access is Access.MODULE_WRITE and association.writes_module_objects
        )
        if writable:
            attributes[2] = AccessMode.READ_AND_WRITE
        if obj.class_id == 7:
            attributes[4] = AccessMode.READ_AND_WRITE  # capture_period
        if obj.class_id == 8:
            methods = frozenset({6})  # shift_time
        rights[association.name] = Rights(attributes, methods)
    return rights


def _object(provider: MeterProvider, info: ObjectInfo) -> CosemObject | None:
    name = info.name

    def write(value: Data) -> DataAccessResult:
        return provider.write(name, value)

    def unit_of() -> Data:
        return scaler_unit(provider.scaler(name), info.unit)

    if info.class_id == 1:
        return DataObject(info.obis, _value(provider, name), write)
    if info.class_id == 3:
        return Register(info.obis, _value(provider, name), unit_of, write=write)
    if info.class_id == 4:

        def status() -> Data | DataAccessResult:
            value = provider.status(name)
            return DataAccessResult.OBJECT_UNAVAILABLE if value is None else value

        def captured() -> Data | DataAccessResult:
            moment = provider.capture_time(name)
            if moment is None:
                return DataAccessResult.OBJECT_UNAVAILABLE
            return Data(DataType.OCTET_STRING, moment.to_bytes())

        return ExtendedRegister(info.obis, _value(provider, name), unit_of, status, captured)
    if info.class_id == 8:
        return Clock(
            info.obis,
            provider.clock,
            set_time=provider.set_clock,
            shift_time=provider.shift_clock,
        )
    if info.class_id == 7:

        def period() -> Data:
            return Data(DataType.DOUBLE_LONG_UNSIGNED, provider.capture_period(name))

        def write_period(value: Data) -> DataAccessResult:
            if value.type != DataType.DOUBLE_LONG_UNSIGNED:
                return DataAccessResult.TYPE_UNMATCHED
            return provider.set_capture_period(name, int(value.value))

        return ProfileGeneric(
            info.obis,
            provider.capture_objects(name),
            lambda: provider.profile_rows(name),
            profile_entries=lambda: provider.profile_entries(name),
            capture_period=period,
            write_capture_period=write_period,
            standard_offset_min=provider.standard_offset_min(),
        )
    return None


def build_omnipower_registry(
    provider: MeterProvider,
    associations: Sequence[AssociationConfig],
    *,
    image_transfer: ImageTransfer | None = None,
    display_lists: Sequence[DisplayList] = (),
) -> ObjectRegistry:
    """Every object of the shared table the meter has, plus Association LN and HDLC setup,
    Image transfer when given (read by all; its methods for authenticated associations) and
    the display lists (read by all; capture_objects written by authenticated associations)."""
    registry = ObjectRegistry()
    names = {a.name for a in associations}
    for info in OBJECTS:
        if not provider.has(info.name):
            continue
        obj = _object(provider, info)
        if obj is not None:
            registry.add(obj, _rights(obj, info, associations))
    association = AssociationLn(registry, {a.name: a for a in associations})
    everyone = Rights(
        {i: AccessMode.READ_ONLY for i in range(1, 9) if i != 7}  # the secret is never read
    )
    registry.add(association, dict.fromkeys(names, everyone))
    setup = HdlcSetup()
    registry.add(setup, dict.fromkeys(names, setup.default_rights()))
    for display in display_lists:
        reading = display.default_rights()
        writing = Rights({**reading.attributes, 3: AccessMode.READ_AND_WRITE})
        registry.add(
            display,
            {
                a.name: reading if a.authentication is Authentication.NONE else writing
                for a in associations
            },
        )
    if image_transfer is not None:
        reading = image_transfer.default_rights()
        registry.add(
            image_transfer,
            {
                a.name: reading
                if a.authentication is Authentication.NONE
                else Rights(reading.attributes, frozenset({1, 2, 3, 4}))
                for a in associations
            },
        )
    return registry
