"""End to end: CCC frames on a pty → the gateway → real Mosquitto → Home Assistant's MQTT
integration → this integration's entities. Nothing is mocked.

The first test covers the read path and the set-up flow's probe against a real broker; the
second the whole loop of issue 7 with the emulator's optical port: the breaker select set to
*disconnected* in Home Assistant opens the emulated breaker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_socket
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from ccc_gateway.config import parse_config
from ccc_gateway.ports import Backoff
from ccc_gateway.service import Gateway
from custom_components.omnipower.const import DOMAIN
from meter_emulator.model import CouplingState
from tests.e2e.conftest import MOSQUITTO, Mosquitto, PtyMeter
from tests.e2e.frames import RADIUS_KEYS, RADIUS_SERIAL, radius_push

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("expected_lingering_tasks", [True]),
]
FAST = Backoff(initial=0.05, maximum=0.3)
SENSOR = f"sensor.omnipower_{RADIUS_SERIAL}"


@pytest.fixture
def broker() -> Iterator[Mosquitto]:
    """A Mosquitto child process on a free loopback port."""
    if not os.path.exists(MOSQUITTO):
        pytest.skip("mosquitto is not installed (apt-get install -y mosquitto)")
    pytest_socket.enable_socket()
    directory = Path(tempfile.mkdtemp(prefix="omnipower-ha-e2e-"))
    directory.chmod(0o755)
    mosquitto = Mosquitto(directory)
    mosquitto.start()
    try:
        yield mosquitto
    finally:
        mosquitto.stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.asynccontextmanager
async def gateway(broker: Mosquitto, port: Path, state_dir: Path) -> AsyncIterator[Gateway]:
    """The real gateway service reading *port* and publishing to *broker*."""
    config = parse_config(
        {
            "gateway": {"id": "e2e", "state_dir": str(state_dir), "timezone": "Europe/Copenhagen"},
            "mqtt": {"host": "127.0.0.1", "port": broker.port, "base_topic": "omnipower"},
            "meters": [
                {
                    "name": "radius",
                    "encryption_key": RADIUS_KEYS.encryption_key.hex(),
                    "authentication_key": (RADIUS_KEYS.authentication_key or b"").hex(),
                    "ccc": {"port": str(port)},
                }
            ],
        }
    )
    service = Gateway(config, port_backoff=FAST, mqtt_backoff=FAST)
    task = asyncio.create_task(service.run())
    try:
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(5):
                await task


async def until(condition: Callable[[], bool], what: str, within: float = 10.0) -> None:
    """Wait for something real processes do (a bound, not a measurement)."""
    for _ in range(int(within / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{what}: not within {within} s")


def state(hass: HomeAssistant, entity_id: str) -> str | None:
    current = hass.states.get(entity_id)
    return None if current is None else current.state


@pytest.mark.usefixtures("mock_hass_config")
async def test_meter_reaches_home_assistant(
    hass: HomeAssistant, broker: Mosquitto, tmp_path: Path
) -> None:
    """Set up by probing the real broker; each push shows in the entities; the gateway's
    clean stop makes them unavailable."""
    mqtt_entry = MockConfigEntry(domain="mqtt", data={"broker": "127.0.0.1", "port": broker.port})
    mqtt_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mqtt_entry.entry_id)
    await hass.async_block_till_done()
    meter = PtyMeter(tmp_path / "ttyCCC")
    try:
        async with gateway(broker, meter.link, tmp_path / "state") as service:
            await until(lambda: service.channels[0].view.ports["ccc"].state.value == "open", "port")
            await meter.send(radius_push(0).frame)  # the meter gets its serial and info
            await until(lambda: service.channels[0].view.frames_ok == 1, "first push")
            result = await hass.config_entries.flow.async_init(
                DOMAIN, context={"source": SOURCE_USER}
            )
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {"base_topic": "omnipower", "serial": RADIUS_SERIAL}
            )
            assert result["type"] is FlowResultType.CREATE_ENTRY
            await hass.async_block_till_done()
            # Subscribed once the gateway's retained "online" is in.
            gateway_sensor = f"binary_sensor.omnipower_{RADIUS_SERIAL}_gateway"
            await until(lambda: state(hass, gateway_sensor) == "on", "subscribed")
            for index in (1, 2):
                push = radius_push(index)
                await meter.send(push.frame)
                await until(
                    lambda p=push: (
                        state(hass, f"{SENSOR}_power_import")  # type: ignore[misc]
                        == str(p.active_power_w)
                    ),
                    f"push {index}",
                )
            assert state(hass, f"{SENSOR}_voltage_phase_1") not in (None, STATE_UNAVAILABLE)
            energy = state(hass, f"{SENSOR}_energy_import")
            assert energy not in (None, STATE_UNAVAILABLE)
            assert float(str(energy)) > 0
        # SIGTERM-like stop: the gateway says "offline" itself.
        await until(lambda: state(hass, f"{SENSOR}_power_import") == STATE_UNAVAILABLE, "offline")
    finally:
        meter.unplug()
        for entry in hass.config_entries.async_entries():
            await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


@pytest.mark.usefixtures("mock_hass_config")
async def test_breaker_switch_opens_the_emulated_breaker(
    hass: HomeAssistant, broker: Mosquitto, tmp_path: Path
) -> None:
    """The emulator (CCC push and DLMS optical port on ptys), the gateway polling it, real
    Mosquitto, Home Assistant: choosing disconnected for the breaker opens the model's breaker,
    confirmed by the gateway's read-back; connected closes it again."""
    # The gateway's own optical end-to-end test builds the same meter and gateway.
    optical = pytest.importorskip("tests.e2e.test_optical_dlms")

    mqtt_entry = MockConfigEntry(domain="mqtt", data={"broker": "127.0.0.1", "port": broker.port})
    mqtt_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mqtt_entry.entry_id)
    await hass.async_block_till_done()
    breaker = f"select.omnipower_{optical.SERIAL}_breaker"
    try:
        async with (
            optical.emulator(tmp_path) as emulated,
            optical.gateway(broker, tmp_path, emulated),
        ):
            result = await hass.config_entries.flow.async_init(
                DOMAIN, context={"source": SOURCE_USER}
            )
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {"base_topic": "omnipower", "serial": optical.SERIAL}
            )
            assert result["type"] is FlowResultType.CREATE_ENTRY
            entry = result["result"]
            hass.config_entries.async_update_entry(
                entry, options={**entry.options, "commands": ["breaker"]}
            )
            await hass.async_block_till_done()
            await until(lambda: state(hass, breaker) == "connected", "breaker read", within=30)
            await hass.services.async_call(
                "select",
                "select_option",
                {"entity_id": breaker, "option": "disconnected"},
                blocking=True,
            )
            assert emulated.meter.breaker.state is CouplingState.DISCONNECTED
            assert state(hass, breaker) == "disconnected"
            await hass.services.async_call(
                "select",
                "select_option",
                {"entity_id": breaker, "option": "connected"},
                blocking=True,
            )
            assert emulated.meter.breaker.state is CouplingState.CONNECTED
            assert state(hass, breaker) == "connected"
    finally:
        for entry in hass.config_entries.async_entries():
            await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
