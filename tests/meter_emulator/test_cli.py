"""``omnipower emulator`` as a real process: TCP push, control socket, SIGTERM keeps the state."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from ccc_gateway.cli import build_parser
from ccc_gateway.protocol import Keys, PushDecoder, PushReceived, SecurityContext
from meter_emulator.control import ControlClient

pytestmark = pytest.mark.slow
EK = "5AD84121D9D20B364B7A11F3C1B5827F"
AK = "AFB3F93E3E7204EDB3C27F96DBD51AE0"


def test_the_subcommand_is_registered() -> None:
    parser = build_parser()
    args = parser.parse_args(["emulator", "--ccc", "tcp:0", "--speed", "5", "--scenario", "idle"])
    assert args.speed == 5
    assert args.scenario == "idle"


async def _start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ccc_gateway.cli",
        "emulator",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "meter.toml"
    config.write_text("[software]\ndisplay_decimals = 9\n", encoding="utf-8")
    process = await _start("--config", str(config), "--ccc", "tcp:0")
    _out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert b"software.display_decimals" in err


async def test_encryption_key_without_authentication_key_exits_2(tmp_path: Path) -> None:
    """It used to load, then crash on the first push with no frame sent (issue 13)."""
    config = tmp_path / "meter.toml"
    config.write_text(f'[push]\nencryption_key = "{EK}"\n', encoding="utf-8")
    process = await _start("--config", str(config), "--ccc", "tcp:0", "--optical", "none")
    _out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert b"push.authentication_key" in err


async def test_push_control_and_restart(tmp_path: Path) -> None:
    config = tmp_path / "meter.toml"
    config.write_text(
        f'[push]\nlist = "dlms_push_1"\nencryption_key = "{EK}"\nauthentication_key = "{AK}"\n'
        "[prepayment]\nenabled = true\ncredit_kwh = 40\n",
        encoding="utf-8",
    )
    state = tmp_path / "state.json"
    control = tmp_path / "control.sock"
    common = ["--config", str(config), "--ccc", "tcp:0", "--optical", "none", "--speed", "20"]
    common += ["--scenario", "constant"]
    common += ["--state", str(state), "--control", str(control), "--no-display"]
    process = await _start(*common, "--start", "2024-07-01T10:00:00+00:00")
    assert process.stdout is not None
    port = 0
    while True:  # the control line comes last, once the socket is listening
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
        assert line, "the emulator ended before naming its ports"
        if line.startswith("CCC push: tcp://127.0.0.1:"):
            port = int(line.split(":")[3].split()[0])
        if line.startswith("control:"):
            break
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    keys = Keys(bytes.fromhex(EK), bytes.fromhex(AK))
    decoder = PushDecoder(security=SecurityContext(keys=keys))
    pushes: list[PushReceived] = []
    try:
        while len(pushes) < 2:
            data = await asyncio.wait_for(reader.read(1024), timeout=30)
            assert data
            pushes += [e for e in decoder.receive_data(data) if isinstance(e, PushReceived)]
    finally:
        writer.close()
    first = pushes[0].push
    assert first.readings["1.1.1.7.0.255"].value == 1000
    assert first.invocation_counter is not None
    client = ControlClient(control)
    assert await client.call("breaker", value=1) == 1
    with pytest.raises(RuntimeError, match="only from state 8"):
        await client.call("breaker", value=3)
    with pytest.raises(RuntimeError, match="kwh"):
        await client.call("top_up", kwh="lots")
    read = await client.call("state")
    assert read["breaker"]["coupling_state"] == 1
    assert read["prepayment"]["credit_kwh"] <= 40
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), timeout=30)
    assert process.returncode == 0
    saved = json.loads(state.read_text())
    assert saved["meter"]["breaker"]["state"] == 1
    last_ic = pushes[-1].push.invocation_counter
    assert last_ic is not None
    assert saved["ic_reserved"] >= last_ic
    # a restart resumes the registers and never reuses a counter
    again = await _start(*common)
    assert again.stdout is not None
    while True:
        line = (await asyncio.wait_for(again.stdout.readline(), timeout=30)).decode()
        assert line
        if line.startswith("control:"):
            break
    read = await ControlClient(control).call("state")
    assert read["breaker"]["coupling_state"] == 1
    assert read["invocation_counter"] >= saved["ic_reserved"]
    again.send_signal(signal.SIGTERM)
    await asyncio.wait_for(again.wait(), timeout=30)
