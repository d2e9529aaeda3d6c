"""AES-128-GCM of DLMS security suite 0, and the invocation-counter replay guard.

Green Book 9.2.7 ([GB]): IV = system title (8) || invocation counter (4);
key = EK (GPK60, KeyType 64); tag truncated to 12 octets. The security control byte SC says
what was applied:

* 0x30 authenticated encryption: AAD = SC || AK;
* 0x20 encryption only: no tag, nothing to verify (a wrong key shows only as garbage);
* 0x10 authentication only: the APDU travels in clear, the tag covers AAD = SC || AK || APDU.

Through ``cryptography``; the Green Book vectors are tests.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from enum import Enum, unique
from typing import TYPE_CHECKING, Any, Final, Protocol

from ._record import record
from .hdlc import HdlcRoute

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers import (
        AEADDecryptionContext,
        AEADEncryptionContext,
        CipherContext,
    )

from .errors import (
    AddressMismatch,
    AuthenticationFailed,
    KeysSwapped,
    MalformedData,
    MissingKey,
    PlaintextRefused,
    ReplayedFrame,
    UnauthenticatedRefused,
)

__all__ = [
    "SC_AUTHENTICATED",
    "SC_AUTHENTICATED_ENCRYPTION",
    "SC_ENCRYPTED",
    "TAG_LENGTH",
    "InvocationCounterStore",
    "Keys",
    "MemoryCounterStore",
    "SecurityContext",
    "SecurityPolicy",
    "decrypt",
    "encrypt",
    "gmac",
]

TAG_LENGTH: Final = 12
SC_AUTHENTICATED: Final = 0x10
SC_ENCRYPTED: Final = 0x20
SC_AUTHENTICATED_ENCRYPTION: Final = 0x30
_SUITE_MASK: Final = 0x0F
_COMPRESSION: Final = 0x80


@record
class Keys:
    """The customer's global keys. ``repr`` never shows them (they end up in logs otherwise)."""

    encryption_key: bytes
    authentication_key: bytes | None = None

    def __post_init__(self) -> None:
        if len(self.encryption_key) != 16:
            raise ValueError("the encryption key (KeyType 64) is 16 bytes (32 hex digits)")
        if self.authentication_key is not None and len(self.authentication_key) != 16:
            raise ValueError("the authentication key (KeyType 65) is 16 bytes (32 hex digits)")

    def __repr__(self) -> str:
        return "Keys(<redacted>)"


# ``cryptography`` is imported where it is used, so a plaintext meter (and the decode CLI on a
# plaintext capture) never pays its import (~20 ms, ~8 MiB of its OpenSSL binding). Only
# ``cryptography.hazmat.primitives.ciphers``: its AEAD classes (AESGCM) need the full 16-byte
# tag, DLMS sends 12, which only the GCM mode object with ``min_tag_length`` checks.
# The AES objects (key checks in Python, ~3 µs) are kept per key: a port has one or two keys.

_AES_CACHE: dict[bytes, Any] = {}


def _aes(key: bytes) -> Any:
    import cryptography.hazmat.primitives.ciphers.algorithms as algorithms

    algorithm = _AES_CACHE.get(key)
    if algorithm is None:
        algorithm = algorithms.AES(key)
        if len(_AES_CACHE) >= 8:
            _AES_CACHE.clear()
        _AES_CACHE[key] = algorithm
    return algorithm


# ``import a.b as m`` after the first call is a dictionary look-up in C; ``from a import b``
# of a package runs importlib's Python-level from-list handling on every call.


def _gcm_encryptor(key: bytes, iv: bytes) -> AEADEncryptionContext:
    import cryptography.hazmat.primitives.ciphers.base as base
    import cryptography.hazmat.primitives.ciphers.modes as modes

    return base.Cipher(_aes(key), modes.GCM(iv)).encryptor()


def _gcm_decryptor(key: bytes, iv: bytes, tag: bytes) -> AEADDecryptionContext:
    import cryptography.hazmat.primitives.ciphers.base as base
    import cryptography.hazmat.primitives.ciphers.modes as modes

    mode = modes.GCM(iv, tag, min_tag_length=TAG_LENGTH)
    return base.Cipher(_aes(key), mode).decryptor()


def _ctr_decryptor(key: bytes, nonce: bytes) -> CipherContext:
    import cryptography.hazmat.primitives.ciphers.base as base
    import cryptography.hazmat.primitives.ciphers.modes as modes

    return base.Cipher(_aes(key), modes.CTR(nonce)).decryptor()


def _iv(system_title: bytes, invocation_counter: int) -> bytes:
    if len(system_title) != 8:
        raise MalformedData(f"system title of {len(system_title)} bytes; suite 0 needs 8")
    return system_title + invocation_counter.to_bytes(4, "big")


