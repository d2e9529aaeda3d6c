"""``omnipower emulator``: run an emulated meter with its CCC push, a scenario and a control socket.

    omnipower emulator --config meter.toml [--ccc pty|pty:PATH|tcp:PORT] [--speed N]
                       [--scenario NAME] [--seed N] [--start ISO] [--state PATH]
                       [--control PATH] [--no-display]

It prints where its ports are, then the meter's display whenever it changes. The state file
keeps registers, logs and the invocation counter across restarts; simulated time resumes where
the last run stopped unless ``--start`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from ccc_gateway.protocol.cipher import Keys

from .control import ControlServer
from .model.clock import from_us, to_us
from .model.config import ConfigError, MeterConfig, load_config, parse_config
from .model.meter import Meter
from .model.state import StateMismatch
from .persistence import MeterStore
from .ports.ccc_frames import PushSecurity
from .ports.ccc_push import CccPush, CccPushConfig
from .ports.links import ByteLink, PtyLink, TcpLink
from .ports.optical_head import optical_head
from .ports.p1_telegram import P1Resolution
from .ports.push_lists import AbsentObjects, PushList
from .runtime import EmulatorRuntime, SimClock
from .scenarios import SCENARIOS, UnknownScenario, make_scenario
from .session import control_handlers

__all__ = ["COMMAND", "add_arguments", "run"]

SAVE_EVERY_S: Final = 30.0
#: The CCC's line speed: 2400 8N1 for the DLMS lists; HAN P1 meters send at 115200 8N1
#: ([HAN]).
CCC_BAUD: Final = 2400
P1_BAUD: Final = 115_200
DISPLAY_EVERY_S: Final = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The emulator's options."""
    parser.add_argument("--config", type=Path, help="meter TOML file (default: built-in meter)")
    parser.add_argument(
        "--ccc",
        default="pty",
        help="where the CCC pushes: pty (symlink ./omnipower-ccc), pty:PATH or tcp:PORT "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--optical",
        default="pty",
        help="the optical head (IEC 62056-21 and DLMS): pty (symlink ./omnipower-optical), "
        "pty:PATH, tcp:PORT or none (default: %(default)s)",
    )
    parser.add_argument(
        "--password",
        default="12345",
        help="LLS / 1107 password of the optical port (default: %(default)s)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated seconds per second (default: %(default)s)",
    )
    parser.add_argument(
        "--scenario",
        default="household",
        choices=sorted(SCENARIOS),
        help="what happens behind the meter (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="scenario seed, same seed same run (default: %(default)s)",
    )
    parser.add_argument("--start", help="simulated start, ISO 8601 with offset (default: now)")
    parser.add_argument("--state", type=Path, help="state file (registers, logs, IC)")
    parser.add_argument("--control", type=Path, help="control socket path (JSON lines)")
    parser.add_argument("--no-display", action="store_true", help="do not print the display")


def _fail(message: str) -> int:
    print(f"omnipower emulator: {message}", file=sys.stderr)
    return 2


def push_config(config: MeterConfig) -> CccPushConfig:
    """The CCC push port's settings from the meter configuration."""
    push = config.push
    security = None
    if push.encryption_key is not None:
        keys = Keys(push.encryption_key, push.authentication_key)
        security = PushSecurity(keys, config.identity.system_title)
    if push.push_list == "han_p1":
        current = -3 if config.identity.type_number.ct_connected else -2
        resolution = P1Resolution(config.energy_scaler, push.voltage_scaler, current)
        return CccPushConfig(hourly=False, han_p1=resolution)
    return CccPushConfig(
        push_list=PushList(push.push_list),
        absent=AbsentObjects(push.absent),
        hourly=push.hourly,
        hourly_offset_s=push.hourly_offset_s,
        security=security,
    )


