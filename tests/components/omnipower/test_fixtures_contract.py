"""The recorded meters the tests publish are payloads of the contract (docs/schemas)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import METERS, load_payloads

jsonschema = pytest.importorskip("jsonschema")
SCHEMAS = Path(__file__).parents[3] / "docs" / "schemas"


@pytest.mark.parametrize("meter", METERS)
def test_fixture_payloads_follow_the_contract(meter: str) -> None:
    """Every fixture validates, so the integration is tested against what gateways send."""
    for topic, payload in load_payloads(meter).items():
        schema = json.loads((SCHEMAS / f"{topic}.schema.json").read_text())
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(payload))
        assert not errors, f"{meter}/{topic}: {errors[0].message} at {list(errors[0].path)}"
