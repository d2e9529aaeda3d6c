"""Home Assistant tests: the real core through pytest-homeassistant-custom-component."""

from __future__ import annotations

from collections.abc import Generator
from unittest.mock import PropertyMock, patch

import pytest
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

# Imported before the harness resolves integrations: otherwise its own testing config's
# ``custom_components`` package shadows ours ("Integration not found").
import custom_components.omnipower  # noqa: F401


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/omnipower."""


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create entities disabled by default enabled (the harness lacks this fixture)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Home Assistant's serializer: registry ids and times masked, states readable.

    The harness defines the same fixture, but syrupy's own plugin shadows it.
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)
