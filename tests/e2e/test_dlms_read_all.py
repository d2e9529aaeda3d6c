"""A generic DLMS client's "read all" against the emulated meter (issue 13).

Gurux (``gurux-dlms``) walks the object list the way a generic client does (Gurux's own sample
reader: the capture objects of every profile first, so that buffers can be parsed, then every
attribute of every object that its class version defines and the association's
attribute_access lets it read), over the real optical port on TCP. Every read must succeed:
an attribute the class version defines but the meter answers with an error (the Association LN
attribute 9 before this issue) is a fidelity defect a generic client reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gurux_dlms.enums import AccessMode as GxAccessMode
from gurux_dlms.enums import ObjectType

from tests.e2e.test_dlms_peers import GuruxSession, emulated_meter, in_thread, optical_port

pytestmark = pytest.mark.slow

#: Access modes that let a generic client read (Blue Book class 15 attribute_access_mode).
READABLE = {GxAccessMode.READ, GxAccessMode.READ_WRITE, GxAccessMode.AUTHENTICATED_READ}


def gurux_read_all(where: str, *, public: bool) -> dict[str, Any]:
    """Every readable attribute of every object: (read count, errors, per-class counts)."""
    session = (
        GuruxSession(where, client=16, server=1, password=None)
        if public
        else GuruxSession(where, client=19, server=16, password="12345")
    )
    session.open()
    objects = session.client.parseObjects(
        session.exchange(session.client.getObjectsRequest()).data, True
    )
    errors: list[tuple[str, str, int, object]] = []
    reads = 0
    for profile in objects.getObjects(ObjectType.PROFILE_GENERIC):
        session.read(profile, 3)
    for obj in objects:
        for index in obj.getAttributeIndexToRead(True):
            if obj.getAccess(index) not in READABLE:
                continue
            reads += 1
            try:
                reply = session.exchange(session.client.read(obj, index)[0])
                if reply.error:
                    errors.append((str(obj.objectType), obj.logicalName, index, reply.error))
                    continue
                session.client.updateValue(obj, index, reply.value)
            except Exception as error:  # a generic client reports, then goes on
                errors.append((str(obj.objectType), obj.logicalName, index, repr(error)))
    association = objects.findByLN(ObjectType.ASSOCIATION_LOGICAL_NAME, "0.0.40.0.0.255")
    out = {
        "objects": len(objects),
        "reads": reads,
        "errors": errors,
        "association_version": association.version,
        "association_attributes": association.getAttributeIndexToRead(True),
    }
    session.close()
    return out


@pytest.mark.parametrize("public", [True, False], ids=["public", "lls"])
async def test_gurux_reads_every_attribute_of_every_object(public: bool, tmp_path: Path) -> None:
    meter = emulated_meter()
    async with optical_port(meter, "tcp", tmp_path) as where:
        read = await in_thread(where, lambda there: gurux_read_all(there, public=public))
    assert read["errors"] == []
    assert read["objects"] > 50
    # Every object's logical name and more: the walk really read the attributes.
    assert read["reads"] > 3 * read["objects"]
    # Version 0: attributes 1-8 only; no security_setup_reference to fail on.
    assert read["association_version"] == 0
    assert read["association_attributes"] == list(range(1, 9))
