"""``omnipower demo``: the whole product on one machine, with nothing else running.

An emulated meter (a household scenario, sped up) pushes encrypted DLMS frames into a pseudo-
terminal exactly as a real CCC port would; the gateway reads that pty, checks every frame and
publishes to an MQTT broker (its own on loopback, Mosquitto or amqtt, unless ``--broker`` names
one); the live view subscribes to the broker like any consumer and draws what arrives. The
demo's keys are random for each run and never printed: the gateway gets them the way a user's
file gives them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from ccc_gateway.config import COMMAND_NAMES, parse_config
from ccc_gateway.ports import Backoff
from ccc_gateway.service import Gateway

from .live_view import DemoState, follow, render, summary_line

__all__ = ["DemoOptions", "add_demo_arguments", "run_demo", "serve_demo"]

_LOGGER = logging.getLogger(__name__)

#: Refreshes of the live view per second (pushes arrive every 10 simulated seconds).
REFRESH_PER_SECOND: Final = 4
SERIAL: Final = 28046399
#: The LLS password of the emulated optical port (the documented default).
DEMO_PASSWORD: Final = "12345"
FAST_RETRY: Final = Backoff(initial=0.2, maximum=2.0)


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What ``omnipower demo`` was asked to do."""

    speed: float = 10.0
    scenario: str = "household"
    seed: int = 0
    broker: str | None = None
    seconds: float | None = None
    plain: bool = False
    meter_config: Path | None = None


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``omnipower demo``."""
    parser.add_argument(
        "--speed", type=float, default=10.0, help="simulated seconds per second (default 10)"
    )
    from meter_emulator.scenarios import SCENARIOS

    parser.add_argument(
        "--scenario",
        default="household",
        choices=sorted(SCENARIOS),
        help="what happens behind the meter (default household)",
    )
    parser.add_argument("--seed", type=int, default=0, help="scenario seed (same seed, same run)")
    parser.add_argument(
        "--broker", help="use this MQTT broker, mqtt://host:port, instead of the embedded one"
    )
    parser.add_argument("--seconds", type=float, help="stop after this many seconds")
    parser.add_argument(
        "--plain", action="store_true", help="one line per push instead of the live table"
    )
    parser.add_argument("--meter-config", type=Path, help="an emulator meter TOML to use")


def _broker_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ValueError("--broker takes mqtt://host:port")
    return parts.hostname, parts.port or 1883


@contextlib.asynccontextmanager
async def _broker(options: DemoOptions) -> AsyncIterator[tuple[str, int, str | None]]:
    """(host, port, what runs it: "mosquitto"/"amqtt", or None for the user's own broker)."""
    if options.broker is not None:
        host, port = _broker_address(options.broker)
        yield host, port, None
        return
    from .broker import EmbeddedBroker

    async with EmbeddedBroker() as broker:
        yield broker.host, broker.port, broker.kind


def _emulator_config(options: DemoOptions, key: bytes, auth: bytes) -> Any:
    """The emulated meter: DLMS push 1 (the Danish list: energy, power, per phase), encrypted."""
    from meter_emulator.model import load_config
    from meter_emulator.model import parse_config as parse_meter

    if options.meter_config is not None:
        return load_config(options.meter_config)
    return parse_meter(
        {
            "meter": {"serial": SERIAL},
            # Prepaid, so the view shows credit counting down (a cut-off at 0, like the meter).
            "prepayment": {"enabled": True, "credit_kwh": 150.0, "alarm_limit_kwh": 10.0},
            "push": {
                "list": "dlms_push_1",
                "absent": "omit",
                "energy_scaler": 0,
                "encryption_key": key.hex(),
                "authentication_key": auth.hex(),
            },
        }
    )


async def serve_demo(
    options: DemoOptions,
    *,
    state: DemoState | None = None,
    on_intro: Callable[[str], None] | None = None,
    on_push: Callable[[str], None] | None = None,
) -> DemoState:
    """Run everything until cancelled or ``options.seconds``; the state the view built.

    *on_intro* gets the few lines that say where things are; *on_push* a summary line after
    each power message.
    """
    from meter_emulator.cli import build_meter, push_config
    from meter_emulator.model.clock import from_us
    from meter_emulator.ports.ccc_push import CccPush
    from meter_emulator.ports.links import PtyLink
    from meter_emulator.ports.optical_head import optical_head
    from meter_emulator.runtime import EmulatorRuntime, SimClock

    key, auth = secrets.token_bytes(16), secrets.token_bytes(16)
    meter_config = _emulator_config(options, key, auth)
    state = state if state is not None else DemoState()
    with tempfile.TemporaryDirectory(prefix="omnipower-demo-") as directory:
        workdir = Path(directory)
        meter, _ = build_meter(
            meter_config,
            scenario=options.scenario,
            seed=options.seed,
            start=datetime.now(UTC).replace(microsecond=0),
            state=None,
        )
        ccc = CccPush(
            push_config(meter_config), next_invocation_counter=meter.next_invocation_counter
        )
        link = PtyLink(baudrate=2400, speed=options.speed, symlink=workdir / "ttyCCC")
        optical_link = PtyLink(baudrate=9600, speed=options.speed, symlink=workdir / "ttyOptical")
        runtime = EmulatorRuntime(
            meter, SimClock(from_us(meter.now_us), speed=options.speed), ccc, [link]
        )
        push = meter_config.push
        async with (
            _broker(options) as (host, port, embedded),
            link,
            optical_link,
            optical_head(
                meter,
                optical_link,
                password=DEMO_PASSWORD,
                ccc_available=lambda: not runtime.push_enabled,
            ),
        ):
            gateway = Gateway(
                parse_config(
                    {
                        "gateway": {
                            "id": "demo",
                            "state_dir": str(workdir / "state"),
                            "timezone": "Europe/Copenhagen",
                            "diagnostics_interval": 5,
                        },
                        # amqtt speaks MQTT 3.1.1 only: say so rather than probe 5 first.
                        "mqtt": {
                            "host": host,
                            "port": port,
                            **({"protocol": "3.1.1"} if embedded else {}),
                        },
                        "meters": [
                            {
                                "name": "demo",
                                "serial": str(meter_config.identity.serial),
                                **(
                                    {
                                        "encryption_key": push.encryption_key.hex(),
                                        "authentication_key": push.authentication_key.hex(),
                                    }
                                    if push.encryption_key and push.authentication_key
                                    else {}
                                ),
                                "ccc": {"port": str(workdir / "ttyCCC")},
                                "optical": {
                                    "port": str(workdir / "ttyOptical"),
                                    "password": DEMO_PASSWORD,
                                    "poll_interval": 10,
                                },
                                # An emulated meter: every command may be tried from MQTT.
                                "commands": list(COMMAND_NAMES),
                                "resolution": {"energy_scaler": meter_config.energy_scaler},
                            }
                        ],
                    }
                ),
                port_backoff=FAST_RETRY,
                mqtt_backoff=FAST_RETRY,
            )
            _introduce(host, port, embedded, options, link.description, on_intro or print)

            def updated(topic: str) -> None:
                if on_push is not None and topic.endswith("/power"):
                    on_push(summary_line(state))

            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(runtime.run(), name="emulator"),
                    group.create_task(gateway.run(), name="gateway"),
                    group.create_task(follow(host, port, state, updated), name="view"),
                ]
                try:
                    if options.seconds is not None:
                        await asyncio.sleep(options.seconds)
                    else:
                        await asyncio.Event().wait()
                finally:
                    for task in tasks:
                        task.cancel()
    return state


