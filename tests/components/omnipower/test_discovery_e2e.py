"""End to end without this integration (issue 12): the emulated meter on ptys, the gateway
with MQTT discovery on, a real Mosquitto, and Home Assistant's own MQTT integration.

The gateway's device payload creates the entities, their states are the gateway's payloads,
and the discovered breaker select opens the emulated breaker, shown from the gateway's
read-back; the relays, whose command this gateway does not enable, get no control.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_socket
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from ccc_gateway.config import parse_config
from ccc_gateway.ports import Backoff
from ccc_gateway.service import Gateway
from meter_emulator.model import CouplingState
from tests.e2e.conftest import MOSQUITTO, Mosquitto, subscriber

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("expected_lingering_tasks", [True]),
]
FAST = Backoff(initial=0.05, maximum=0.3)


@pytest.fixture
def broker() -> Iterator[Mosquitto]:
    """A Mosquitto child process on a free loopback port."""
    if not os.path.exists(MOSQUITTO):
        pytest.skip("mosquitto is not installed (apt-get install -y mosquitto)")
    pytest_socket.enable_socket()
    directory = Path(tempfile.mkdtemp(prefix="omnipower-discovery-e2e-"))
    directory.chmod(0o755)
    mosquitto = Mosquitto(directory)
    mosquitto.start()
    try:
        yield mosquitto
    finally:
        mosquitto.stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.asynccontextmanager
async def gateway(
    broker: Mosquitto, tmp_path: Path, serial: str, energy_scaler: int
) -> AsyncIterator[None]:
    """The gateway polling the emulated meter, discovery on, only ``breaker`` and
    ``clock_sync`` enabled."""
    data = {
        "gateway": {"id": "disco", "state_dir": str(tmp_path / "state")},
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "discovery": True},
        "meters": [
            {
                "name": "house",
                "serial": serial,
                "ccc": {"port": str(tmp_path / "ttyCCC")},
                "resolution": {"energy_scaler": energy_scaler},
                "optical": {
                    "port": str(tmp_path / "ttyOPT"),
                    "password": "12345",
                    "poll_interval": 10,
                },
                "commands": ["breaker", "clock_sync"],
            }
        ],
    }
    service = Gateway(parse_config(data), port_backoff=FAST, mqtt_backoff=FAST)
    task = asyncio.create_task(service.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(5):
                await task


async def until(condition: Callable[[], bool], what: str, within: float = 30.0) -> None:
    """Wait for something real processes do (a bound, not a measurement)."""
    for _ in range(int(within / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{what}: not within {within} s")


def state(hass: HomeAssistant, entity_id: str) -> str | None:
    current = hass.states.get(entity_id)
    return None if current is None else current.state


@pytest.mark.usefixtures("mock_hass_config")
async def test_discovery_drives_the_emulated_breaker(
    hass: HomeAssistant, broker: Mosquitto, tmp_path: Path, entity_registry: er.EntityRegistry
) -> None:
    """Entities from the gateway's discovery, states from its payloads, and the discovered
    breaker select opening the emulated breaker with read-back."""
    optical = pytest.importorskip("tests.e2e.test_optical_dlms")
    serial = optical.SERIAL
    mqtt_entry = MockConfigEntry(domain="mqtt", data={"broker": "127.0.0.1", "port": broker.port})
    mqtt_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mqtt_entry.entry_id)
    await hass.async_block_till_done()
    breaker = f"select.omnipower_{serial}_breaker"
    breaker_state = f"sensor.omnipower_{serial}_breaker_state"
    energy = f"sensor.omnipower_{serial}_active_energy_import_kwh"
    retained: dict[str, Any] = {}
    try:
        async with (
            optical.emulator(tmp_path) as emulated,
            gateway(broker, tmp_path, serial, emulated.meter.config.energy_scaler),
            subscriber(broker.port, f"omnipower/{serial}/#") as sub,
        ):
            await until(lambda: state(hass, breaker) == "connected", "breaker discovered")
            await until(lambda: state(hass, energy) not in (None, "unknown"), "energy")
            # The states are the gateway's payloads.
            for name in ("energy", "breaker"):
                message = await sub.wait_for(
                    lambda m, n=name: m.topic.value == f"omnipower/{serial}/{n}",  # type: ignore[misc]
                    within=30,
                )
                retained[name] = json.loads(message.payload)
            await until(
                lambda: (
                    float(state(hass, energy) or "nan")
                    == float(retained["energy"]["active_energy_import_kwh"])
                ),
                "energy state",
            )
            assert state(hass, breaker_state) == retained["breaker"]["state"] == "connected"
            # Only the enabled commands have controls; the relays are read-only here.
            controls = {
                entry.entity_id
                for entry in entity_registry.entities.values()
                if entry.domain in ("select", "number", "button", "switch")
            }
            assert controls == {breaker, f"button.omnipower_{serial}_clock_sync"}
            assert "omnipower" not in hass.config.components  # no custom integration
            await hass.services.async_call(
                "select",
                "select_option",
                {"entity_id": breaker, "option": "disconnected"},
                blocking=True,
            )
            await until(
                lambda: emulated.meter.breaker.state is CouplingState.DISCONNECTED,
                "the emulated breaker opens",
            )
            # Shown from the gateway's read-back (the retained breaker topic), not assumed.
            await until(lambda: state(hass, breaker) == "disconnected", "read-back")
            assert state(hass, breaker_state) == "disconnected"
    finally:
        for entry in hass.config_entries.async_entries():
            await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
