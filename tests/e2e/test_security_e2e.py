"""Issue 10 end to end: the emulator over ptys → the real gateway → a real Mosquitto.

* Forged frames fed into the running service's CCC line beside the emulator's genuine pushes
  (a plaintext forgery, the 0x30 → 0x20 downgrade, a segmented frame) publish nothing and show
  as named errors on diagnostics; the genuine pushes keep publishing.
* At DEBUG, through wrong keys, swapped keys, a wrong LLS password and a wrong broker password,
  no key, password or HMAC secret appears in any log record or MQTT payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from benchmarks.fuzz_push import Mutation, mutate, seed_of
from ccc_gateway.config import parse_config
from ccc_gateway.ports import Backoff
from ccc_gateway.protocol import Keys, SecurityContext, decode_frame, encode_frame, parse_frame
from ccc_gateway.protocol._record import replace
from ccc_gateway.protocol.apdu import parse_ciphered_apdu, parse_data_notification, strip_llc
from ccc_gateway.protocol.axdr import Data, DataType
from ccc_gateway.protocol.cipher import decrypt
from ccc_gateway.service import Gateway
from meter_emulator.cli import push_config
from meter_emulator.dlms.model_provider import dlms_server_for
from meter_emulator.model import Meter, PhaseSupply, Supply
from meter_emulator.model import parse_config as parse_meter_config
from meter_emulator.model.clock import from_us
from meter_emulator.model.source import ConstantLoad
from meter_emulator.ports.ccc_frames import build_push_frame
from meter_emulator.ports.ccc_push import CccPush
from meter_emulator.ports.iec62056_21 import Iec62056Server
from meter_emulator.ports.iec62056_21_link import OpticalPort
from meter_emulator.ports.iec62056_21_model import ModelOpticalMeter
from meter_emulator.ports.links import PtyLink
from meter_emulator.ports.optical_mux import DlmsServerEndpoint, OpticalMux
from meter_emulator.runtime import EmulatorRuntime, SimClock
from tests.e2e.conftest import MOSQUITTO, Mosquitto, Subscriber

pytestmark = pytest.mark.slow

SERIAL = 27581522
EK = bytes.fromhex("5AD84121D9D20B364B7A11F3C1B5827F")
AK = bytes.fromhex("AFB3F93E3E7204EDB3C27F96DBD51AE0")
WRONG_EK = bytes(range(0x40, 0x50))
LLS_PASSWORD = "LlsPass7q"
WRONG_LLS = "WrongLls9z"
BROKER_PASSWORD = "broker-Pa55word-e2e"
WRONG_BROKER_PASSWORD = "not-the-broker-Pa55"
HMAC_SECRET = "hmac-secret-of-the-e2e-test"
FAST = Backoff(initial=0.05, maximum=0.3)
#: The emulator runs this much faster than real time: a push a second, lines paced to match.
SPEED = 10.0
P_PLUS = "1.1.1.7.0.255"


@contextlib.asynccontextmanager
async def emulator(tmp_path: Path, pushes: list[bytes]) -> AsyncIterator[PtyLink]:
    """An encrypted three-phase meter (DLMS push 1, SC 0x30) with its optical DLMS server."""
    config = parse_meter_config(
        {
            "meter": {"type_number": "6841131BN243101040", "serial": SERIAL},
            "push": {
                "list": "dlms_push_1",
                "absent": "omit",
                "energy_scaler": 0,
                "encryption_key": EK.hex(),
                "authentication_key": AK.hex(),
            },
        }
    )
    supply = Supply(tuple(PhaseSupply(230.0, 1000.0, 150.0) for _ in range(3)), thd_pct=2.4)
    meter = Meter(
        config, start=datetime.now(UTC).replace(microsecond=0), source=ConstantLoad(supply)
    )
    server = dlms_server_for(meter, password=LLS_PASSWORD.encode(), inactivity_timeout=20.0 * SPEED)
    mux = OpticalMux(Iec62056Server(ModelOpticalMeter(meter)), DlmsServerEndpoint(server))
    ccc_link = PtyLink(baudrate=2400, speed=SPEED, symlink=tmp_path / "ttyCCC")
    optical_link = PtyLink(baudrate=9600, speed=SPEED, symlink=tmp_path / "ttyOPT")
    ccc = CccPush(push_config(config), next_invocation_counter=meter.next_invocation_counter)
    runtime = EmulatorRuntime(
        meter,
        SimClock(from_us(meter.now_us), speed=SPEED),
        ccc,
        [ccc_link],
        on_push=pushes.append,
    )
    async with ccc_link, optical_link, OpticalPort(mux, optical_link, reaction_time=0.0):
        task = asyncio.create_task(runtime.run())
        try:
            yield ccc_link
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def gateway_config(
    tmp_path: Path,
    broker: Mosquitto,
    *,
    keys: tuple[bytes, bytes] = (EK, AK),
    lls: str = LLS_PASSWORD,
    broker_password: str = BROKER_PASSWORD,
    optical: bool = True,
) -> dict[str, Any]:
    meter: dict[str, Any] = {
        "name": "house",
        "serial": str(SERIAL),
        "encryption_key": keys[0].hex(),
        "authentication_key": keys[1].hex(),
        "ccc": {"port": str(tmp_path / "ttyCCC")},
        "resolution": {"energy_scaler": 0},
    }
    if optical:
        meter["optical"] = {"port": str(tmp_path / "ttyOPT"), "password": lls, "poll_interval": 10}
        meter["commands"] = ["breaker", "refresh"]
    return {
        "gateway": {
            "id": "security-e2e",
            "state_dir": str(tmp_path / "state"),
            "timezone": "Europe/Copenhagen",
            "diagnostics_interval": 1,
        },
        "mqtt": {
            "host": "127.0.0.1",
            "port": broker.port,
            "username": "gateway",
            "password": broker_password,
        },
        "commands": {"secret": HMAC_SECRET},
        "meters": [meter],
    }


@contextlib.asynccontextmanager
async def running(config: dict[str, Any]) -> AsyncIterator[Gateway]:
    gateway = Gateway(parse_config(config), port_backoff=FAST, mqtt_backoff=FAST)
    task = asyncio.create_task(gateway.run())
    try:
        yield gateway
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(5):
                await task


@pytest.fixture
def broker() -> Iterator[Mosquitto]:
    """Mosquitto with a password file: the gateway and the test log in, nobody else."""
    if not os.path.exists(MOSQUITTO) or shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto and mosquitto_passwd are needed")
    directory = Path(tempfile.mkdtemp(prefix="omnipower-mosquitto-"))
    directory.chmod(0o755)
    passwords = directory / "passwords"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(passwords), "gateway", BROKER_PASSWORD], check=True
    )
    passwords.chmod(0o644)
    mosquitto = Mosquitto(directory, f"allow_anonymous false\npassword_file {passwords}\n")
    mosquitto.start()
    try:
        yield mosquitto
    finally:
        mosquitto.stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.asynccontextmanager
async def listening(broker: Mosquitto) -> AsyncIterator[Subscriber]:
    """Everything on the broker ('#'), as the gateway's user."""
    async with aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        username="gateway",
        password=BROKER_PASSWORD,
        identifier=f"test-{os.getpid()}-{time.time_ns()}",
    ) as client:
        await client.subscribe("#", qos=1)
        sub = Subscriber(client)
        task = asyncio.create_task(sub.run())
        try:
            yield sub
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task


