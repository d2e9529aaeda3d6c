"""The Home Assistant add-on: its options become a gateway.toml the gateway accepts, and its start
script stops with a clear line when options or the broker are missing. The image itself is
built by a release workflow (no container runtime runs here)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ccc_gateway.config import parse_config
from tests.ccc_gateway.test_config import AK, EK

ADDON = Path(__file__).parents[2] / "omnipower-gateway"
RUN = ADDON / "rootfs" / "run.sh"
MQTT = {"host": "core-mosquitto", "port": 1883, "username": "addons", "password": "pw"}


def _translator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "options_to_toml", ADDON / "rootfs" / "options_to_toml.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _options(**meter: Any) -> dict[str, Any]:
    return {
        "timezone": "Europe/Copenhagen",
        "discovery": True,
        "log_level": "INFO",
        "meters": [{"name": "house", "ccc_port": "/dev/ttyUSB0", **meter}],
    }


def test_options_become_a_gateway_toml_the_gateway_accepts() -> None:
    text = _translator().translate(
        _options(
            serial="27581522",
            encryption_key=EK,
            authentication_key=AK,
            optical_port="/dev/ttyUSB1",
            optical_password="12345",
            commands=["breaker", "tariff"],
        ),
        MQTT,
    )
    data = tomllib.loads(text)
    assert data["gateway"] == {"state_dir": "/data", "timezone": "Europe/Copenhagen"}
    assert data["mqtt"]["host"] == "core-mosquitto"
    assert data["mqtt"]["username"] == "addons"
    assert data["mqtt"]["discovery"] is True
    config = parse_config(data)
    (meter,) = config.meters
    assert (meter.name, meter.serial) == ("house", "27581522")
    assert meter.ccc is not None
    assert meter.ccc.description.startswith("/dev/ttyUSB0")
    assert meter.optical is not None
    assert meter.keys() is not None
    assert config.mqtt.port == 1883


def test_a_meter_without_a_port_is_refused_by_name() -> None:
    translator = _translator()
    with pytest.raises(translator.OptionsError, match="'house' needs ccc_port or optical_port"):
        translator.translate({"meters": [{"name": "house"}]}, MQTT)
    with pytest.raises(translator.OptionsError, match="no meter configured"):
        translator.translate({"meters": []}, MQTT)
    with pytest.raises(translator.OptionsError, match="Mosquitto broker add-on"):
        translator.translate(_options(), {})


def _run(tmp_path: Path, options: dict[str, Any] | None, mqtt: dict[str, Any]) -> Any:
    env = {k: v for k, v in os.environ.items() if k != "SUPERVISOR_TOKEN"}
    if options is not None:
        (tmp_path / "options.json").write_text(json.dumps(options))
    (tmp_path / "mqtt.json").write_text(json.dumps(mqtt))
    stub = tmp_path / "omnipower"
    stub.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "calls"}\n')
    stub.chmod(0o755)
    env.update(
        OPTIONS=str(tmp_path / "options.json"),
        CONFIG=str(tmp_path / "gateway.toml"),
        MQTT_JSON=str(tmp_path / "mqtt.json"),
        OMNIPOWER=str(stub),
        PYTHON=sys.executable,
    )
    return subprocess.run(["sh", str(RUN)], env=env, capture_output=True, text=True, timeout=30)


def test_start_script_without_options_says_where_to_add_them(tmp_path: Path) -> None:
    result = _run(tmp_path, None, MQTT)
    assert result.returncode == 2
    assert "Configuration tab" in result.stderr
    assert not (tmp_path / "calls").exists()


def test_start_script_without_meters_or_broker_stops_before_the_gateway(tmp_path: Path) -> None:
    result = _run(tmp_path, {"meters": []}, MQTT)
    assert result.returncode == 2
    assert "no meter configured" in result.stderr
    result = _run(tmp_path, _options(), {})
    assert result.returncode == 2
    assert "Mosquitto broker add-on" in result.stderr
    assert not (tmp_path / "calls").exists()


def test_start_script_checks_then_runs_the_gateway(tmp_path: Path) -> None:
    result = _run(tmp_path, _options(), MQTT)
    assert result.returncode == 0, result.stderr
    config = str(tmp_path / "gateway.toml")
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == [
        f"gateway --config {config} --check --log-level INFO",
        f"gateway --config {config} --log-level INFO",
    ]
    assert parse_config(tomllib.loads(Path(config).read_text())).meters[0].name == "house"
    assert Path(config).stat().st_mode & 0o077 == 0  # it holds the keys and the MQTT password
