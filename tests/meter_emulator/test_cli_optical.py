"""``omnipower emulator``'s optical head as a real process: DLMS and 1107 on one pty.

The clients are the gateway's own (its DLMS port and its IEC 62056-21 readout); third-party
DLMS clients talk to the same server in tests/meter_emulator/dlms.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

import pytest

from ccc_gateway.config import OpticalPortConfig, Secret
from ccc_gateway.optical.iec62056_21_port import SerialOpticalPort, read_readout
from ccc_gateway.optical.ports import open_optical_port

pytestmark = pytest.mark.slow


async def test_dlms_write_then_1107_readout_see_the_same_meter(tmp_path: Path) -> None:
    optical = tmp_path / "optical"
    # A variant 1 meter: only variant 1 offers the 1107 readout (Z18); variant 2 answers DLMS.
    config = tmp_path / "meter.toml"
    config.write_text('[meter]\ntype_number = "6861111BN142101040"\n', encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ccc_gateway.cli",
        "emulator",
        "--config",
        str(config),
        "--ccc",
        "tcp:0",
        "--optical",
        f"pty:{optical}",
        "--scenario",
        "constant",
        "--speed",
        "5",
        "--no-display",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        while True:
            line = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
            assert line, "the emulator ended before naming its optical head"
            if line.startswith("optical head:"):
                break
        port = open_optical_port(
            OpticalPortConfig(kind="serial", path=str(optical), password=Secret("12345"))
        )
        async with asyncio.timeout(60):
            async with port.session() as session:
                before = await session.read(["meter_number", "coupling_state", "actual_tariff"])
                await session.write("actual_tariff", 3)
                after = await session.read(["actual_tariff", "active_energy_import"])
            assert before["meter_number"] == 28046399
            assert before["coupling_state"] == 4
            assert after["actual_tariff"] == 3
            assert after["active_energy_import"] >= 0
            async with SerialOpticalPort(str(optical)) as head:
                readout = await read_readout(head)
        tariff = [v for v in readout.values if v.obis.endswith("129.0.0")]
        if tariff:  # only when the readout list shows ActualTariff
            assert tariff[0].value.endswith("3")
        assert any(v.obis.endswith("1.8.0") for v in readout.values)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        _out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    assert not optical.exists()  # the symlink goes with the process
