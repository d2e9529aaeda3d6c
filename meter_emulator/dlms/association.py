"""Associations a meter offers, and class 15 (Association LN) that describes the current one.

OMNIPOWER's associations ([DLMS] §2.4): public (client 16 to the management logical
device 1, no authentication, GET only), primary module (18), optical (19) and CCC (20, only
while push is disabled), the last three to logical device 16 with LLS. Which association a
request belongs to is settled by the HDLC addresses of the link it came on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final

from ccc_gateway.protocol.axdr import BitString, Data, DataType
from ccc_gateway.protocol.cipher import Keys
from ccc_gateway.protocol.dlms.descriptors import SelectiveAccess
from ccc_gateway.protocol.dlms.enums import (
    LN_REFERENCING_CIPHERED,
    LN_REFERENCING_NO_CIPHERING,
    MECHANISM_HLS_GMAC,
    MECHANISM_LLS,
    Conformance,
    DataAccessResult,
)

from .interface import AccessMode, CosemObject, RequestContext, enum, integer, long_unsigned
from .interface import unsigned as unsigned_data
from .registry import ObjectRegistry

__all__ = [
    "ASSOCIATION_LN",
    "AssociationConfig",
    "AssociationLn",
    "AssociationStatus",
    "Authentication",
    "HlsGmacServer",
]

#: The current association's object (Blue Book: 0.0.40.0.0.255).
ASSOCIATION_LN: Final = "0.0.40.0.0.255"


class Authentication(Enum):
    """The authentication mechanism an association requires."""

    NONE = "none"
    LLS = "lls"
    HLS_GMAC = "hls-gmac"


@dataclass(frozen=True, slots=True, repr=False)
class HlsGmacServer:
    """The meter's side of HLS mechanism 5 with glo-ciphering (optional on OMNIPOWER).

    The challenge (StoC) and the invocation counter come from outside: the runtime draws the
    random bytes and the model persists the counter, so the server itself stays pure.
    """

    keys: Keys
    system_title: bytes
    challenge: Callable[[], bytes]
    next_invocation_counter: Callable[[], int]

    def __repr__(self) -> str:
        return f"HlsGmacServer(system_title={self.system_title.hex().upper()}, <keys redacted>)"


@dataclass(frozen=True, slots=True)
class AssociationConfig:
    """One association the meter accepts."""

    name: str
    client_sap: int
    logical_device: int
    conformance: Conformance
    authentication: Authentication = Authentication.NONE
    password: bytes | None = None
    #: The server's max receive PDU size announced in the InitiateResponse.
    max_receive_pdu_size: int = 1010
    #: Whether the association may be opened now (the CCC one only while push is off).
    available: Callable[[], bool] = lambda: True
    #: Keys and title when ``authentication`` is HLS-GMAC.
    hls: HlsGmacServer | None = None
    #: Whether it may write the R(W) objects (only the primary module's association may).
    writes_module_objects: bool = False


class AssociationStatus(Enum):
    """association_status (attribute 8)."""

    NON_ASSOCIATED = 0
    ASSOCIATION_PENDING = 1
    ASSOCIATED = 2


def _oid_structure(oid: bytes) -> Data:
    """An OID under DLMS UA as the 7-element structure of class 15 (2.16.756.5.8.x.y)."""
    tail = oid[-2:]
    return Data(
        DataType.STRUCTURE,
        (
            unsigned_data(2),
            unsigned_data(16),
            long_unsigned(756),
            unsigned_data(5),
            unsigned_data(8),
            unsigned_data(tail[0]),
            unsigned_data(tail[1]),
        ),
    )


class AssociationLn(CosemObject):
    """Class 15 (Association LN), version 0: whichever association asks sees itself.

    Attributes: 2 object_list, 3 associated_partners_id, 4 application_context_name,
    5 xDLMS_context_info, 6 authentication_mechanism_name, 7 secret (never readable),
    8 association_status. The methods (HLS replies, object list changes) are not offered.

    Version 0, not 1: version 1 adds attribute 9, security_setup_reference, the logical name
    of a Security setup object (class 64), and OMNIPOWER's object list has no class 64
    ([DLMS] §3). Declaring version 1 with 8 attributes made a generic client that
    reads every attribute of the class version fail on attribute 9 (issue 13).
    """

    class_id = 15
    version = 0
    attribute_count = 8
    method_count = 4

    def __init__(
        self,
        registry: ObjectRegistry,
        configs: Mapping[str, AssociationConfig],
        obis: str = ASSOCIATION_LN,
    ) -> None:
        super().__init__(obis)
        self.registry = registry
        self.configs = dict(configs)

    def get(
        self, attribute: int, access: SelectiveAccess | None, context: RequestContext
    ) -> Data | DataAccessResult:
        """Attributes computed for the association asking."""
        config = self.configs.get(context.association_name)
        if config is None or attribute in (1, 7) or not 1 <= attribute <= 8 or access:
            return super().get(attribute, access, context)
        if attribute == 2:
            return self._object_list(config.name)
        if attribute == 3:
            return Data(
                DataType.STRUCTURE,
                (integer(config.client_sap), long_unsigned(config.logical_device)),
            )
        if attribute == 4:
            hls = config.authentication is Authentication.HLS_GMAC
            return _oid_structure(LN_REFERENCING_CIPHERED if hls else LN_REFERENCING_NO_CIPHERING)
        if attribute == 5:
            conformance = format(int(config.conformance), "024b")
            return Data(
                DataType.STRUCTURE,
                (
                    Data(DataType.BIT_STRING, BitString(conformance)),
                    long_unsigned(config.max_receive_pdu_size),
                    long_unsigned(config.max_receive_pdu_size),
                    unsigned_data(6),
                    integer(0),
                    Data(DataType.OCTET_STRING, b""),
                ),
            )
        if attribute == 6:
            if config.authentication is Authentication.LLS:
                return _oid_structure(MECHANISM_LLS)
            if config.authentication is Authentication.HLS_GMAC:
                return _oid_structure(MECHANISM_HLS_GMAC)
            return Data(DataType.NULL_DATA, None)
        return enum(AssociationStatus.ASSOCIATED.value)

    def _object_list(self, association: str) -> Data:
        elements = []
        for obj, rights in self.registry.visible(association):
            attribute_access = tuple(
                Data(
                    DataType.STRUCTURE,
                    (
                        integer(index),
                        enum(rights.attributes.get(index, AccessMode.NO_ACCESS)),
                        Data(DataType.NULL_DATA, None),
                    ),
                )
                for index in range(1, obj.attribute_count + 1)
            )
            method_access = tuple(
                Data(
                    DataType.STRUCTURE,
                    (integer(index), enum(1 if index in rights.methods else 0)),
                )
                for index in range(1, obj.method_count + 1)
            )
            elements.append(
                Data(
                    DataType.STRUCTURE,
                    (
                        long_unsigned(obj.class_id),
                        unsigned_data(obj.version),
                        Data(DataType.OCTET_STRING, obj.logical_name),
                        Data(
                            DataType.STRUCTURE,
                            (
                                Data(DataType.ARRAY, attribute_access),
                                Data(DataType.ARRAY, method_access),
                            ),
                        ),
                    ),
                )
            )
        return Data(DataType.ARRAY, tuple(elements))
