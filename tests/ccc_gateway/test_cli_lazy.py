"""``omnipower decode`` loads neither the service, MQTT nor the emulator (start-up time)."""

from __future__ import annotations

import subprocess
import sys


def test_decode_imports_only_the_decoder() -> None:
    code = (
        "import sys\n"
        "from ccc_gateway.cli import main\n"
        "main(['decode', '7E'])\n"
        "heavy = [m for m in ('ccc_gateway.service', 'aiomqtt', 'meter_emulator.model') "
        "if m in sys.modules]\n"
        "print(heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr


def test_help_still_lists_every_subcommand() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ccc_gateway.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    for name in ("decode", "gateway", "emulator", "demo"):
        assert name in result.stdout
