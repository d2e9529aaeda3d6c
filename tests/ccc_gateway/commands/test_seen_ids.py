"""Accepted command ids survive a restart: on disk before the command runs, pruned after expiry."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ccc_gateway.commands.guard import (
    MAX_LIFETIME,
    CommandGuard,
    CommandRejected,
    MeterCommandPolicy,
)
from ccc_gateway.commands.seen_ids import FileSeenIds

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
METER = "28046399"
TOPIC = f"omnipower/{METER}/cmd/breaker"


def store(path: Path, now: datetime = NOW) -> FileSeenIds:
    return FileSeenIds(path, now=now, lifetime=MAX_LIFETIME)


def guard(seen: FileSeenIds) -> CommandGuard:
    return CommandGuard({METER: MeterCommandPolicy(frozenset({"breaker"}))}, seen=seen)


def command(command_id: str, expires: datetime) -> bytes:
    data: dict[str, Any] = {
        "id": command_id,
        "expires_at": expires.isoformat(),
        "args": {"action": "disconnect"},
    }
    return json.dumps(data).encode()


def check(g: CommandGuard, raw: bytes, now: datetime = NOW) -> str:
    try:
        g.check(topic=TOPIC, payload=raw, retained=False, now=now)
    except CommandRejected as exc:
        return exc.reason
    return "accepted"


def test_an_id_accepted_before_a_restart_is_a_duplicate_after_it(tmp_path: Path) -> None:
    path = tmp_path / "state" / "command_ids.json"
    raw = command("c-1", NOW + timedelta(seconds=30))
    assert check(guard(store(path)), raw) == "accepted"
    assert path.exists()  # written before check() returned, i.e. before the command can run
    restarted = guard(store(path, NOW + timedelta(seconds=5)))
    assert check(restarted, raw, NOW + timedelta(seconds=5)) == "duplicate"
    assert check(restarted, command("c-2", NOW + timedelta(seconds=30))) == "accepted"


def test_ids_are_pruned_after_their_window(tmp_path: Path) -> None:
    path = tmp_path / "command_ids.json"
    g = guard(store(path))
    check(g, command("old", NOW + timedelta(seconds=30)))
    later = NOW + timedelta(seconds=30) + MAX_LIFETIME + timedelta(seconds=1)
    check(g, command("new", later + timedelta(seconds=30)), later)
    ids = [entry[1] for entry in json.loads(path.read_text())["ids"]]
    assert ids == ["new"]
    # A restart long after drops what expired while it was down, too.
    much_later = later + timedelta(hours=1)
    assert len(store(path, much_later)) == 0


def test_the_write_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "command_ids.json"
    g = guard(store(path))
    for n in range(20):
        check(g, command(f"c-{n}", NOW + timedelta(seconds=30)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["command_ids.json"]
    assert len(json.loads(path.read_text())["ids"]) == 20


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_an_unwritable_state_dir_refuses_the_command(tmp_path: Path) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    seen = store(directory / "command_ids.json")
    directory.chmod(0o500)
    try:
        assert check(guard(seen), command("c-1", NOW + timedelta(seconds=30))) == (
            "state_unavailable"
        )
    finally:
        directory.chmod(0o700)
    # Not remembered: once the directory is writable the same id may run.
    assert check(guard(seen), command("c-1", NOW + timedelta(seconds=30))) == "accepted"


def test_a_state_path_that_is_a_directory_refuses_the_command(tmp_path: Path) -> None:
    """The root-proof variant of the read-only directory: the rename cannot succeed."""
    path = tmp_path / "command_ids.json"
    path.mkdir()
    (path / "keep").write_text("x")
    seen = FileSeenIds(path, now=NOW, lifetime=MAX_LIFETIME)
    assert check(guard(seen), command("c-1", NOW + timedelta(seconds=30))) == "state_unavailable"
    assert len(seen) == 0


@pytest.mark.parametrize(
    "text",
    ["{not json", '{"format": 2, "ids": []}', '{"format": 1, "ids": [[1, 2, 3]]}', "[]"],
)
def test_a_damaged_record_refuses_what_may_have_run_before(tmp_path: Path, text: str) -> None:
    path = tmp_path / "command_ids.json"
    path.write_text(text)
    g = guard(store(path))
    # Could have been accepted before the start (expires within MAX_LIFETIME of it): refused.
    assert check(g, command("c-1", NOW + timedelta(seconds=30))) == "state_unavailable"
    # Expires later than any command accepted before the start could: runs.
    late = NOW + timedelta(minutes=5)
    assert check(g, command("c-2", late + MAX_LIFETIME - timedelta(seconds=1)), late) == (
        "accepted"
    )
    assert json.loads(path.read_text())["format"] == 1  # repaired by the first write


def test_an_id_answered_without_reaching_the_meter_may_be_sent_again(tmp_path: Path) -> None:
    path = tmp_path / "command_ids.json"
    g = guard(store(path))
    raw = command("c-1", NOW + timedelta(seconds=30))
    accepted = g.check(topic=TOPIC, payload=raw, retained=False, now=NOW)
    g.release(accepted)  # e.g. still queued at shutdown: failed/shutdown, never sent
    assert json.loads(path.read_text())["ids"] == []
    assert check(guard(store(path)), raw) == "accepted"
