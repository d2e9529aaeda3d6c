"""Home Assistant tests: the real core through pytest-homeassistant-custom-component."""

from __future__ import annotations

from collections.abc import Generator
from unittest.mock import PropertyMock, patch

import pytest
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION, __version__
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


#: The release the .ambr files were recorded with: newer ones serialise registry entries
#: differently (scripts/ha-current runs the suite on the newest release).
SNAPSHOT_RELEASE = (2025, 4)


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Home Assistant's serializer: registry ids and times masked, states readable.

    The harness defines the same fixture, but syrupy's own plugin shadows it.
    """
    if (MAJOR_VERSION, MINOR_VERSION) != SNAPSHOT_RELEASE:
        pytest.skip(
            f"snapshots are recorded with Home Assistant {SNAPSHOT_RELEASE[0]}."
            f"{SNAPSHOT_RELEASE[1]}, whose serializer differs from {__version__}'s"
        )
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A hung Home Assistant test fails with a traceback instead of stalling the run."""
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(120))
