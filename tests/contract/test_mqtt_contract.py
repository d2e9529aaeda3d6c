"""docs/mqtt.md and docs/schemas agree: every schema is valid draft 2020-12, every topic of the
contract has one, and every example in the document validates against its topic's schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

jsonschema = pytest.importorskip("jsonschema")

DOCS = Path(__file__).parents[2] / "docs"
SCHEMAS = DOCS / "schemas"
CONTRACT = (DOCS / "mqtt.md").read_text()
EXAMPLE = re.compile(r'```json \{"topic": "(?P<topic>[a-z_]+)"\}\n(?P<body>.*?)\n```', re.S)
TOPIC_ROW = re.compile(r"^\| `omnipower/<meter>/(?P<name>[a-z_/<>]+)` ", re.M)
JSON_TOPICS = {"cmd/<name>": "cmd", "cmd/result": "cmd_result"}


def schema(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return result


def examples() -> list[tuple[str, dict[str, Any]]]:
    return [(m["topic"], json.loads(m["body"])) for m in EXAMPLE.finditer(CONTRACT)]


def contract_topics() -> list[str]:
    return [JSON_TOPICS.get(m["name"], m["name"]) for m in TOPIC_ROW.finditer(CONTRACT)]


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.schema.json")), ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12(path: Path) -> None:
    document = json.loads(path.read_text())
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(document)


def test_every_topic_has_a_schema_and_an_example() -> None:
    topics = contract_topics()
    assert len(topics) == 16  # + demand (#15)
    shown = {topic for topic, _ in examples()}
    for topic in topics:
        assert (SCHEMAS / f"{topic}.schema.json").exists(), topic
        assert topic in shown, f"docs/mqtt.md has no example for {topic}"
    assert {p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.json")} == set(topics)


@pytest.mark.parametrize(
    ("topic", "payload"), examples(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_example_validates(topic: str, payload: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(
        schema(topic), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = list(validator.iter_errors(payload))
    assert not errors, errors[0].message


@pytest.mark.parametrize(
    ("name", "args", "valid"),
    [
        ("breaker", {"action": "disconnect"}, True),
        ("breaker", {"action": "open"}, False),
        ("relay", {"relay": 2, "on": True}, True),
        ("relay", {"relay": 3, "on": True}, False),
        ("tariff", {"mode": "auto"}, True),
        ("tariff", {"mode": "auto", "tariff": 2}, False),
        ("tariff", {"mode": "force", "tariff": 4}, True),
        ("prepayment_top_up", {"energy_kwh": 0}, False),
        ("prepayment_alarm_limit", {"energy_kwh": 0}, True),
        ("clock_sync", {}, True),
        ("refresh", {"now": True}, False),
        ("read_load_profile", {"from": "2026-11-26T00:00:00+01:00"}, True),
    ],
)
def test_command_arguments_match_the_gateway_rules(
    name: str, args: dict[str, Any], valid: bool
) -> None:
    """The schema's per-command arguments accept exactly what the gateway's validator does."""
    arguments = pytest.importorskip("ccc_gateway.commands.arguments")
    validator = jsonschema.Draft202012Validator(schema("cmd")["$defs"]["args"][name])
    assert validator.is_valid(args) is valid
    try:
        arguments.validate_arguments(name, args)
    except arguments.ArgumentInvalid:
        assert not valid
    else:
        assert valid


def test_cmd_result_reasons_cover_the_guard() -> None:
    """Every rejection reason the guard can give is a reason the contract names."""
    source = (Path(__file__).parents[2] / "ccc_gateway" / "commands" / "guard.py").read_text()
    source += (Path(__file__).parents[2] / "ccc_gateway" / "commands" / "envelope.py").read_text()
    raised = set(re.findall(r'(?:CommandRejected|EnvelopeError)\(\s*"([a-z_]+)"', source))
    raised |= {"retained"}
    reasons = set(schema("cmd_result")["properties"]["reason"]["enum"]) - {None}
    assert raised, "no reasons found in the guard"
    assert raised <= reasons
