"""Shared by every test: close the spare event loop pytest-asyncio leaves behind.

pytest-asyncio 0.26 (pinned by the Home Assistant test harness) installs a fresh, never-closed
event loop in the policy when it tears down each async test's loop. The next async test
replaces it, and when the garbage collector later finds it, its self-pipe sockets raise
``ResourceWarning: unclosed socket`` inside whichever test happens to be running, which ``-W
error`` turns into a failure of an innocent test. Closing that spare loop here keeps every
warning attributable to the test that caused it. The Home Assistant suite manages its loops
through its own plugin and is left alone.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _close_spare_event_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if request.config.pluginmanager.hasplugin("homeassistant"):
        return
    policy = asyncio.get_event_loop_policy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = policy.get_event_loop()
        except RuntimeError:
            return
    if not loop.is_running() and not loop.is_closed():
        loop.close()
