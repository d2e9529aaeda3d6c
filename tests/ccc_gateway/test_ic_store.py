"""The persistent invocation-counter store: replay protection survives restarts."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from ccc_gateway.ic_store import FileCounterStore
from ccc_gateway.protocol import ReplayedFrame, SecurityContext

TITLE = bytes.fromhex("4B414D4501A4DC52")


def test_counter_survives_a_new_store(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ic.json"
    FileCounterStore(path).save(TITLE, 493793)
    assert FileCounterStore(path).load(TITLE) == 493793
    assert json.loads(path.read_text()) == {"4B414D4501A4DC52": 493793}
    assert [p.name for p in path.parent.iterdir()] == ["ic.json"]  # no temporary file left


def test_replay_guard_uses_the_persisted_counter(tmp_path: Path) -> None:
    path = tmp_path / "ic.json"
    SecurityContext(keys=None, store=FileCounterStore(path)).accept(TITLE, 10)
    guard = SecurityContext(keys=None, store=FileCounterStore(path))
    with pytest.raises(ReplayedFrame):
        guard.check(TITLE, 10)
    guard.check(TITLE, 11)


def test_corrupt_file_is_reported_and_starts_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "ic.json"
    path.write_text("{not json")
    with caplog.at_level(logging.ERROR):
        store = FileCounterStore(path)
    assert store.load(TITLE) is None
    assert "replay protection restarts" in caplog.text


def test_unwritable_directory_is_logged_once_and_memory_still_guards(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = FileCounterStore(blocker / "ic.json")  # a path below a regular file
    with caplog.at_level(logging.ERROR):
        store.save(TITLE, 1)
        store.save(TITLE, 2)
    assert caplog.text.count("cannot write the invocation counters") == 1
    assert store.load(TITLE) == 2