def _parse_start(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("--start needs a UTC offset, e.g. 2024-03-31T00:00:00+00:00")
    return moment.astimezone(UTC)


def _link(spec: str, speed: float, baudrate: int = CCC_BAUD) -> ByteLink:
    if spec.startswith("tcp:"):
        port = int(spec.removeprefix("tcp:"))
        if not 0 <= port <= 65535:
            raise ValueError("tcp:PORT needs a port 0-65535 (0 picks a free one)")
        return TcpLink(port=port, baudrate=baudrate, speed=speed)
    if spec == "pty" or spec.startswith("pty:"):
        path = Path(spec.removeprefix("pty:") if spec != "pty" else "omnipower-ccc")
        return PtyLink(baudrate=baudrate, speed=speed, symlink=path.absolute())
    raise ValueError("--ccc takes pty, pty:PATH or tcp:PORT")


def _optical_link(spec: str, speed: float) -> PtyLink | TcpLink | None:
    """The optical head's link: 9600 baud for DLMS (1107 starts at 300 and switches)."""
    if spec == "none":
        return None
    if spec.startswith("tcp:"):
        port = int(spec.removeprefix("tcp:"))
        if not 0 <= port <= 65535:
            raise ValueError("--optical tcp:PORT needs a port 0-65535 (0 picks a free one)")
        return TcpLink(port=port, baudrate=9600, speed=speed)
    if spec == "pty" or spec.startswith("pty:"):
        path = Path(spec.removeprefix("pty:") if spec != "pty" else "omnipower-optical")
        return PtyLink(baudrate=9600, speed=speed, symlink=path.absolute())
    raise ValueError("--optical takes pty, pty:PATH, tcp:PORT or none")


def run(args: argparse.Namespace) -> int:
    """Entry point of the subcommand."""
    try:
        config = load_config(args.config) if args.config is not None else parse_config({})
        start = _parse_start(args.start)
        baudrate = P1_BAUD if config.push.push_list == "han_p1" else CCC_BAUD
        link = _link(args.ccc, args.speed, baudrate)
        optical = _optical_link(args.optical, args.speed)
        if args.speed <= 0:
            raise ValueError("--speed must be positive")
    except (ConfigError, ValueError) as exc:
        return _fail(str(exc))
    try:
        return asyncio.run(_serve(args, config, start, link, optical))
    except (StateMismatch, UnknownScenario) as exc:
        return _fail(str(exc))


def build_meter(
    config: MeterConfig,
    *,
    scenario: str,
    seed: int,
    start: datetime | None,
    state: Path | None,
) -> tuple[Meter, MeterStore | None]:
    """The meter, its scenario and (with a state file) its restored permanent memory."""
    begin = start or datetime.now(UTC).replace(microsecond=0)
    meter = Meter(config, start=begin)
    store = None
    if state is not None:
        store = MeterStore(state, meter)
        if store.load() and start is not None:
            meter.now_us = to_us(start)
    # the scenario starts where the meter is (a restored meter resumes its simulated time)
    meter.source = make_scenario(scenario, seed=seed, phases=config.phases, start_us=meter.now_us)
    meter.resume()
    return meter, store


async def _serve(
    args: argparse.Namespace,
    config: MeterConfig,
    start: datetime | None,
    link: ByteLink,
    optical: PtyLink | TcpLink | None = None,
) -> int:
    meter, store = build_meter(
        config, scenario=args.scenario, seed=args.seed, start=start, state=args.state
    )
    next_ic = store.next_invocation_counter if store is not None else meter.next_invocation_counter
    ccc = CccPush(push_config(config), next_invocation_counter=next_ic)
    clock = SimClock(from_us(meter.now_us), speed=args.speed)
    runtime = EmulatorRuntime(meter, clock, ccc, [link])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(link)  # type: ignore[arg-type]
        print(f"meter {config.identity.serial} ({config.identity.type_number.code})")
        baudrate = P1_BAUD if ccc.config.han_p1 is not None else CCC_BAUD
        print(f"CCC push: {link.description} ({ccc.config.name}, {baudrate} 8N1)")
        if optical is not None:
            await stack.enter_async_context(optical)
            head = optical_head(
                meter,
                optical,
                password=args.password,
                ccc_available=lambda: not runtime.push_enabled,
                invocation_counter=next_ic,
            )
            await stack.enter_async_context(head)
            print(f"optical head: {optical.description} (IEC 62056-21 or DLMS/HDLC, 9600)")
        print(f"scenario: {args.scenario} (seed {args.seed}), speed x{args.speed:g}")
        if args.control is not None:
            handlers = control_handlers(meter, runtime, ccc, link)
            server = ControlServer(args.control, handlers)
            await stack.enter_async_context(server)
            print(f"control: {args.control}")
        sys.stdout.flush()
        tasks = [asyncio.create_task(runtime.run())]
        if store is not None:
            tasks.append(asyncio.create_task(_save_loop(store)))
        if not args.no_display:
            tasks.append(asyncio.create_task(_display_loop(meter)))
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if store is not None:
                store.save()
    return 0


async def _save_loop(store: MeterStore) -> None:
    while True:
        await asyncio.sleep(SAVE_EVERY_S)
        store.save()


async def _display_loop(meter: Meter) -> None:
    shown = ""
    while True:
        await asyncio.sleep(DISPLAY_EVERY_S)
        text = meter.display_text() if meter.is_powered() else "(no supply)"
        if text != shown:
            stamp = meter.local().replace(microsecond=0).isoformat(sep=" ")
            print(f"[{stamp}] " + text.replace("\n", " | "), flush=True)
            shown = text


COMMAND: Final = (
    "emulator",
    (
        "run an emulated OMNIPOWER meter: CCC push and optical head (1107 and DLMS)",
        add_arguments,
        run,
    ),
)
