"""The gateway end to end: pty → gateway → real Mosquitto → an aiomqtt subscriber.

Frames are the published Radius push re-encrypted with rising invocation counters (its keys are
public), written into a pseudo-terminal; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from ccc_gateway.config import parse_config
from ccc_gateway.ports import Backoff
from ccc_gateway.protocol.obis import quantity_of
from ccc_gateway.service import Gateway
from tests.e2e.conftest import Mosquitto, PtyMeter, subscriber
from tests.e2e.frames import RADIUS_KEYS, RADIUS_SERIAL, radius_push
from tests.vectors import RADIUS, frame, vectors

pytestmark = pytest.mark.slow
FAST = Backoff(initial=0.05, maximum=0.3)


def gateway_config(
    broker: Mosquitto, port: Path, state_dir: Path, *, keys: tuple[bytes, bytes] | None = None
) -> dict[str, Any]:
    ek, ak = keys or (RADIUS_KEYS.encryption_key, RADIUS_KEYS.authentication_key or b"")
    return {
        "gateway": {"id": "test", "state_dir": str(state_dir), "timezone": "Europe/Copenhagen"},
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "base_topic": "omnipower"},
        "meters": [
            {
                "name": "radius",
                "encryption_key": ek.hex(),
                "authentication_key": ak.hex(),
                "ccc": {"port": str(port)},
            }
        ],
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


def payload(message: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(message.payload)
    return result


def topic(name: str) -> str:
    return f"omnipower/{RADIUS_SERIAL}/{name}"


async def eventually(condition: Callable[[], bool], *, within: float = 5.0) -> None:
    """Poll *condition* (gateway state has no event to wait on) until true or time is up."""
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"condition not met within {within} s")


async def port_open(gateway: Gateway) -> None:
    await eventually(lambda: gateway.channels[0].view.ports["ccc"].state.value == "open")


async def test_readings_arrive_within_one_push_and_equal_the_frame(
    mosquitto: Mosquitto, pty_meter: PtyMeter, tmp_path: Path
) -> None:
    expected = vectors()[RADIUS]["expected"]
    async with (
        subscriber(mosquitto.port, "omnipower/#") as sub,
        running(gateway_config(mosquitto, pty_meter.link, tmp_path)) as gateway,
    ):
        await port_open(gateway)
        push = radius_push(0)
        await pty_meter.send(push.frame)
        power = payload(await sub.wait_for(lambda m: m.topic.matches(topic("power")), within=5))
        energy_msg = await sub.wait_for(lambda m: m.topic.matches(topic("energy")), within=5)
        energy = payload(energy_msg)
        # A consumer that subscribes later gets the retained state at once.
        async with subscriber(mosquitto.port, "omnipower/#") as late:
            online = await late.wait_for(lambda m: m.topic.matches("omnipower/bridge/test/state"))
            retained = await late.wait_for(lambda m: m.topic.matches(topic("energy")))
            await late.wait_for(lambda m: m.topic.matches(topic("info")))
        assert not late.on(topic("power")), "power is never retained"
    assert online.payload == b"online"
    assert online.retain
    assert retained.retain
    assert retained.payload == energy_msg.payload
    assert power["active_power_import_w"] == push.active_power_w
    assert power["voltage_l1_v"] == expected["1.1.32.7.0.255"]["value"]
    assert power["voltage_l2_v"] == expected["1.1.52.7.0.255"]["value"]
    assert power["ts"] == "2020-01-07T14:47:20+01:00"
    assert power["schema"] == 1
    assert energy["active_energy_import_kwh"] == expected["1.1.1.8.0.255"]["value"] / 1000


async def test_broker_restart_mid_stream_republishes_latest_state(
    mosquitto: Mosquitto, pty_meter: PtyMeter, tmp_path: Path
) -> None:
    async with running(gateway_config(mosquitto, pty_meter.link, tmp_path)) as gateway:
        await port_open(gateway)
        async with subscriber(mosquitto.port, "omnipower/#") as sub:
            await pty_meter.send(radius_push(0).frame)
            await sub.wait_for(lambda m: m.topic.matches(topic("energy")))
        mosquitto.stop()
        # The gateway keeps reading while the broker is away; the newest power reading wins.
        for index in (1, 2):
            await pty_meter.send(radius_push(index).frame)
        await eventually(lambda: gateway.channels[0].view.frames_ok == 3)
        mosquitto.start()  # no persistence: the restarted broker has forgotten everything
        async with subscriber(mosquitto.port, "omnipower/#") as sub:
            online = await sub.wait_for(lambda m: m.topic.matches("omnipower/bridge/test/state"))
            power = await sub.wait_for(lambda m: m.topic.matches(topic("power")))
            energy = await sub.wait_for(lambda m: m.topic.matches(topic("energy")))
            await sub.wait_for(lambda m: m.topic.matches(topic("info")))
            await pty_meter.send(radius_push(3).frame)
            fresh = await sub.wait_for(
                lambda m: (
                    m.topic.matches(topic("power")) and payload(m)["active_power_import_w"] == 1003
                )
            )
    assert online.payload == b"online"
    # Only the latest pending power reading survives an outage; stale ones are not replayed.
    assert payload(power)["active_power_import_w"] == 1002
    assert [payload(m)["active_power_import_w"] for m in sub.on(topic("power"))] == [1002, 1003]
    # Every register update is kept, in order (issue 16: a back-end bills from each one); the
    # newest is the last one retained, and nothing older is sent after it.
    assert payload(energy)["ts"] == "2020-01-07T14:47:30+01:00"
    assert [payload(m)["ts"] for m in sub.on(topic("energy"))][:2] == [
        "2020-01-07T14:47:30+01:00",
        "2020-01-07T14:47:40+01:00",
    ]
    assert fresh is not None


async def test_pty_closed_and_reopened_recovers(
    mosquitto: Mosquitto, pty_meter: PtyMeter, tmp_path: Path
) -> None:
    async with (
        subscriber(mosquitto.port, "omnipower/#") as sub,
        running(gateway_config(mosquitto, pty_meter.link, tmp_path)) as gateway,
    ):
        await port_open(gateway)
        await pty_meter.send(radius_push(0).frame)
        await sub.wait_for(lambda m: m.topic.matches(topic("power")))
        pty_meter.unplug()
        lost = await sub.wait_for(
            lambda m: (
                m.topic.matches(topic("diagnostics"))
                and payload(m)["ports"]["ccc"]["state"] == "unavailable"
            )
        )
        pty_meter.plug()
        await port_open(gateway)
        mark = len(sub.messages)
        await pty_meter.send(radius_push(1).frame)
        again = await sub.wait_for(lambda m: m.topic.matches(topic("power")), after=mark)
    diagnostics = payload(lost)
    assert diagnostics["errors"]["port_unavailable"] == 1
    assert diagnostics["last_error"]["code"] == "port_unavailable"
    assert payload(again)["active_power_import_w"] == 1001


def _swapped() -> tuple[bytes, bytes]:
    return RADIUS_KEYS.authentication_key or b"", RADIUS_KEYS.encryption_key


def _wrong() -> tuple[bytes, bytes]:
    # A wrong key, not an all-zero placeholder (which the config refuses before any frame).
    return bytes(range(16)), RADIUS_KEYS.authentication_key or b""


@pytest.mark.parametrize(
    ("keys", "code"),
    [(_wrong(), "authentication_failed"), (_swapped(), "keys_swapped")],
    ids=["wrong_key", "swapped_keys"],
)
async def test_bad_keys_publish_a_named_error_and_no_readings(
    mosquitto: Mosquitto,
    pty_meter: PtyMeter,
    tmp_path: Path,
    keys: tuple[bytes, bytes],
    code: str,
) -> None:
    config = gateway_config(mosquitto, pty_meter.link, tmp_path, keys=keys)
    # A rejected frame never names the meter (issue 10): the serial is what gives it a topic.
    config["meters"][0]["serial"] = RADIUS_SERIAL
    async with (
        subscriber(mosquitto.port, "omnipower/#") as sub,
        running(config) as gateway,
    ):
        await port_open(gateway)
        await pty_meter.send(radius_push(0).frame)
        diagnostics = await sub.wait_for(
            lambda m: m.topic.matches(topic("diagnostics")) and payload(m)["errors"]
        )
        await asyncio.sleep(0.2)  # anything else it might (wrongly) publish has arrived by now
    body = payload(diagnostics)
    assert body["errors"] == {code: 1}
    assert body["frames_ok"] == 0
    assert body["last_error"]["code"] == code
    assert not sub.on(topic("power"))
    assert not sub.on(topic("energy"))
    assert gateway.channels[0].view.last_push is None


async def test_replayed_frame_is_rejected_even_after_a_restart(
    mosquitto: Mosquitto, pty_meter: PtyMeter, tmp_path: Path
) -> None:
    config = gateway_config(mosquitto, pty_meter.link, tmp_path)
    # After the restart only a replay arrives, and a rejected frame never names the meter
    # (issue 10): the configured serial gives the restarted gateway its topics.
    config["meters"][0]["serial"] = RADIUS_SERIAL
    first, second = radius_push(0), radius_push(1)
    async with subscriber(mosquitto.port, "omnipower/#") as sub:
        async with running(config) as gateway:
            await port_open(gateway)
            await pty_meter.send(first.frame)
            await pty_meter.send(second.frame)
            await sub.wait_for(
                lambda m: (
                    m.topic.matches(topic("power"))
                    and payload(m)["active_power_import_w"] == second.active_power_w
                )
            )
            await pty_meter.send(first.frame)  # replay within one run
            replay = await sub.wait_for(
                lambda m: (
                    m.topic.matches(topic("diagnostics"))
                    and "replayed_frame" in payload(m)["errors"]
                )
            )
        mark = len(sub.messages)
        async with running(config) as gateway:  # a new process: the counter came from disk
            await port_open(gateway)
            await pty_meter.send(second.frame)
            after_restart = await sub.wait_for(
                lambda m: (
                    m.topic.matches(topic("diagnostics"))
                    and "replayed_frame" in payload(m)["errors"]
                ),
                after=mark,
            )
            await asyncio.sleep(0.2)
    assert payload(replay)["last_error"]["code"] == "replayed_frame"
    assert payload(replay)["last_invocation_counter"] == second.invocation_counter
    assert payload(after_restart)["errors"] == {"replayed_frame": 1}
    powers = [payload(m)["active_power_import_w"] for m in sub.on(topic("power"))]
    assert powers == [first.active_power_w, second.active_power_w]


async def test_a_missing_port_does_not_stop_another_meter(
    mosquitto: Mosquitto, pty_meter: PtyMeter, tmp_path: Path
) -> None:
    config = gateway_config(mosquitto, pty_meter.link, tmp_path)
    config["meters"].append(
        {"name": "unplugged", "serial": "11111111", "ccc": {"port": str(tmp_path / "ttyUSB7")}}
    )
    async with (
        subscriber(mosquitto.port, "omnipower/#") as sub,
        running(config) as gateway,
    ):
        await port_open(gateway)
        await pty_meter.send(radius_push(0).frame)
        await sub.wait_for(lambda m: m.topic.matches(topic("power")))
        lost = await sub.wait_for(lambda m: m.topic.matches("omnipower/11111111/diagnostics"))
    assert payload(lost)["ports"]["ccc"]["state"] == "unavailable"
    assert payload(lost)["errors"] == {"port_unavailable": 1}


#: The contract's key suffix and unit factor per vector unit (an oracle independent of the
#: gateway's own table).
_CONTRACT_UNITS = {"W": ("w", 1), "var": ("var", 1), "V": ("v", 1), "A": ("a", 1)}
_CONTRACT_ENERGY = {"Wh": "kwh", "varh": "kvarh"}


def expected_values(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Power and energy keys the contract gives the vector's expected readings."""
    power: dict[str, Any] = {}
    energy: dict[str, Any] = {}
    for obis, entry in vectors()[name]["expected"].items():
        quantity = quantity_of(obis)
        unit = entry.get("unit")
        if unit in _CONTRACT_UNITS:
            power[f"{quantity.name}_{_CONTRACT_UNITS[unit][0]}"] = entry["value"]
        elif unit in _CONTRACT_ENERGY:
            energy[f"{quantity.name}_{_CONTRACT_ENERGY[unit]}"] = entry["value"] / 1000
    return power, energy


