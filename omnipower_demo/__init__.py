"""``omnipower demo``: emulator → gateway → embedded broker, with a live view of the readings.

The demo wires both packages together, so it sits above them: the gateway (``ccc_gateway``)
never imports the emulator, and ``omnipower demo`` reaches this package only when it runs.
"""

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
