"""Class 18 (image transfer) on the model: the sequence's rules and what activation changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccc_gateway.protocol.axdr import Data, DataType
from ccc_gateway.protocol.dlms.enums import ActionResult
from meter_emulator.dlms.image_transfer import ImageTransfer, ImageTransferStatus
from meter_emulator.dlms.model_provider import image_transfer_for
from meter_emulator.model import Meter, parse_config
from meter_emulator.model.firmware import ImageInvalid, build_image, verify_image
from meter_emulator.model.state import dump_state, restore_state


def u32(value: int) -> Data:
    return Data(DataType.DOUBLE_LONG_UNSIGNED, value)


def octets(value: bytes) -> Data:
    return Data(DataType.OCTET_STRING, value)


def initiate(size: int) -> Data:
    return Data(DataType.STRUCTURE, (octets(b"id"), u32(size)))


def block(number: int, value: bytes) -> Data:
    return Data(DataType.STRUCTURE, (u32(number), octets(value)))


def meter() -> Meter:
    return Meter(parse_config({}), start=datetime(2024, 6, 3, tzinfo=UTC))


def run(obj: ImageTransfer, method: int, parameters: Data | None) -> ActionResult:
    return obj.actions[method](parameters)[0]


def send(obj: ImageTransfer, image: bytes) -> None:
    size = obj.block_size
    for number in range(-(-len(image) // size)):
        assert run(obj, 2, block(number, image[number * size : (number + 1) * size])) == 0


def test_the_image_format_verifies_and_names_its_firmware() -> None:
    image = build_image("50981040-Q9", b"payload")
    assert verify_image(image) == "50981040-Q9"
    for index in (0, 12, len(image) - 1):
        broken = bytearray(image)
        broken[index] ^= 0xFF
        with pytest.raises(ImageInvalid):
            verify_image(bytes(broken))


def test_out_of_order_calls_are_refused_and_change_nothing() -> None:
    model = meter()
    obj = image_transfer_for(model)
    image = build_image("50981040-Q9", bytes(500))
    assert run(obj, 2, block(0, image[:192])) == ActionResult.TEMPORARY_FAILURE
    assert run(obj, 4, Data(DataType.INTEGER, 0)) == ActionResult.TEMPORARY_FAILURE
    assert run(obj, 1, u32(5)) == ActionResult.TYPE_UNMATCHED
    assert obj.status is ImageTransferStatus.NOT_INITIATED
    assert run(obj, 1, initiate(len(image))) == ActionResult.SUCCESS
    assert run(obj, 2, block(0, image[:100])) == ActionResult.OTHER_REASON  # short block
    assert run(obj, 2, block(9, image[:192])) == ActionResult.OTHER_REASON  # past the end
    assert run(obj, 3, Data(DataType.INTEGER, 0)) == ActionResult.OTHER_REASON  # blocks missing
    assert obj.status is ImageTransferStatus.VERIFICATION_FAILED
    assert model.identity.firmware == "50981040-Q1"


def test_activation_changes_the_firmware_and_survives_a_restart() -> None:
    model = meter()
    obj = image_transfer_for(model)
    image = build_image("50981040-Q9", bytes(500))
    assert run(obj, 1, initiate(len(image))) == ActionResult.SUCCESS
    send(obj, image)
    assert obj.readers[4]() == u32(obj.block_count)
    assert run(obj, 3, Data(DataType.INTEGER, 0)) == ActionResult.SUCCESS
    assert run(obj, 4, Data(DataType.INTEGER, 0)) == ActionResult.SUCCESS
    assert obj.status is ImageTransferStatus.ACTIVATION_SUCCESSFUL
    assert model.identity.firmware == "50981040-Q9"
    assert model.readings()["0.2.0"] == ("50981040-Q9", "")
    again = meter()
    restore_state(again, dump_state(model))
    assert again.identity.firmware == "50981040-Q9"
