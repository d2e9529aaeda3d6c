"""Remote display configuration: the three display lists as class 7 display readout objects.

The data sheet says the display can be configured remotely, as three lists (automatic 16,
manual 30, battery 8 readings; legal readings cannot be deselected), but OMNIPOWER's object
list does not name their objects. The emulator uses the Blue Book's display readout profiles
(OBIS 0.0.21.0.x: 1 general = automatic, 2 alternate = manual, 3 service = battery), whose
capture_objects (attribute 3) are the readings shown, in order. Writing attribute 3 replaces
the list; a reading the meter lacks, a list over its limit, or a manual list without a legal
reading is refused (other-reason) and changes nothing. A reading ``C.D.E`` is the capture
object 1.1.C.D.E.255, attribute 2 (class 3 for measurements, class 1 otherwise); the buffer is
empty (the LCD shows one reading at a time, nothing is captured).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ccc_gateway.protocol.axdr import Data, DataType
from ccc_gateway.protocol.dlms.descriptors import CaptureObject
from ccc_gateway.protocol.dlms.enums import DataAccessResult
from ccc_gateway.protocol.errors import MalformedData

from .interface import CosemObject, enum

__all__ = ["DISPLAY_LISTS", "DisplayList", "capture_of", "code_of"]

#: List name → the display readout profile that holds it.
DISPLAY_LISTS: Final = {
    "auto": "0.0.21.0.1.255",
    "manual": "0.0.21.0.2.255",
    "battery": "0.0.21.0.3.255",
}
#: Display codes whose group C is not a measured quantity (identities, time, status).
_DATA_GROUPS: Final = frozenset({0, 96, 97, 128, 129, 130})


def capture_of(code: str) -> CaptureObject:
    """The capture object of display reading ``C.D.E``."""
    c, d, e = (int(part) for part in code.split("."))
    class_id = 1 if c in _DATA_GROUPS else 3
    return CaptureObject(class_id, bytes([1, 1, c, d, e, 255]), 2, 0)


def code_of(capture: CaptureObject) -> str:
    """The display reading ``C.D.E`` a capture object names."""
    return ".".join(str(part) for part in capture.instance[2:5])


def _u32(value: int) -> Data:
    return Data(DataType.DOUBLE_LONG_UNSIGNED, value)


class DisplayList(CosemObject):
    """One display list; *codes* reads it now, *configure* replaces it (ValueError: refused)."""

    class_id = 7
    version = 1
    attribute_count = 8
    method_count = 2

    def __init__(
        self,
        name: str,
        codes: Callable[[], tuple[str, ...]],
        configure: Callable[[tuple[str, ...]], None],
    ) -> None:
        super().__init__(DISPLAY_LISTS[name])
        self.name = name
        self._codes = codes
        self._configure = configure
        self.readers[2] = lambda: Data(DataType.ARRAY, ())
        self.readers[3] = lambda: Data(
            DataType.ARRAY, tuple(capture_of(code).to_data() for code in self._codes())
        )
        self.readers[4] = lambda: _u32(0)
        self.readers[5] = lambda: enum(1)  # fifo
        self.readers[6] = lambda: CaptureObject(0, bytes(6), 0, 0).to_data()
        self.readers[7] = lambda: _u32(0)
        self.readers[8] = lambda: _u32(0)
        self.writers[3] = self._write

    def _write(self, value: Data) -> DataAccessResult:
        if value.type != DataType.ARRAY:
            return DataAccessResult.TYPE_UNMATCHED
        try:
            codes = tuple(code_of(CaptureObject.from_data(item)) for item in value.value)
        except MalformedData:
            return DataAccessResult.TYPE_UNMATCHED
        try:
            self._configure(codes)
        except ValueError:
            return DataAccessResult.OTHER_REASON
        return DataAccessResult.SUCCESS
