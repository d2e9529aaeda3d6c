"""The codes of the xDLMS and ACSE services, named as in the Green Book.

Sources: DLMS UA Green Book (IEC 62056-5-3) ASN.1 of the xDLMS APDUs (Data-Access-Result,
Action-Result, Conformance, Exception-Response, ServiceError) and of the ACSE (association-result,
acse-service-user/provider diagnostics, release reasons). [DLMS] §4 lists the subset the
OMNIPOWER documentation uses.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag, unique
from typing import Final

__all__ = [
    "LN_REFERENCING_CIPHERED",
    "LN_REFERENCING_NO_CIPHERING",
    "MECHANISM_HLS_GMAC",
    "MECHANISM_LLS",
    "AcseServiceProviderDiagnostic",
    "AcseServiceUserDiagnostic",
    "ActionResult",
    "AssociationResult",
    "ConfirmedServiceErrorChoice",
    "Conformance",
    "DataAccessResult",
    "ExceptionServiceError",
    "ExceptionStateError",
    "InitiateError",
    "ReleaseRequestReason",
    "ReleaseResponseReason",
    "ServiceErrorType",
]

# Object identifiers under {joint-iso-ccitt(2) country(16) country-name(756)
# identified-organization(5) DLMS-UA(8)}: 60 85 74 05 08 is its BER content prefix.
_DLMS_UA: Final = bytes.fromhex("6085740508")
#: application-context-name 1: Logical_Name_Referencing_No_Ciphering.
LN_REFERENCING_NO_CIPHERING: Final = _DLMS_UA + b"\x01\x01"
#: application-context-name 3: Logical_Name_Referencing_With_Ciphering.
LN_REFERENCING_CIPHERED: Final = _DLMS_UA + b"\x01\x03"
#: mechanism-name 1: low level security (password).
MECHANISM_LLS: Final = _DLMS_UA + b"\x02\x01"
#: mechanism-name 5: high level security with GMAC.
MECHANISM_HLS_GMAC: Final = _DLMS_UA + b"\x02\x05"


@unique
class DataAccessResult(IntEnum):
    """Data-Access-Result: why a GET or SET did (not) succeed."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_GET_ABORTED = 15
    NO_LONG_GET_IN_PROGRESS = 16
    LONG_SET_ABORTED = 17
    NO_LONG_SET_IN_PROGRESS = 18
    DATA_BLOCK_NUMBER_INVALID = 19
    OTHER_REASON = 250