def payload(message: aiomqtt.Message) -> Any:
    return json.loads(message.payload)


def topic(name: str) -> str:
    return f"omnipower/{SERIAL}/{name}"


def errors_seen(sub: Subscriber) -> dict[str, int]:
    diagnostics = sub.on(topic("diagnostics"))
    return payload(diagnostics[-1])["errors"] if diagnostics else {}


# --- forged frames -------------------------------------------------------------------------


def _plaintext_forgery(genuine: bytes) -> bytes:
    """The genuine push's content in clear, with P+ set to 99,999 W (the issue's forgery)."""
    hdlc = parse_frame(genuine)
    envelope = parse_ciphered_apdu(strip_llc(hdlc.information))
    apdu = decrypt(
        envelope.payload,
        keys=Keys(EK, AK),
        system_title=envelope.system_title,
        invocation_counter=envelope.invocation_counter,
        security_control=envelope.security_control,
    )
    notification = parse_data_notification(apdu)
    items = list(notification.body.value)
    for i, item in enumerate(items):
        if item.type == DataType.OCTET_STRING and item.value == bytes([1, 1, 1, 7, 0, 255]):
            items[i + 1] = Data(DataType.DOUBLE_LONG_UNSIGNED, 99_999)
    assert notification.date_time is not None
    return build_push_frame(
        Data(DataType.STRUCTURE, tuple(items)), date_time=notification.date_time
    )


