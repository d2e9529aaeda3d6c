"""Every payload the gateway publishes validates against the contract's JSON Schema.

The schemas live in docs/schemas/<topic>.schema.json (docs/mqtt.md is the contract). Payloads
come from every push vector through the real service code, plus diagnostics after failures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ccc_gateway.config import parse_config
from ccc_gateway.meter import PortState
from ccc_gateway.service import Gateway
from tests.vectors import PLAIN_HDLC_PUSHES, RADIUS, frame, key

SCHEMAS = Path(__file__).parents[2] / "docs" / "schemas"

jsonschema = pytest.importorskip("jsonschema")


def schema_for(topic_name: str) -> dict[str, Any]:
    path = SCHEMAS / f"{topic_name}.schema.json"
    if not path.exists():
        pytest.skip(f"the contract has no schema for {topic_name} yet ({path.name})")
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def payloads(tmp_path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(topic name, payload) of everything published for every vector, good and bad."""
    ek, ak = key(RADIUS, "encryption_key"), key(RADIUS, "authentication_key")
    assert ek is not None
    assert ak is not None
    cases: list[tuple[dict[str, Any], bytes, bool]] = [
        ({"serial": "12345678"}, frame(name), False) for name in PLAIN_HDLC_PUSHES
    ]
    cases.append(
        ({"encryption_key": ek.hex(), "authentication_key": ak.hex()}, frame(RADIUS), False)
    )
    cases.append(
        ({"encryption_key": ak.hex(), "authentication_key": ek.hex()}, frame(RADIUS), True)
    )
    cases.append(({"serial": "7350000000", "p1": True}, frame("se_3ph_han_p1_telegram"), True))
    out = []
    for index, (meter, data, lose_port) in enumerate(cases):
        config = parse_config(
            {
                "gateway": {"state_dir": str(tmp_path / str(index)), "timezone": "Europe/Oslo"},
                "meters": [{"ccc": {"port": "/dev/null"}, **meter}],
            }
        )
        gateway = Gateway(config)
        channel = gateway.channels[0]
        channel.port_data(data)
        channel.port_data(data[:40])
        channel.port_silence()
        if lose_port:
            channel.port_state(PortState.UNAVAILABLE, "USB adapter unplugged")
        channel.publish_diagnostics()
        while (message := gateway.publisher.outbox.pop()) is not None:
            parts = message.topic.split("/")
            if parts[0] == "omnipower" and parts[1] != "bridge":
                out.append((parts[2], json.loads(message.payload)))
    return out


@pytest.mark.parametrize("topic_name", ["info", "power", "energy", "diagnostics"])
def test_every_payload_matches_its_schema(tmp_path: Path, topic_name: str) -> None:
    schema = schema_for(topic_name)
    validator = jsonschema.Draft202012Validator(schema)
    found = [p for name, p in payloads(tmp_path) if name == topic_name]
    assert found, f"no {topic_name} payload was produced"
    for payload in found:
        errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.path))
        assert not errors, f"{topic_name}: {errors[0].message} at {list(errors[0].path)}"
