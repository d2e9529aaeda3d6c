"""The Home Assistant fixture of a DLMS optical meter is what the real gateway publishes.

The fixture ``tests/components/omnipower/fixtures/dlms_optical`` was recorded by this test (run
with ``OMNIPOWER_RECORD_FIXTURES=1``) from the gateway against the emulator; without the
variable the test asserts that the gateway still publishes the same topics with the same keys
(values differ from run to run: time, energy), so no HA test is fed a payload the gateway
cannot produce.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from meter_emulator.control import ControlClient
from tests.e2e.conftest import Mosquitto, subscriber
from tests.e2e.test_meter_logs_e2e import SERIAL, emulator, gateway, refresh

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parents[1] / "components" / "omnipower" / "fixtures" / "dlms_optical"
TOPICS = (
    "info",
    "power",
    "energy",
    "diagnostics",
    "quality",
    "tariff",
    "breaker",
    "relays",
    "status",
    "clock",
    "billing",
)

#: The test's pty links, as the fixture names them (no machine path in the repository).
DEVICE_NAMES = {"ttyCCC": "/dev/ttyUSB0", "ttyOPT (dlms)": "/dev/ttyUSB1 (dlms)"}


def shape(value: Any) -> Any:
    """The keys of a payload, recursively (values, and whether one is null yet, vary)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    return "value"


async def test_the_dlms_optical_fixture_is_what_the_gateway_publishes(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    control = Path(tempfile.mkdtemp(prefix="omp-")) / "control.sock"
    client = ControlClient(control)
    async with (
        emulator(tmp_path, control),
        subscriber(mosquitto.port, f"omnipower/{SERIAL}/#") as sub,
        gateway(mosquitto, tmp_path),
    ):
        await sub.wait_for(lambda m: m.topic.value.endswith("/billing"), within=30)
        await client.call("debiting_stop")
        await refresh(sub, mosquitto.port, 1)
        await sub.wait_for(lambda m: m.topic.value.endswith("/power"), within=30)
        latest: dict[str, dict[str, Any]] = {}
        for message in sub.messages:
            name = message.topic.value.split("/", 2)[2]
            if name in TOPICS:
                latest[name] = json.loads(message.payload)
    assert set(latest) == set(TOPICS)
    if os.environ.get("OMNIPOWER_RECORD_FIXTURES"):
        FIXTURE.mkdir(parents=True, exist_ok=True)
        for name, payload in latest.items():
            for port in payload.get("ports", {}).values() if name == "diagnostics" else ():
                port["port"] = DEVICE_NAMES.get(port["port"].rsplit("/", 1)[-1], "/dev/ttyUSB9")
            (FIXTURE / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    recorded = {path.stem: json.loads(path.read_text()) for path in FIXTURE.glob("*.json")}
    assert set(recorded) == set(TOPICS)
    for name in TOPICS:
        if name == "diagnostics":  # which counters and errors exist varies with the run
            assert set(recorded[name]) == set(latest[name])
        else:
            assert shape(recorded[name]) == shape(latest[name]), name