async def test_forged_frames_publish_nothing_and_are_named_on_diagnostics(
    broker: Mosquitto, tmp_path: Path
) -> None:
    pushes: list[bytes] = []
    config = gateway_config(tmp_path, broker, optical=False)
    async with (
        emulator(tmp_path, pushes) as ccc,
        listening(broker) as sub,
        running(config),
    ):
        await sub.wait_for(lambda m: m.topic.matches(topic("power")), within=15)
        genuine = pushes[-1]
        seed = seed_of("emulator", genuine, Keys(EK, AK))
        forged = {
            "plaintext_refused": _plaintext_forgery(genuine),
            "unauthenticated_refused": mutate(seed, Mutation.DOWNGRADE, 100, 0, True),
            "segmentation_error": encode_frame(replace(parse_frame(genuine), segmented=True)),
        }
        for raw in forged.values():
            await ccc.write(raw)  # between the emulator's pushes (the link's write lock)
        deadline = asyncio.get_running_loop().time() + 15
        while not set(forged) <= set(errors_seen(sub)):
            assert asyncio.get_running_loop().time() < deadline, errors_seen(sub)
            await asyncio.sleep(0.1)
        mark = len(sub.messages)
        await sub.wait_for(lambda m: m.topic.matches(topic("power")), after=mark, within=10)
    # Every power reading on MQTT is one the emulator really pushed, none of the forgeries.
    genuine_powers = {
        decode_frame(raw, security=SecurityContext(Keys(EK, AK))).value(P_PLUS) for raw in pushes
    }
    published = [payload(m)["active_power_import_w"] for m in sub.on(topic("power"))]
    assert published
    assert 99_999 not in published
    assert set(published) <= genuine_powers
    diagnostics = payload(sub.on(topic("diagnostics"))[-1])
    assert diagnostics["frames_ok"] >= 2
    for code in forged:
        assert diagnostics["errors"][code] >= 1


# --- no secret anywhere ----------------------------------------------------------------------


def _forms(secret: bytes | str) -> set[str]:
    """Every way a secret could leak into text: hex both cases, bytes repr, the text itself."""
    raw = secret.encode() if isinstance(secret, str) else secret
    forms = {raw.hex(), raw.hex().upper(), repr(raw), raw.hex(" "), raw.hex(" ").upper()}
    if isinstance(secret, str):
        forms.add(secret)
    return forms


SECRETS = (
    EK,
    AK,
    WRONG_EK,
    LLS_PASSWORD,
    WRONG_LLS,
    BROKER_PASSWORD,
    WRONG_BROKER_PASSWORD,
    HMAC_SECRET,
)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
        self.texts.append(repr(record.args))


@pytest.mark.parametrize(
    ("case", "expect"),
    [
        ("wrong_keys", "authentication_failed"),
        ("swapped_keys", "keys_swapped"),
        ("wrong_lls_password", "optical_authentication_failed"),
        ("wrong_broker_password", None),
    ],
)
async def test_no_secret_in_logs_or_payloads_at_debug(
    broker: Mosquitto, tmp_path: Path, case: str, expect: str | None
) -> None:
    settings: dict[str, Any] = {
        "wrong_keys": {"keys": (WRONG_EK, AK), "lls": WRONG_LLS},
        "swapped_keys": {"keys": (AK, EK)},
        "wrong_lls_password": {"lls": WRONG_LLS},
        "wrong_broker_password": {"broker_password": WRONG_BROKER_PASSWORD},
    }[case]
    records = _Records()
    records.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    pushes: list[bytes] = []
    try:
        async with (
            emulator(tmp_path, pushes),
            listening(broker) as sub,
            running(gateway_config(tmp_path, broker, **settings)),
        ):
            if expect is None:
                await asyncio.sleep(2.0)  # pushes arrive; the broker refuses, retried, logged
            else:
                deadline = asyncio.get_running_loop().time() + 20
                # Two rejections: the second is logged at DEBUG ("rejected again").
                while errors_seen(sub).get(expect, 0) < 2 and not (
                    expect.startswith("optical_") and expect in errors_seen(sub) and pushes
                ):
                    assert asyncio.get_running_loop().time() < deadline, errors_seen(sub)
                    await asyncio.sleep(0.1)
    finally:
        root.removeHandler(records)
        root.setLevel(level)
    logs = "\n".join(records.texts)
    published = "\n".join(
        f"{m.topic.value} {m.payload.decode('utf-8', 'replace')}" for m in sub.messages
    )
    assert pushes, "the emulator pushed"
    if expect is None:
        assert not sub.on("omnipower/#")
        assert "gateway" in logs.lower()
    else:
        assert sub.on(topic("diagnostics"))
    if expect in ("authentication_failed", "keys_swapped"):
        assert any(" DEBUG " in text for text in records.texts), "DEBUG was really on"
    for secret in SECRETS:
        for form in _forms(secret):
            assert form not in logs, (case, form)
            assert form not in published, (case, form)
