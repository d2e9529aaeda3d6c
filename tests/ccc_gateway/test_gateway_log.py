"""After "connected to MQTT broker" the gateway's log says that it works: the first push, the
first optical poll, and that it stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from pathlib import Path

import pytest

from ccc_gateway.config import parse_config
from ccc_gateway.ports import Backoff
from ccc_gateway.service import Gateway
from tests.ccc_gateway.optical.fake_port import FakeMeter
from tests.vectors import frame

FAST = Backoff(initial=0.05, maximum=0.3)


def test_the_first_push_is_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = parse_config(
        {
            "gateway": {"state_dir": str(tmp_path), "timezone": "Europe/Oslo"},
            "meters": [{"name": "house", "serial": "12345678", "ccc": {"port": "/dev/null"}}],
        }
    )
    channel = Gateway(config).channels[0]
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            channel.port_data(frame("no_1ph_list1_plain"))
    assert caplog.text.count("first push from meter 12345678 decoded") == 1
    assert "omnipower/12345678/power" in caplog.text


async def test_first_optical_poll_and_stop_are_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The meter side is the in-memory optical port the command tests use; the broker is absent
    # (port 1 refuses), which the gateway rides out while it reads.
    config = parse_config(
        {
            "gateway": {"state_dir": str(tmp_path), "timezone": "Europe/Copenhagen"},
            "mqtt": {"host": "127.0.0.1", "port": 1},
            "meters": [
                {
                    "name": "house",
                    "serial": "27581522",
                    "optical": {"tcp": "127.0.0.1:1", "password": "12345", "poll_interval": 10},
                }
            ],
        }
    )
    meter = FakeMeter(datetime.now().replace(microsecond=0))
    gateway = Gateway(
        config, port_backoff=FAST, mqtt_backoff=FAST, optical_port_factory=lambda _: meter
    )
    polled = asyncio.Event()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "first optical poll" in record.getMessage():
                polled.set()

    watch = Watch()
    logging.getLogger("ccc_gateway").addHandler(watch)
    with caplog.at_level(logging.INFO):
        task = asyncio.create_task(gateway.run())
        try:
            async with asyncio.timeout(10):
                await polled.wait()
        finally:
            logging.getLogger("ccc_gateway").removeHandler(watch)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert caplog.text.count("house: first optical poll on") == 1
    assert "omnipower gateway omnipower stopped" in caplog.text


def test_the_first_push_names_the_assumed_scalers_and_flags_impossible_values(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = parse_config(
        {
            "gateway": {"state_dir": str(tmp_path), "timezone": "Europe/Oslo"},
            "meters": [
                {
                    "name": "house",
                    "serial": "12345678",
                    "ccc": {"port": "/dev/null"},
                    # A wrong setting on purpose: the 10 Wh registers read as kWh.
                    "resolution": {"energy_scaler": 3},
                }
            ],
        }
    )
    with caplog.at_level(logging.INFO):
        Gateway(config).channels[0].port_data(frame("no_1ph_list2_plain"))
    assert "scalers assumed (the push sends none)" in caplog.text
    assert "Wh x10^3" in caplog.text
    assert "active_energy_import" in caplog.text
    assert "energy_scaler = 0 in the meter's [meters.resolution]" in caplog.text