def _introduce(
    host: str,
    port: int,
    embedded: str | None,
    options: DemoOptions,
    ccc: str,
    say: Callable[[str], None],
) -> None:
    where = f"{host}:{port}"
    if embedded is not None:
        where += f" (the demo's own, {embedded}"
        where += ")" if port == 1883 else "; 1883 was taken)"
    say(
        f"omnipower demo: emulated meter {SERIAL} pushing on {ccc}, speed x{options.speed:g}, "
        f"scenario {options.scenario} (seed {options.seed})"
    )
    say(f"MQTT broker {where}; watch it:  mosquitto_sub -h {host} -p {port} -t 'omnipower/#' -v")
    say(
        f"Home Assistant: point its MQTT integration at {host}:{port}; the omnipower "
        "integration then discovers the meter. Ctrl-C stops."
    )


async def _live(options: DemoOptions) -> None:
    from rich.console import Console
    from rich.live import Live

    console = Console()
    state = DemoState()
    started = datetime.now()
    with Live(
        render(state, started=started), console=console, refresh_per_second=REFRESH_PER_SECOND
    ) as live:

        async def redraw() -> None:
            while True:
                live.update(render(state, started=started))
                await asyncio.sleep(1 / REFRESH_PER_SECOND)

        redraw_task = asyncio.create_task(redraw())
        try:
            await serve_demo(options, state=state, on_intro=console.print)
        finally:
            redraw_task.cancel()
            live.update(render(state, started=started))


def run_demo(args: argparse.Namespace) -> int:
    """Entry point: exit 0 on Ctrl-C or after ``--seconds``, 2 on a bad option."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    options = DemoOptions(
        speed=args.speed,
        scenario=args.scenario,
        seed=args.seed,
        broker=args.broker,
        seconds=args.seconds,
        plain=args.plain or not sys.stdout.isatty(),
        meter_config=args.meter_config,
    )
    if options.speed <= 0 or options.speed > 3600:
        print("omnipower demo: --speed must be in (0, 3600]", file=sys.stderr)
        return 2
    if options.broker is not None:
        try:
            _broker_address(options.broker)
        except ValueError as exc:
            print(f"omnipower demo: {exc}", file=sys.stderr)
            return 2

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            if options.plain:
                await serve_demo(
                    options,
                    on_intro=lambda text: print(text, flush=True),
                    on_push=lambda text: print(text, flush=True),
                )
            else:
                await _live(options)

    asyncio.run(main())
    return 0
