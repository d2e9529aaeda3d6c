"""``omnipower gateway --config gateway.toml``: the production service (systemd runs this)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from .config import ConfigError, load_config
from .config.loader import state_dir_problem
from .service import Gateway

__all__ = ["COMMAND", "add_gateway_arguments", "run_gateway"]

_LOGGER = logging.getLogger(__name__)


def add_gateway_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``omnipower gateway``."""
    parser.add_argument(
        "--config", type=Path, default=Path("gateway.toml"), help="the gateway.toml to use"
    )
    parser.add_argument(
        "--check", action="store_true", help="validate the configuration and exit (0 when valid)"
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="how much to log (DEBUG shows every rejected frame)",
    )


async def _serve(gateway: Gateway) -> None:
    """Run until SIGTERM/SIGINT, then stop cleanly: :meth:`Gateway.aclose` answers every pending
    command before the publisher says ``offline`` and disconnects. A second signal during that
    stop cancels it (still ``offline``, but queued answers may be lost)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    run = asyncio.create_task(gateway.run(), name="gateway")

    def again() -> None:
        _LOGGER.warning("second stop signal: stopping at once")
        run.cancel()

    def first() -> None:
        stop.set()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, again)

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, first)
    waiter = asyncio.create_task(stop.wait(), name="stop-signal")
    try:
        await asyncio.wait({run, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set() and not run.done():
            _LOGGER.info("stopping: answering pending commands, then offline")
            await gateway.aclose()
        with contextlib.suppress(asyncio.CancelledError):
            await run
        _LOGGER.info("stopped")
    finally:
        waiter.cancel()


def run_gateway(args: argparse.Namespace) -> int:
    """Validate the configuration, then serve until stopped. Exit 2 on a configuration error."""
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        _LOGGER.error("configuration error in %s: %s", args.config, exc)
        return 2
    if args.check:
        problem = state_dir_problem(config.state_dir)
        if problem is not None:
            fatal, text = problem
            if fatal:
                _LOGGER.error("configuration error in %s: %s", args.config, text)
                return 2
            _LOGGER.warning("%s", text)
        _LOGGER.info(
            "%s is valid: %d meter(s), broker %s:%d",
            args.config,
            len(config.meters),
            config.mqtt.host,
            config.mqtt.port,
        )
        return 0
    asyncio.run(_serve(Gateway(config)))
    return 0


COMMAND = (
    "gateway",
    (
        "run the gateway service: meter ports in, MQTT out",
        add_gateway_arguments,
        run_gateway,
    ),
)
