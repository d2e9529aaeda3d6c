"""Remote display configuration over DLMS with Gurux (issue 13).

Gurux reads the three display lists (display readout profiles 0.0.21.0.1-3, their
capture_objects) over the real optical port, and writes new ones: the model's LCD follows, a
list over its limit (16/30/8) or a manual list without the legal reading 1.8.0 is refused, and
the lists stay as they were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gurux_dlms.enums import ObjectType
from gurux_dlms.objects import (
    GXDLMSCaptureObject,
    GXDLMSData,
    GXDLMSProfileGeneric,
    GXDLMSRegister,
)

from meter_emulator.model.config import DEFAULT_AUTO, DEFAULT_MANUAL
from tests.e2e.test_dlms_peers import GuruxSession, emulated_meter, in_thread, optical_port

pytestmark = pytest.mark.slow


def columns(codes: list[str]) -> list[Any]:
    out = []
    for code in codes:
        c, d, e = code.split(".")
        name = f"1.1.{c}.{d}.{e}.255"
        obj = GXDLMSData(name) if int(c) in (0, 96, 97, 128, 129, 130) else GXDLMSRegister(name)
        out.append((obj, GXDLMSCaptureObject(2, 0)))
    return out


def codes_of(profile: Any) -> list[str]:
    return [".".join(obj.logicalName.split(".")[2:5]) for obj, _ in profile.captureObjects]


def gurux_configures(where: str, writes: list[tuple[str, list[str]]]) -> dict[str, Any]:
    session = GuruxSession(where, client=19, server=16, password="12345")
    session.open()
    objects = session.client.parseObjects(
        session.exchange(session.client.getObjectsRequest()).data, True
    )
    lists = {
        name: objects.findByLN(ObjectType.PROFILE_GENERIC, f"0.0.21.0.{index}.255")
        for index, name in ((1, "auto"), (2, "manual"), (3, "battery"))
    }
    before = {name: codes_of(session.read(p, 3)) for name, p in lists.items()}
    results = []
    for name, codes in writes:
        profile = GXDLMSProfileGeneric(lists[name].logicalName)
        profile.captureObjects = columns(codes)
        for frame in session.client.write(profile, 3):  # a long list goes in HDLC segments
            reply = session.exchange(frame)
        results.append(reply.error)
    after = {name: codes_of(session.read(p, 3)) for name, p in lists.items()}
    session.close()
    return {"before": before, "results": results, "after": after}


async def test_gurux_writes_the_display_lists_within_their_limits(tmp_path: Path) -> None:
    meter = emulated_meter()
    writes = [
        ("auto", ["1.8.0", "1.7.0"]),
        ("manual", ["2.8.0", "3.8.0"]),  # without the legal 1.8.0: refused
        ("battery", ["1.8.0"] * 9),  # over the limit of 8: refused
        ("manual", ["1.8.0", "2.8.0", "32.7.0"]),
        ("auto", ["1.8.0", "99.99.99"]),  # a reading the meter has not: refused
    ]
    async with optical_port(meter, "tcp", tmp_path) as where:
        done = await in_thread(where, lambda there: gurux_configures(there, writes))
    assert done["before"]["auto"] == list(DEFAULT_AUTO)
    assert done["before"]["manual"] == list(DEFAULT_MANUAL)
    assert done["results"] == [0, 250, 250, 0, 250]  # success / other-reason
    assert done["after"]["auto"] == ["1.8.0", "1.7.0"]
    assert done["after"]["manual"] == ["1.8.0", "2.8.0", "32.7.0"]
    assert meter.display.config.auto == ("1.8.0", "1.7.0")
    assert (
        list(meter.display.config.battery) == done["before"]["battery"] == done["after"]["battery"]
    )
    # The LCD shows the new automatic list.
    assert meter.display.current(meter.now_us, powered=True)[1] in ("1.8.0", "1.7.0")
