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
    """Run until SIGTERM/SIGINT, then cancel cleanly (the publisher announces ``offline``)."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await gateway.run()


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
