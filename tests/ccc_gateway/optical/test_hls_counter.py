"""The gateway's HLS-GMAC invocation counters survive a restart: a nonce is never reused."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from ccc_gateway.config import OpticalPortConfig, Secret
from ccc_gateway.optical.hls_counter import BLOCK, HlsCounterFile
from ccc_gateway.optical.ports import SESSION_COUNTERS, DlmsOpticalPort

EK = Secret("000102030405060708090a0b0c0d0e0f")
AK = Secret("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf")


def port(path: Path) -> DlmsOpticalPort:
    config = OpticalPortConfig(
        "tcp", host="127.0.0.1", port=2002, encryption_key=EK, authentication_key=AK
    )

    async def never() -> None:  # the stream is not opened in these tests
        raise AssertionError

    return DlmsOpticalPort(config, never, counters=HlsCounterFile(path))  # type: ignore[arg-type]


def test_reservations_are_written_before_use_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "ic.json"
    counters = HlsCounterFile(path)
    counters.reserve("k", 10)
    assert json.loads(path.read_text()) == {"k": 10 + BLOCK}
    stamp = path.stat().st_mtime_ns
    counters.reserve("k", 500)  # inside the block: no write
    assert path.stat().st_mtime_ns == stamp
    assert HlsCounterFile(path).reserved("k") == 10 + BLOCK


def test_a_restarted_port_starts_past_every_counter_reserved(tmp_path: Path) -> None:
    path = tmp_path / "ic.json"
    first = port(path)
    start = first._next_invocation_counter()
    key = first._counter_key
    assert HlsCounterFile(path).reserved(key) >= start + SESSION_COUNTERS
    # A far-future reservation (e.g. a clock set back since): the restart must honour it.
    far = start + 10 * BLOCK
    counters = HlsCounterFile(path)
    counters.reserve(key, far)
    again = port(path)
    assert again._next_invocation_counter() >= far


def test_an_unreadable_file_is_logged_and_the_floor_still_applies(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "ic.json"
    path.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        restarted = port(path)
    assert "cannot read the HLS invocation counters" in caplog.text
    assert restarted._next_invocation_counter() > 8 * 100_000_000  # the clock-based floor
