"""AES-128-GCM of security suite 0 against the Green Book vectors, and the replay guard."""

from __future__ import annotations

import pytest

from ccc_gateway.protocol.apdu import parse_ciphered_apdu
from ccc_gateway.protocol.cipher import (
    Keys,
    MemoryCounterStore,
    SecurityContext,
    decrypt,
    encrypt,
    gmac,
)
from ccc_gateway.protocol.errors import (
    AuthenticationFailed,
    KeysSwapped,
    MalformedData,
    MissingKey,
    ReplayedFrame,
)
from tests.vectors import RADIUS, frame, key, vectors

# Green Book / dlms-cosem tests/test_security.py ([GB])
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
KEYS = Keys(EK, AK)
SERVER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
IC = 0x01234567


@pytest.mark.parametrize(
    "name", ["green_book_gcm_glo_get_request", "green_book_gcm_glo_initiate_request"]
)
def test_green_book_vectors(name: str) -> None:
    vector = vectors()[name]
    plaintext = bytes.fromhex(vector["plaintext_apdu_hex"])
    wire = bytes.fromhex(vector["hex"])
    payload = wire[-(len(plaintext) + 12) :]
    assert (
        encrypt(plaintext, keys=KEYS, system_title=SERVER_TITLE, invocation_counter=IC) == payload
    )
    assert (
        decrypt(
            payload,
            keys=KEYS,
            system_title=SERVER_TITLE,
            invocation_counter=IC,
            security_control=0x30,
        )
        == plaintext
    )


@pytest.mark.parametrize(
    ("title", "ic", "challenge", "tag"),
    [
        ("4D4D4D0000000001", 1, "503677524A323146", "1A52FE7DD3E72748973C1E28"),
        ("4D4D4D0000BC614E", 0x01234567, "4B35366956616759", "FE1466AFB3DBCD4F9389E2B7"),
    ],
)
def test_green_book_hls_gmac(title: str, ic: int, challenge: str, tag: str) -> None:
    aad = b"\x10" + AK + bytes.fromhex(challenge)
    result = gmac(key=EK, system_title=bytes.fromhex(title), invocation_counter=ic, aad=aad)
    assert result.hex().upper() == tag


def test_radius_frame_tag_verifies_with_the_published_keys() -> None:
    envelope = parse_ciphered_apdu(frame(RADIUS)[11:-3])
    keys = Keys(key(RADIUS, "encryption_key") or b"", key(RADIUS, "authentication_key"))
    plaintext = decrypt(
        envelope.payload,
        keys=keys,
        system_title=envelope.system_title,
        invocation_counter=envelope.invocation_counter,
        security_control=envelope.security_control,
    )
    assert plaintext.hex().upper() == vectors()[RADIUS]["plaintext_apdu_hex"]


@pytest.mark.parametrize("sc", [0x10, 0x20, 0x30])
def test_every_security_control_round_trips(sc: int) -> None:
    payload = encrypt(
        b"\x0f hello",
        keys=KEYS,
        system_title=SERVER_TITLE,
        invocation_counter=7,
        security_control=sc,
    )
    assert (
        decrypt(
            payload, keys=KEYS, system_title=SERVER_TITLE, invocation_counter=7, security_control=sc
        )
        == b"\x0f hello"
    )
    if sc == 0x10:
        assert payload.startswith(b"\x0f hello")  # authentication only: sent in clear


def _open(payload: bytes, keys: Keys | None, sc: int = 0x30) -> bytes:
    return decrypt(
        payload, keys=keys, system_title=SERVER_TITLE, invocation_counter=IC, security_control=sc
    )


PAYLOAD = encrypt(
    b"\x0f\x00\x00\x00\x00\x00\x00", keys=KEYS, system_title=SERVER_TITLE, invocation_counter=IC
)


def test_swapped_keys_are_named() -> None:
    with pytest.raises(KeysSwapped) as info:
        _open(PAYLOAD, Keys(AK, EK))
    assert "swapped" in info.value.hint


@pytest.mark.parametrize(
    "keys", [Keys(bytes(16), AK), Keys(EK, bytes(16))], ids=["wrong_ek", "wrong_ak"]
)
def test_wrong_key_fails_authentication(keys: Keys) -> None:
    with pytest.raises(AuthenticationFailed) as info:
        _open(PAYLOAD, keys)
    assert not isinstance(info.value, KeysSwapped)


@pytest.mark.parametrize("position", [0, -1], ids=["ciphertext_bit", "tag_bit"])
def test_flipped_bit_fails_authentication(position: int) -> None:
    damaged = bytearray(PAYLOAD)
    damaged[position] ^= 0x01
    with pytest.raises(AuthenticationFailed):
        _open(bytes(damaged), KEYS)


def test_missing_keys() -> None:
    with pytest.raises(MissingKey):
        _open(PAYLOAD, None)
    with pytest.raises(MissingKey):
        _open(PAYLOAD, Keys(EK))


@pytest.mark.parametrize("sc", [0x31, 0x00, 0xB0])
def test_unsupported_security_control(sc: int) -> None:
    with pytest.raises(MalformedData):
        _open(PAYLOAD, KEYS, sc)


def test_keys_never_show_in_repr() -> None:
    assert EK.hex() not in repr(KEYS).lower()
    assert "redacted" in repr(KEYS)


def test_key_length_is_checked() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Keys(b"short")


def test_replay_guard_uses_the_injected_store() -> None:
    store = MemoryCounterStore()
    first = SecurityContext(keys=KEYS, store=store)
    first.check(SERVER_TITLE, 10)
    first.accept(SERVER_TITLE, 10)
    restarted = SecurityContext(keys=KEYS, store=store)  # a restart with persisted counters
    with pytest.raises(ReplayedFrame) as info:
        restarted.check(SERVER_TITLE, 10)
    assert info.value.last_accepted == 10
    restarted.check(SERVER_TITLE, 11)
    restarted.check(bytes(8), 1)  # another meter has its own counter
