"""What ``--check`` catches beyond the syntax: misspelt keys, placeholder keys, a state
directory the gateway cannot write, and a file everyone can read."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ccc_gateway.cli import main
from ccc_gateway.config import ConfigError, load_config, parse_config
from ccc_gateway.config.loader import state_dir_problem
from ccc_gateway.config.models import ConfigErrors
from tests.ccc_gateway.test_config import AK, EK, minimal


def test_a_misspelt_key_names_the_nearest_known_one() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(minimal(encyption_key=EK))
    assert error.value.key == "meters[0].encyption_key"
    assert "did you mean encryption_key?" in str(error.value)


def test_an_unrelated_unknown_key_gets_no_guess() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(minimal(colour="blue"))
    assert "unknown key" in str(error.value)
    assert "did you mean" not in str(error.value)


@pytest.mark.parametrize("placeholder", ["0" * 32, "1" * 32, "0x" + "F" * 32])
def test_placeholder_keys_are_refused(placeholder: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(minimal(encryption_key=placeholder))
    assert error.value.key == "meters[0].encryption_key"
    assert "placeholder" in str(error.value)
    assert placeholder not in str(error.value)


def test_a_group_readable_file_is_how_the_service_reads_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        f'[[meters]]\nencryption_key = "{EK}"\nauthentication_key = "{AK}"\n'
        '[meters.ccc]\nport = "/dev/ttyUSB0"\n'
    )
    path.chmod(0o640)
    with caplog.at_level(logging.WARNING):
        load_config(path)
    assert "readable" not in caplog.text


def _config(tmp_path: Path, state_dir: Path) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(
        f'[gateway]\nstate_dir = "{state_dir}"\n[[meters]]\n[meters.ccc]\nport = "/dev/x"\n'
    )
    path.chmod(0o600)
    return path


def test_check_refuses_a_state_dir_that_is_a_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    state.write_text("")
    with caplog.at_level(logging.INFO):
        code = main(["gateway", "--config", str(_config(tmp_path, state)), "--check"])
    assert code == 2
    assert "not a directory" in caplog.text


def test_check_warns_about_a_missing_state_dir_and_passes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        code = main(["gateway", "--config", str(_config(tmp_path, tmp_path / "new")), "--check"])
    assert code == 0
    assert "does not exist yet" in caplog.text
    assert "is valid" in caplog.text


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any directory")
def test_an_unwritable_state_dir_is_fatal(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o500)
    problem = state_dir_problem(state)
    assert problem is not None
    assert problem[0] is True
    assert "not writable" in problem[1]


@pytest.mark.skipif(os.geteuid() != 0, reason="the test above covers a non-root run")
def test_an_immutable_state_dir_is_fatal_even_for_root(tmp_path: Path) -> None:
    """Root ignores permission bits (CI runs as root), but not the immutable attribute: the
    check must ask the kernel (access(2)), not read the mode bits."""
    state = tmp_path / "state"
    state.mkdir()
    if shutil.which("chattr") is None:
        pytest.skip("chattr (e2fsprogs) is not installed")
    made = subprocess.run(["chattr", "+i", str(state)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"this file system refuses the immutable attribute: {made.stderr.strip()}")
    try:
        problem = state_dir_problem(state)
        assert problem is not None
        assert problem[0] is True
        assert "not writable" in problem[1]
        assert f"uid {os.getuid()}" in problem[1]
    finally:
        subprocess.run(["chattr", "-i", str(state)], check=True)


def test_a_writable_state_dir_is_fine(tmp_path: Path) -> None:
    assert state_dir_problem(tmp_path) is None


def test_every_wrong_table_is_reported_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = {
        "gateway": {"diagnostics_interval": 0},
        "mqtt": {"port": 70000},
        "meters": [
            {"encyption_key": EK, "ccc": {"port": "/dev/ttyUSB0"}},
            {"encryption_key": "0" * 32, "ccc": {"port": "/dev/ttyUSB1"}},
        ],
        "extra": 1,
    }
    with pytest.raises(ConfigErrors) as error:
        parse_config(data)
    keys = [e.key for e in error.value.errors]
    assert keys == [
        "gateway.diagnostics_interval",
        "mqtt.port",
        "meters[0].encyption_key",
        "meters[1].encryption_key",
        "extra",
    ]
    assert error.value.key == "gateway.diagnostics_interval"
    text = str(error.value)
    assert text.startswith("5 errors:")
    assert "did you mean encryption_key?" in text
    path = tmp_path / "gateway.toml"
    path.write_text(
        "[gateway]\ndiagnostics_interval = 0\n[mqtt]\nport = 70000\n"
        '[[meters]]\n[meters.ccc]\nport = "/dev/x"\n'
    )
    path.chmod(0o600)
    with caplog.at_level(logging.ERROR):
        assert main(["gateway", "--config", str(path), "--check"]) == 2
    assert "gateway.diagnostics_interval" in caplog.text
    assert "mqtt.port" in caplog.text