@unique
class ActionResult(IntEnum):
    """Action-Result: the outcome of an ACTION."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_ACTION_ABORTED = 15
    NO_LONG_ACTION_IN_PROGRESS = 16
    OTHER_REASON = 250


@unique
class AssociationResult(IntEnum):
    """AARE result (Association-result)."""

    ACCEPTED = 0
    REJECTED_PERMANENT = 1
    REJECTED_TRANSIENT = 2


@unique
class AcseServiceUserDiagnostic(IntEnum):
    """AARE result-source-diagnostic, acse-service-user [1]."""

    NULL = 0
    NO_REASON_GIVEN = 1
    APPLICATION_CONTEXT_NAME_NOT_SUPPORTED = 2
    CALLING_AP_TITLE_NOT_RECOGNIZED = 3
    CALLING_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 4
    CALLING_AE_QUALIFIER_NOT_RECOGNIZED = 5
    CALLING_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 6
    CALLED_AP_TITLE_NOT_RECOGNIZED = 7
    CALLED_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 8
    CALLED_AE_QUALIFIER_NOT_RECOGNIZED = 9
    CALLED_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 10
    AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED = 11
    AUTHENTICATION_MECHANISM_NAME_REQUIRED = 12
    AUTHENTICATION_FAILURE = 13
    AUTHENTICATION_REQUIRED = 14


@unique
class AcseServiceProviderDiagnostic(IntEnum):
    """AARE result-source-diagnostic, acse-service-provider [2]."""

    NULL = 0
    NO_REASON_GIVEN = 1
    NO_COMMON_ACSE_VERSION = 2


@unique
class ReleaseRequestReason(IntEnum):
    """RLRQ reason."""

    NORMAL = 0
    URGENT = 1
    USER_DEFINED = 30


@unique
class ReleaseResponseReason(IntEnum):
    """RLRE reason."""

    NORMAL = 0
    NOT_FINISHED = 1
    USER_DEFINED = 30


class Conformance(IntFlag):
    """The 24-bit conformance block, valued as the 3 bytes read big-endian.

    Bit n of the ASN.1 BIT STRING (n = 0 is the first, most significant bit) is ``1 << (23 - n)``,
    so the vendor example's ``00 18 1D`` reads as block-transfer-with-get | block-transfer-with-set
    | get | set | selective-access | action.
    """

    GENERAL_PROTECTION = 1 << (23 - 1)
    GENERAL_BLOCK_TRANSFER = 1 << (23 - 2)
    READ = 1 << (23 - 3)
    WRITE = 1 << (23 - 4)
    UNCONFIRMED_WRITE = 1 << (23 - 5)
    DELTA_VALUE_ENCODING = 1 << (23 - 6)
    ATTRIBUTE0_SUPPORTED_WITH_SET = 1 << (23 - 8)
    PRIORITY_MGMT_SUPPORTED = 1 << (23 - 9)
    ATTRIBUTE0_SUPPORTED_WITH_GET = 1 << (23 - 10)
    BLOCK_TRANSFER_WITH_GET_OR_READ = 1 << (23 - 11)
    BLOCK_TRANSFER_WITH_SET_OR_WRITE = 1 << (23 - 12)
    BLOCK_TRANSFER_WITH_ACTION = 1 << (23 - 13)
    MULTIPLE_REFERENCES = 1 << (23 - 14)
    INFORMATION_REPORT = 1 << (23 - 15)
    DATA_NOTIFICATION = 1 << (23 - 16)
    ACCESS = 1 << (23 - 17)
    PARAMETERIZED_ACCESS = 1 << (23 - 18)
    GET = 1 << (23 - 19)
    SET = 1 << (23 - 20)
    SELECTIVE_ACCESS = 1 << (23 - 21)
    EVENT_NOTIFICATION = 1 << (23 - 22)
    ACTION = 1 << (23 - 23)


@unique
class ExceptionStateError(IntEnum):
    """exception-response state-error."""

    SERVICE_NOT_ALLOWED = 1
    SERVICE_UNKNOWN = 2


@unique
class ExceptionServiceError(IntEnum):
    """exception-response service-error (6 carries the expected invocation counter)."""

    OPERATION_NOT_POSSIBLE = 1
    SERVICE_NOT_SUPPORTED = 2
    OTHER_REASON = 3
    PDU_TOO_LONG = 4
    DECIPHERING_ERROR = 5
    INVOCATION_COUNTER_ERROR = 6


@unique
class ConfirmedServiceErrorChoice(IntEnum):
    """Which service a confirmed-service-error answers (its first CHOICE)."""

    INITIATE_ERROR = 1
    GET_STATUS = 2
    GET_NAME_LIST = 3
    GET_VARIABLE_ATTRIBUTE = 4
    READ = 5
    WRITE = 6
    GET_DATA_SET_ATTRIBUTE = 7
    GET_TI_ATTRIBUTE = 8
    CHANGE_SCOPE = 9
    START = 10
    STOP = 11
    RESUME = 12
    MAKE_USABLE = 13
    INITIATE_LOAD = 14
    LOAD_SEGMENT = 15
    TERMINATE_LOAD = 16
    INITIATE_UPLOAD = 17
    UPLOAD_SEGMENT = 18
    TERMINATE_UPLOAD = 19


@unique
class ServiceErrorType(IntEnum):
    """ServiceError CHOICE: the kind of error (its value is an enum of that kind)."""

    APPLICATION_REFERENCE = 0
    HARDWARE_RESOURCE = 1
    VDE_STATE_ERROR = 2
    SERVICE = 3
    DEFINITION = 4
    ACCESS = 5
    INITIATE = 6
    LOAD_DATA_SET = 7
    CHANGE_SCOPE = 8
    TASK = 9
    OTHER = 10


@unique
class InitiateError(IntEnum):
    """ServiceError initiate [6] values."""

    OTHER = 0
    DLMS_VERSION_TOO_LOW = 1
    INCOMPATIBLE_CONFORMANCE = 2
    PDU_SIZE_TOO_SHORT = 3
    REFUSED_BY_THE_VDE_HANDLER = 4
