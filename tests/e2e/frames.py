"""Valid CCC frames for the end-to-end tests, built from the published Radius vector.

Its keys are public, so the plaintext can be re-encrypted with rising invocation counters (a
stream of distinct, genuinely authenticated pushes), with the active power and the clock varied
so that each push is recognisable on MQTT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ccc_gateway.protocol import CosemDateTime, Data, DataType, Keys, encode_frame
from ccc_gateway.protocol.apdu import (
    LLC_RESPONSE,
    ApduTag,
    CipheredApdu,
    build_ciphered_apdu,
    build_data_notification,
    parse_data_notification,
)
from ccc_gateway.protocol.cipher import SC_AUTHENTICATED_ENCRYPTION, encrypt
from ccc_gateway.protocol.hdlc import HdlcAddress, HdlcFrame
from ccc_gateway.protocol.obis import obis_from_bytes
from tests.vectors import RADIUS, key, vectors

RADIUS_KEYS = Keys(key(RADIUS, "encryption_key") or b"", key(RADIUS, "authentication_key") or b"")
RADIUS_TITLE = bytes.fromhex(vectors()[RADIUS]["security"]["system_title"])
RADIUS_IC = int(vectors()[RADIUS]["security"]["invocation_counter"])
#: The meter id the gateway derives (meter number 27581522, also in the system title).
RADIUS_SERIAL = "27581522"
ACTIVE_POWER_IMPORT = "1.1.1.7.0.255"
START = datetime(2020, 1, 7, 14, 47, 20)


@dataclass(frozen=True)
class BuiltPush:
    """One frame and what it carries."""

    frame: bytes
    invocation_counter: int
    active_power_w: int
    local_time: datetime


def _plain() -> tuple[int, Data]:
    apdu = bytes.fromhex(vectors()[RADIUS]["plaintext_apdu_hex"])
    notification = parse_data_notification(apdu)
    return notification.long_invoke_id_and_priority, notification.body


def _with_power(body: Data, power: int, moment: CosemDateTime) -> Data:
    items = list(body.value)
    for i, item in enumerate(items):
        if item.type == DataType.OCTET_STRING and len(item.value) == 6:
            code = obis_from_bytes(item.value)
            if code == ACTIVE_POWER_IMPORT:
                items[i + 1] = Data(DataType.DOUBLE_LONG_UNSIGNED, power)
            elif code == "0.1.1.0.0.255":
                items[i + 1] = Data(DataType.OCTET_STRING, moment.to_bytes())
    return Data(DataType.STRUCTURE, tuple(items))


def radius_push(
    index: int,
    *,
    invocation_counter: int | None = None,
    keys: Keys = RADIUS_KEYS,
    system_title: bytes = RADIUS_TITLE,
    security_control: int = SC_AUTHENTICATED_ENCRYPTION,
    segmented: bool = False,
) -> BuiltPush:
    """Push number *index* of a stream: IC = vector IC + 1 + index, power = 1000 + index W.

    *security_control* 0x20 builds the encryption-only (tag-less) variant, *segmented* sets
    the HDLC S bit: what a meter with keys must refuse (issue 10).
    """
    invoke, body = _plain()
    ic = RADIUS_IC + 1 + index if invocation_counter is None else invocation_counter
    power = 1000 + index
    local = START + timedelta(seconds=10 * index)
    moment = CosemDateTime.from_datetime(local, dst=False)
    apdu = build_data_notification(
        _with_power(body, power, moment), date_time=moment, long_invoke_id_and_priority=invoke
    )
    payload = encrypt(
        apdu,
        keys=keys,
        system_title=system_title,
        invocation_counter=ic,
        security_control=security_control,
    )
    ciphered = build_ciphered_apdu(
        CipheredApdu(ApduTag.GENERAL_GLO_CIPHERING, system_title, security_control, ic, payload)
    )
    frame = encode_frame(
        HdlcFrame(
            HdlcAddress(32), HdlcAddress(1), 0x13, LLC_RESPONSE + ciphered, segmented=segmented
        )
    )
    return BuiltPush(frame, ic, power, local)