def _check_sc(security_control: int) -> None:
    if security_control & _SUITE_MASK:
        raise MalformedData(f"security suite {security_control & _SUITE_MASK} is not supported")
    if security_control & _COMPRESSION:
        raise MalformedData("compressed ciphered APDUs are not supported")
    if security_control & 0x30 == 0:
        raise MalformedData(f"security control {security_control:#04x} applies no protection")


def encrypt(
    plaintext: bytes,
    *,
    keys: Keys,
    system_title: bytes,
    invocation_counter: int,
    security_control: int = SC_AUTHENTICATED_ENCRYPTION,
) -> bytes:
    """The ciphered payload (ciphertext || tag, per SC) as a meter sends it."""
    _check_sc(security_control)
    iv = _iv(system_title, invocation_counter)
    authenticated = bool(security_control & SC_AUTHENTICATED)
    encrypted = bool(security_control & SC_ENCRYPTED)
    if authenticated and keys.authentication_key is None:
        raise ValueError("authenticated security control needs the authentication key")
    aad = bytes([security_control]) + (keys.authentication_key or b"") if authenticated else b""
    encryptor = _gcm_encryptor(keys.encryption_key, iv)
    if encrypted:
        if aad:
            encryptor.authenticate_additional_data(aad)
        ciphertext = encryptor.update(plaintext) + encryptor.finalize()
        return ciphertext + encryptor.tag[:TAG_LENGTH] if authenticated else ciphertext
    encryptor.authenticate_additional_data(aad + plaintext)
    encryptor.finalize()
    return plaintext + encryptor.tag[:TAG_LENGTH]


def _open(payload: bytes, key: bytes, iv: bytes, aad: bytes, encrypted: bool) -> bytes:
    """Verify (and decrypt) with one key pair; raises InvalidTag when the tag does not match."""
    if len(payload) < TAG_LENGTH:
        raise AuthenticationFailed("ciphered content shorter than its 12-byte tag")
    body, tag = payload[:-TAG_LENGTH], payload[-TAG_LENGTH:]
    decryptor = _gcm_decryptor(key, iv, tag)
    if encrypted:
        decryptor.authenticate_additional_data(aad)
        plaintext = decryptor.update(body)
        decryptor.finalize()
        return plaintext
    decryptor.authenticate_additional_data(aad + body)
    decryptor.finalize()
    return body


def decrypt(
    payload: bytes,
    *,
    keys: Keys | None,
    system_title: bytes,
    invocation_counter: int,
    security_control: int,
) -> bytes:
    """The plaintext APDU, once the tag (if any) verified.

    Raises :class:`AuthenticationFailed`, or :class:`KeysSwapped` when the tag verifies only
    with the two keys exchanged; :class:`MissingKey` when no key is configured.
    """
    _check_sc(security_control)
    if keys is None:
        raise MissingKey("the frame is encrypted and no encryption key is configured")
    iv = _iv(system_title, invocation_counter)
    authenticated = bool(security_control & SC_AUTHENTICATED)
    encrypted = bool(security_control & SC_ENCRYPTED)
    if not authenticated:
        # Encryption only: GCM without a tag is AES-CTR from counter block J0 + 1.
        decryptor = _ctr_decryptor(keys.encryption_key, iv + b"\x00\x00\x00\x02")
        return decryptor.update(payload) + decryptor.finalize()
    if keys.authentication_key is None:
        raise MissingKey("the frame is authenticated and no authentication key is configured")
    from cryptography.exceptions import InvalidTag

    sc = bytes([security_control])
    try:
        return _open(payload, keys.encryption_key, iv, sc + keys.authentication_key, encrypted)
    except InvalidTag:
        pass
    try:
        _open(payload, keys.authentication_key, iv, sc + keys.encryption_key, encrypted)
    except InvalidTag:
        raise AuthenticationFailed(
            "GCM tag does not verify: wrong encryption or authentication key, or corrupt data"
        ) from None
    raise KeysSwapped("GCM tag verifies only with the two keys exchanged: keys swapped?")


def gmac(*, key: bytes, system_title: bytes, invocation_counter: int, aad: bytes) -> bytes:
    """GMAC tag (12 bytes) of *aad*, as HLS mechanism 5 uses it (AAD = SC || AK || challenge)."""
    encryptor = _gcm_encryptor(key, _iv(system_title, invocation_counter))
    encryptor.authenticate_additional_data(aad)
    encryptor.finalize()
    return encryptor.tag[:TAG_LENGTH]


@unique
class SecurityPolicy(Enum):
    """Which ciphered pushes a meter with keys accepts. Plaintext never is, with keys.

    ``AUTHENTICATED`` (the default) takes only security controls with the A bit (0x30, 0x10),
    whose GCM tag verified: AES-CTR without a tag is malleable, so an encryption-only frame's
    values can be changed on the wire without the key (a flipped ciphertext bit flips the same
    plaintext bit). ``ENCRYPTION_ONLY`` also takes 0x20, for the meter that really sends so;
    it is an explicit opt-in per meter, because it gives that protection up.
    """

    AUTHENTICATED = "authenticated"
    ENCRYPTION_ONLY = "encryption_only"


