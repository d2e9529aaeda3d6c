"""TLS, username/password and MQTT 5 against a Mosquitto that requires all three.

The CA and server certificate are made here with ``cryptography`` (valid for 127.0.0.1 for a
day); the password file with ``mosquitto_passwd``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import logging
import os
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ccc_gateway.config import parse_config
from ccc_gateway.ports import Backoff
from ccc_gateway.service import Gateway
from tests.e2e.conftest import MOSQUITTO, Mosquitto, PtyMeter
from tests.e2e.frames import RADIUS_KEYS, RADIUS_SERIAL, radius_push

pytestmark = pytest.mark.slow
PASSWORD = "s3cret-broker-pass"


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
    else:
        # Python 3.13 verifies strictly (VERIFY_X509_STRICT): the key identifiers are required.
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        ).add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


@pytest.fixture
def secure_broker() -> Iterator[tuple[Mosquitto, Path]]:
    if not os.path.exists(MOSQUITTO) or shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto and mosquitto_passwd are needed")
    directory = Path(tempfile.mkdtemp(prefix="omnipower-tls-"))
    directory.chmod(0o755)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    server_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("omnipower test CA", ca_key, None)
    server = _certificate("127.0.0.1", server_key, ("omnipower test CA", ca_key))
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(_pem_key(server_key))
    passwords = directory / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(passwords), "gateway", PASSWORD],
        check=True,
        capture_output=True,
        timeout=30,
    )
    for path in directory.iterdir():
        path.chmod(0o644)  # mosquitto drops to its own user before reading some of them
    broker = Mosquitto(
        directory,
        f"allow_anonymous false\npassword_file {passwords}\ncafile {directory / 'ca.pem'}\n"
        f"certfile {directory / 'server.pem'}\nkeyfile {directory / 'server.key'}\n",
    )
    broker.start()
    try:
        yield broker, directory / "ca.pem"
    finally:
        broker.stop()
        shutil.rmtree(directory, ignore_errors=True)


def config(broker: Mosquitto, ca: Path, port: Path, state: Path, password: str) -> dict[str, Any]:
    return {
        "gateway": {"id": "tls", "state_dir": str(state), "timezone": "UTC"},
        "mqtt": {
            "host": "127.0.0.1",
            "port": broker.port,
            "protocol": "5",
            "tls": True,
            "ca_file": str(ca),
            "username": "gateway",
            "password": password,
        },
        "meters": [
            {
                "name": "radius",
                "encryption_key": RADIUS_KEYS.encryption_key.hex(),
                "authentication_key": (RADIUS_KEYS.authentication_key or b"").hex(),
                "ccc": {"port": str(port)},
            }
        ],
    }


@contextlib.asynccontextmanager
async def running(settings: dict[str, Any]) -> AsyncIterator[Gateway]:
    gateway = Gateway(
        parse_config(settings),
        port_backoff=Backoff(0.05, 0.3),
        mqtt_backoff=Backoff(0.05, 0.3),
    )
    task = asyncio.create_task(gateway.run())
    try:
        yield gateway
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(5):
                await task


async def _opened(gateway: Gateway) -> None:
    for _ in range(500):
        if gateway.channels[0].view.ports["ccc"].state.value == "open":
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("port did not open")


async def test_tls_with_password_over_mqtt5_carries_readings(
    secure_broker: tuple[Mosquitto, Path], pty_meter: PtyMeter, tmp_path: Path
) -> None:
    broker, ca = secure_broker
    context = ssl.create_default_context(cafile=str(ca))
    async with (
        aiomqtt.Client(
            "127.0.0.1",
            broker.port,
            username="gateway",
            password=PASSWORD,
            tls_context=context,
            protocol=aiomqtt.ProtocolVersion.V5,
        ) as client,
        running(config(broker, ca, pty_meter.link, tmp_path, PASSWORD)) as gateway,
    ):
        await client.subscribe(f"omnipower/{RADIUS_SERIAL}/power")
        await _opened(gateway)
        await pty_meter.send(radius_push(0).frame)
        async with asyncio.timeout(10):
            message = await anext(aiter(client.messages))
    assert isinstance(message.payload, bytes)
    assert json.loads(message.payload)["active_power_import_w"] == 1000


async def test_rejected_login_is_logged_once_without_the_password_and_reading_goes_on(
    secure_broker: tuple[Mosquitto, Path],
    pty_meter: PtyMeter,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker, ca = secure_broker
    wrong = "not-the-password"
    with caplog.at_level(logging.DEBUG):
        async with running(config(broker, ca, pty_meter.link, tmp_path, wrong)) as gateway:
            await _opened(gateway)
            for index in range(3):
                await pty_meter.send(radius_push(index).frame)
            for _ in range(500):
                if gateway.channels[0].view.frames_ok == 3:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.5)  # several reconnect attempts
    assert gateway.channels[0].view.frames_ok == 3
    assert caplog.text.count("MQTT broker 127.0.0.1") == 1
    assert wrong not in caplog.text
    assert PASSWORD not in caplog.text
