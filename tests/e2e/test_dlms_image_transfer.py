"""A remote firmware update (class 18, image transfer) with Gurux's image-transfer client.

Over the real optical port on TCP, Gurux (``gurux-dlms``, its ``GXDLMSImageTransfer``) reads
the block size, initiates, sends every block, verifies and activates, as its documented
sequence goes; the meter's software revision (1.1.0.2.0.255) must change to the image's. A
corrupted image must fail verification (image_transfer_status 4), refuse activation, and leave
the firmware as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gurux_dlms.objects import GXDLMSData, GXDLMSImageTransfer
from gurux_dlms.objects.enums import ImageTransferStatus as GxStatus

from meter_emulator.model.firmware import build_image
from tests.e2e.test_dlms_peers import GuruxSession, emulated_meter, in_thread, optical_port

pytestmark = pytest.mark.slow

NEW_FIRMWARE = "50981040-Q2"


def gurux_updates(where: str, image: bytes) -> dict[str, Any]:
    session = GuruxSession(where, client=19, server=16, password="12345")
    session.open()
    firmware = GXDLMSData("1.1.0.2.0.255")
    before = session.read(firmware, 2).value
    transfer = GXDLMSImageTransfer()
    session.read(transfer, 5)  # image_transfer_enabled
    session.read(transfer, 2)  # image_block_size
    results = []
    reply = session.exchange(
        transfer.imageTransferInitiate(session.client, "OMNIPOWER", len(image))[0]
    )
    results.append(reply.error)
    for frames in transfer.imageBlockTransfer(session.client, image, None):
        # A block is longer than the HDLC information field: Gurux segments it, and the
        # meter acknowledges each segment with RR before it answers the last.
        for frame in frames:
            reply = session.exchange(frame)
        results.append(reply.error)
    session.read(transfer, 4)  # image_first_not_transferred_block_number
    first_missing = transfer.imageFirstNotTransferredBlockNumber
    verify = session.exchange(transfer.imageVerify(session.client)[0]).error
    status_after_verify = session.read(transfer, 6).imageTransferStatus
    activate = session.exchange(transfer.imageActivate(session.client)[0]).error
    status = session.read(transfer, 6).imageTransferStatus
    session.read(transfer, 7)
    after = session.read(firmware, 2).value
    session.close()
    return {
        "before": before,
        "after": after,
        "transfers": results,
        "blocks": -(-len(image) // transfer.imageBlockSize),
        "block_size": transfer.imageBlockSize,
        "first_missing": first_missing,
        "verify": verify,
        "verified_status": status_after_verify,
        "activate": activate,
        "status": status,
        "to_activate": [(i.size, bytes(i.identification)) for i in transfer.imageActivateInfo],
    }


async def test_gurux_updates_the_firmware_and_the_revision_changes(tmp_path: Path) -> None:
    meter = emulated_meter()
    image = build_image(NEW_FIRMWARE, payload=bytes(range(256)) * 4)
    async with optical_port(meter, "tcp", tmp_path) as where:
        done = await in_thread(where, lambda there: gurux_updates(there, image))
    assert done["before"] == "50981040-Q1"
    assert done["block_size"] == 192
    assert done["transfers"] == [0] * (1 + done["blocks"])
    assert done["first_missing"] == done["blocks"]
    assert (done["verify"], done["verified_status"]) == (0, GxStatus.IMAGE_VERIFICATION_SUCCESSFUL)
    assert (done["activate"], done["status"]) == (0, GxStatus.IMAGE_ACTIVATION_SUCCESSFUL)
    assert done["to_activate"] == [(len(image), b"OMNIPOWER")]
    assert done["after"] == NEW_FIRMWARE
    assert meter.identity.firmware == NEW_FIRMWARE


async def test_a_corrupt_image_fails_verification_and_is_not_activated(tmp_path: Path) -> None:
    meter = emulated_meter()
    image = bytearray(build_image(NEW_FIRMWARE, payload=bytes(1000)))
    image[500] ^= 0x01  # one bit flipped in transfer
    async with optical_port(meter, "tcp", tmp_path) as where:
        done = await in_thread(where, lambda there: gurux_updates(there, bytes(image)))
    assert done["transfers"] == [0] * (1 + done["blocks"])
    assert done["verify"] != 0
    assert done["verified_status"] == GxStatus.IMAGE_VERIFICATION_FAILED
    assert done["activate"] != 0
    assert done["status"] == GxStatus.IMAGE_VERIFICATION_FAILED
    assert done["after"] == "50981040-Q1"
    assert meter.identity.firmware == "50981040-Q1"
