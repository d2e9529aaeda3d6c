"""The pure, synchronous protocol core shared by the gateway and the emulator.

No I/O, no clock reads, no logging: bytes in, typed values and named errors out.
"""

from .axdr import BitString, CosemDateTime, Data, DataType, decode_data, encode_data
from .cipher import InvocationCounterStore, Keys, MemoryCounterStore, SecurityContext
from .decode import PushDecoder, decode_apdu, decode_frame, decode_information
from .errors import (
    AuthenticationFailed,
    DecryptionFailed,
    FcsError,
    FrameTooLong,
    FrameTruncated,
    HcsError,
    InvalidFrameFormat,
    InvalidLlc,
    KeysSwapped,
    LocalProtocolError,
    MalformedData,
    MissingKey,
    OmnipowerError,
    RemoteProtocolError,
    ReplayedFrame,
    UnknownApdu,
    UnknownListVersion,
)
from .events import Event, FrameReceived, FrameRejected, PushReceived
from .frame_reader import FrameReader
from .hdlc import HdlcAddress, HdlcFrame, encode_frame, parse_frame
from .push import ListKind, Push, Reading, Resolution

__all__ = [
    "AuthenticationFailed",
    "BitString",
    "CosemDateTime",
    "Data",
    "DataType",
    "DecryptionFailed",
    "Event",
    "FcsError",
    "FrameReader",
    "FrameReceived",
    "FrameRejected",
    "FrameTooLong",
    "FrameTruncated",
    "HcsError",
    "HdlcAddress",
    "HdlcFrame",
    "InvalidFrameFormat",
    "InvalidLlc",
    "InvocationCounterStore",
    "Keys",
    "KeysSwapped",
    "ListKind",
    "LocalProtocolError",
    "MalformedData",
    "MemoryCounterStore",
    "MissingKey",
    "OmnipowerError",
    "Push",
    "PushDecoder",
    "PushReceived",
    "Reading",
    "RemoteProtocolError",
    "ReplayedFrame",
    "Resolution",
    "SecurityContext",
    "UnknownApdu",
    "UnknownListVersion",
    "decode_apdu",
    "decode_data",
    "decode_frame",
    "decode_information",
    "encode_data",
    "encode_frame",
    "parse_frame",
]
