"""``omnipower demo``: emulator → gateway → embedded broker, with a live view of the readings."""

from __future__ import annotations

from typing import Final

from .run import add_demo_arguments, run_demo

__all__ = ["COMMAND"]

COMMAND: Final = (
    "demo",
    (
        "run the whole chain on this machine: emulated meter, gateway, MQTT broker, live view",
        add_demo_arguments,
        run_demo,
    ),
)