@pytest.mark.parametrize("name", ["no_1ph_list1_plain", "no_1ph_list2_plain"])
async def test_real_frames_at_2400_baud_publish_exactly_their_values(
    mosquitto: Mosquitto, pty_meter: PtyMeter, tmp_path: Path, name: str
) -> None:
    config = gateway_config(mosquitto, pty_meter.link, tmp_path)
    config["meters"][0]["serial"] = "71533207"
    # A plaintext meter: with keys configured its pushes would be refused (issue 10).
    del config["meters"][0]["encryption_key"], config["meters"][0]["authentication_key"]
    power_expected, energy_expected = expected_values(name)
    async with (
        subscriber(mosquitto.port, "omnipower/#") as sub,
        running(config) as gateway,
    ):
        await port_open(gateway)
        await pty_meter.send(frame(name), baudrate=2400)  # ~0.8 s on the wire, like the meter
        power = payload(
            await sub.wait_for(lambda m: m.topic.matches("omnipower/71533207/power"), within=3)
        )
        energy = None
        if energy_expected:
            energy = payload(
                await sub.wait_for(lambda m: m.topic.matches("omnipower/71533207/energy"))
            )
    assert {k: power[k] for k in power_expected} == power_expected
    assert power["ts"] == vectors()[name]["apdu_date_time"]["local"] + "+01:00"
    if energy is not None:
        assert {k: pytest.approx(energy[k]) for k in energy_expected} == energy_expected