class InvocationCounterStore(Protocol):
    """Where the last accepted invocation counter per system title is kept.

    The service injects a persistent store so a restart cannot reopen the replay window.
    """

    def load(self, system_title: bytes) -> int | None:
        """The last accepted counter for *system_title*, or None if none was accepted yet."""
        ...

    def save(self, system_title: bytes, invocation_counter: int) -> None:
        """Remember *invocation_counter* as the last accepted one."""
        ...


class MemoryCounterStore:
    """An in-memory :class:`InvocationCounterStore` (tests, tools)."""

    __slots__ = ("counters",)

    def __init__(self, counters: MutableMapping[bytes, int] | None = None) -> None:
        self.counters: MutableMapping[bytes, int] = {} if counters is None else counters

    def __repr__(self) -> str:
        return f"MemoryCounterStore(counters={self.counters!r})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, MemoryCounterStore)
        return self.counters == other.counters

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was

    def load(self, system_title: bytes) -> int | None:
        """The last accepted counter, if any."""
        return self.counters.get(system_title)

    def save(self, system_title: bytes, invocation_counter: int) -> None:
        """Remember the counter."""
        self.counters[system_title] = invocation_counter


class SecurityContext:
    """Keys, security policy and replay guard of one meter's port.

    :meth:`check` runs before decryption (cheap rejection); :meth:`accept` only after the tag
    verified, so a forged frame can neither move the counter nor teach the meter's HDLC route.
    ``route`` is the meter's HDLC destination, source and control byte: configured, or learned
    from the first frame that passed every check, and from then on required of every ciphered
    frame (the GCM tag does not cover the HDLC header).
    """

    __slots__ = ("keys", "policy", "route", "store")

    def __init__(
        self,
        keys: Keys | None,
        store: InvocationCounterStore | None = None,
        *,
        policy: SecurityPolicy = SecurityPolicy.AUTHENTICATED,
        route: HdlcRoute | None = None,
    ) -> None:
        self.keys = keys
        self.store: InvocationCounterStore = MemoryCounterStore() if store is None else store
        self.policy = policy
        self.route = route

    def __repr__(self) -> str:
        return (
            f"SecurityContext(keys={self.keys!r}, store={self.store!r}, "
            f"policy={self.policy.value}, route={self.route!r})"
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, SecurityContext)
        return (self.keys, self.store, self.policy, self.route) == (
            other.keys,
            other.store,
            other.policy,
            other.route,
        )

    def check_plaintext(self) -> None:
        """Raise :class:`PlaintextRefused` when this meter has keys (a clear push is forgeable)."""
        if self.keys is not None:
            raise PlaintextRefused(
                "plaintext data-notification refused: this meter has keys configured"
            )

    def check_envelope(self, security_control: int, route: HdlcRoute | None) -> None:
        """The policy's checks on a ciphered frame's clear parts, before any decryption.

        Raises :class:`UnauthenticatedRefused` for a security control without the A bit under
        the strict policy, :class:`AddressMismatch` when the HDLC route is not the meter's.
        Without keys nothing is checked here: :func:`decrypt` names the missing key.
        """
        if self.keys is None:
            return
        if not security_control & SC_AUTHENTICATED and self.policy is SecurityPolicy.AUTHENTICATED:
            raise UnauthenticatedRefused(
                f"security control {security_control:#04x} carries no GCM tag (encryption "
                "only) and this meter's policy accepts authenticated pushes only"
            )
        if route is not None and self.route is not None and route != self.route:
            raise AddressMismatch(
                f"HDLC destination {route[0].logical}, source {route[1].logical}, control "
                f"{route[2]:#04x}; this meter's are {self.route[0].logical}, "
                f"{self.route[1].logical}, {self.route[2]:#04x}"
            )

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was

    def check(self, system_title: bytes, invocation_counter: int) -> None:
        """Raise :class:`ReplayedFrame` unless *invocation_counter* is newer than the last one."""
        last = self.store.load(system_title)
        if last is not None and invocation_counter <= last:
            raise ReplayedFrame(
                system_title=system_title,
                invocation_counter=invocation_counter,
                last_accepted=last,
            )

    def accept(
        self, system_title: bytes, invocation_counter: int, route: HdlcRoute | None = None
    ) -> None:
        """Record a verified frame's counter (and, the first time, its HDLC route)."""
        self.store.save(system_title, invocation_counter)
        if self.route is None and route is not None:
            self.route = route

    def last_accepted(self, system_title: bytes) -> int | None:
        """The last accepted counter for *system_title*."""
        return self.store.load(system_title)
