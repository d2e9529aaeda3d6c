"""Class 18 (Image transfer), version 0: the remote firmware update the data sheet names.

Blue Book 4.4.6. Attributes: 2 image_block_size (double-long-unsigned), 3
image_transferred_blocks_status (bit-string, one bit per block), 4
image_first_not_transferred_block_number, 5 image_transfer_enabled (boolean), 6
image_transfer_status (enum, :class:`ImageTransferStatus`), 7 image_to_activate_info (array of
{size, identification, signature}). Methods: 1 image_transfer_initiate({identifier, size}), 2
image_block_transfer({number, value}), 3 image_verify(0), 4 image_activate(0).

The sequence: initiate (the blocks are forgotten, status initiated), every block (each but the
last exactly image_block_size long; a block may be sent again), verify (every block there and
the image verifying: status verification-successful, else verification-failed and
other-reason), activate (only a verified image: the firmware changes, status
activation-successful). Out of order, a call is refused with temporary-failure and changes
nothing. What "verifies" means is the meter model's (:mod:`meter_emulator.model.firmware`).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum, unique
from typing import Final

from ccc_gateway.protocol.axdr import BitString, Data, DataType
from ccc_gateway.protocol.dlms.enums import ActionResult

from .interface import CosemObject, enum

__all__ = ["IMAGE_BLOCK_SIZE", "IMAGE_TRANSFER", "ImageTransfer", "ImageTransferStatus"]

#: The object's logical name (Blue Book: 0.0.44.0.0.255).
IMAGE_TRANSFER: Final = "0.0.44.0.0.255"
#: Block size: fits one APDU within OMNIPOWER's 1010-byte PDUs with room to spare.
IMAGE_BLOCK_SIZE: Final = 192
#: Largest image accepted (a bound on what a client can make the emulator hold).
MAX_IMAGE_SIZE: Final = 1 << 20


@unique
class ImageTransferStatus(IntEnum):
    """image_transfer_status (Blue Book class 18 attribute 6)."""

    NOT_INITIATED = 0
    INITIATED = 1
    VERIFICATION_INITIATED = 2
    VERIFICATION_SUCCESSFUL = 3
    VERIFICATION_FAILED = 4
    ACTIVATION_INITIATED = 5
    ACTIVATION_SUCCESSFUL = 6
    ACTIVATION_FAILED = 7


def _u32(value: int) -> Data:
    return Data(DataType.DOUBLE_LONG_UNSIGNED, value)


def _fields(parameters: Data | None, *types: DataType) -> tuple[object, ...] | None:
    """The values of a structure whose elements have *types*, or None."""
    if parameters is None or parameters.type != DataType.STRUCTURE:
        return None
    items = parameters.value
    if len(items) != len(types) or any(i.type != t for i, t in zip(items, types, strict=True)):
        return None
    return tuple(i.value for i in items)


class ImageTransfer(CosemObject):
    """One image transfer at a time; *verify* names the firmware an image activates (None when
    it does not verify), *activate* installs a verified image."""

    class_id = 18
    attribute_count = 7
    method_count = 4

    def __init__(
        self,
        verify: Callable[[bytes], str | None],
        activate: Callable[[bytes], None],
        signature: Callable[[bytes], bytes],
        *,
        obis: str = IMAGE_TRANSFER,
        block_size: int = IMAGE_BLOCK_SIZE,
    ) -> None:
        super().__init__(obis)
        self._verify = verify
        self._activate = activate
        self._signature = signature
        self.block_size = block_size
        self.status = ImageTransferStatus.NOT_INITIATED
        self.identifier = b""
        self.size = 0
        self.blocks: dict[int, bytes] = {}
        self.readers[2] = lambda: _u32(self.block_size)
        self.readers[3] = self._blocks_status
        self.readers[4] = lambda: _u32(self._first_missing())
        self.readers[5] = lambda: Data(DataType.BOOLEAN, True)
        self.readers[6] = lambda: enum(self.status)
        self.readers[7] = self._to_activate
        self.actions[1] = self._initiate
        self.actions[2] = self._block
        self.actions[3] = self._verify_image
        self.actions[4] = self._activate_image

    @property
    def block_count(self) -> int:
        """Blocks the initiated image has."""
        return -(-self.size // self.block_size)

    def image(self) -> bytes:
        """The blocks received so far, in order."""
        return b"".join(self.blocks[n] for n in sorted(self.blocks))

    def _first_missing(self) -> int:
        return next((n for n in range(self.block_count) if n not in self.blocks), self.block_count)

    def _blocks_status(self) -> Data:
        bits = "".join("1" if n in self.blocks else "0" for n in range(self.block_count))
        return Data(DataType.BIT_STRING, BitString(bits))

    def _to_activate(self) -> Data:
        if self.status not in (
            ImageTransferStatus.VERIFICATION_SUCCESSFUL,
            ImageTransferStatus.ACTIVATION_SUCCESSFUL,
        ):
            return Data(DataType.ARRAY, ())
        info = Data(
            DataType.STRUCTURE,
            (
                _u32(self.size),
                Data(DataType.OCTET_STRING, self.identifier),
                Data(DataType.OCTET_STRING, self._signature(self.image())),
            ),
        )
        return Data(DataType.ARRAY, (info,))

    def _initiate(self, parameters: Data | None) -> tuple[ActionResult, Data | None]:
        fields = _fields(parameters, DataType.OCTET_STRING, DataType.DOUBLE_LONG_UNSIGNED)
        if fields is None:
            return ActionResult.TYPE_UNMATCHED, None
        identifier, size = fields
        assert isinstance(identifier, bytes)
        assert isinstance(size, int)
        if not 0 < size <= MAX_IMAGE_SIZE:
            return ActionResult.OTHER_REASON, None
        self.identifier, self.size = identifier, size
        self.blocks.clear()
        self.status = ImageTransferStatus.INITIATED
        return ActionResult.SUCCESS, None

    def _block(self, parameters: Data | None) -> tuple[ActionResult, Data | None]:
        fields = _fields(parameters, DataType.DOUBLE_LONG_UNSIGNED, DataType.OCTET_STRING)
        if fields is None:
            return ActionResult.TYPE_UNMATCHED, None
        number, value = fields
        assert isinstance(number, int)
        assert isinstance(value, bytes)
        if self.status is not ImageTransferStatus.INITIATED:
            return ActionResult.TEMPORARY_FAILURE, None
        if number >= self.block_count:
            return ActionResult.OTHER_REASON, None
        last = number == self.block_count - 1
        expected = self.size - number * self.block_size if last else self.block_size
        if len(value) != expected:
            return ActionResult.OTHER_REASON, None
        self.blocks[number] = value
        return ActionResult.SUCCESS, None

    def _verify_image(self, parameters: Data | None) -> tuple[ActionResult, Data | None]:
        if self.status not in (
            ImageTransferStatus.INITIATED,
            ImageTransferStatus.VERIFICATION_FAILED,
            ImageTransferStatus.VERIFICATION_SUCCESSFUL,
        ):
            return ActionResult.TEMPORARY_FAILURE, None
        if self._first_missing() != self.block_count:
            self.status = ImageTransferStatus.VERIFICATION_FAILED
            return ActionResult.OTHER_REASON, None
        if self._verify(self.image()) is None:
            self.status = ImageTransferStatus.VERIFICATION_FAILED
            return ActionResult.OTHER_REASON, None
        self.status = ImageTransferStatus.VERIFICATION_SUCCESSFUL
        return ActionResult.SUCCESS, None

    def _activate_image(self, parameters: Data | None) -> tuple[ActionResult, Data | None]:
        if self.status is not ImageTransferStatus.VERIFICATION_SUCCESSFUL:
            return ActionResult.TEMPORARY_FAILURE, None
        self._activate(self.image())
        self.status = ImageTransferStatus.ACTIVATION_SUCCESSFUL
        return ActionResult.SUCCESS, None
