"""The emulator's firmware images: what a remote firmware update (image transfer) carries.

The data sheet names remote firmware update, and the object list has class 18 ([DLMS]
2.3.4), but Kamstrup's image format and signature are not public. The emulator defines its own,
so that a client can run the standard sequence and see both outcomes:

``MAGIC (8) | length (1) | firmware string (ASCII) | payload | SHA-256 of everything before (32)``

Verification checks the magic, the length and the digest; activation makes the firmware string
the meter's software revision (1.1.0.2.0.255, the 1107 readout's 0.2.0). A corrupted byte fails
the digest, so verification fails and nothing is activated.
"""

from __future__ import annotations

import hashlib
from typing import Final

__all__ = ["IMAGE_MAGIC", "ImageInvalid", "build_image", "image_signature", "verify_image"]

IMAGE_MAGIC: Final = b"OMNIFW1\x00"
_DIGEST: Final = 32


class ImageInvalid(ValueError):
    """The image does not verify (wrong magic, length or digest)."""


def build_image(firmware: str, payload: bytes = b"") -> bytes:
    """An image that activates *firmware* (a software revision such as "50981040-Q2")."""
    name = firmware.encode("ascii")
    if not 1 <= len(name) <= 32:
        raise ValueError("a firmware string of 1-32 ASCII characters")
    body = IMAGE_MAGIC + bytes([len(name)]) + name + payload
    return body + hashlib.sha256(body).digest()


def image_signature(image: bytes) -> bytes:
    """The image's trailing digest (its signature in image_to_activate_info)."""
    return image[-_DIGEST:]


def verify_image(image: bytes) -> str:
    """The firmware string the image activates; :class:`ImageInvalid` when it does not verify."""
    if len(image) < len(IMAGE_MAGIC) + 2 + _DIGEST or not image.startswith(IMAGE_MAGIC):
        raise ImageInvalid("not an OMNIPOWER emulator image")
    body, digest = image[:-_DIGEST], image[-_DIGEST:]
    if hashlib.sha256(body).digest() != digest:
        raise ImageInvalid("the image's digest does not match: corrupted in transfer?")
    length = body[len(IMAGE_MAGIC)]
    name = body[len(IMAGE_MAGIC) + 1 : len(IMAGE_MAGIC) + 1 + length]
    if len(name) != length or not name.isascii() or not name.decode().isprintable():
        raise ImageInvalid("the image's firmware string is malformed")
    return name.decode("ascii")
