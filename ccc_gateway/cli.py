"""The ``omnipower`` command: one entry point for the gateway's tools.

Subcommands register themselves in :data:`COMMANDS` (name → (help, add_arguments, run)) so each
lives in its own module and this file stays a dispatcher. The gateway, the emulator and the demo
pull in asyncio, MQTT and the whole meter model; :func:`main` imports only the module of the
subcommand being run, so ``omnipower decode`` starts as fast as the decoder does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TypeAlias

from . import __version__
from .decode_cli import add_decode_arguments, run_decode

__all__ = ["main"]

AddArguments: TypeAlias = Callable[[argparse.ArgumentParser], None]
Run: TypeAlias = Callable[[argparse.Namespace], int]

COMMANDS: dict[str, tuple[str, AddArguments, Run]] = {
    "decode": (
        "decode a frame or a capture and explain every check (paste this into bug reports)",
        add_decode_arguments,
        run_decode,
    ),
}


#: Subcommands in other modules, imported only when needed (name → module).
OPTIONAL: dict[str, str] = {
    "gateway": "ccc_gateway.service_cli",
    "emulator": "meter_emulator.cli",
    "demo": "omnipower_demo",
    "demand": "ccc_gateway.demand_cli",
}


def _optional_commands(only: str | None = None) -> None:
    """Register the optional subcommands (just *only*, when given); a module absent from a
    partial install registers nothing."""
    for name, module_name in OPTIONAL.items():
        if only is not None and name != only:
            continue
        try:
            module = __import__(module_name, fromlist=["COMMAND"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        command = getattr(module, "COMMAND", None)
        if command is not None:  # a package still being built registers nothing yet
            registered, entry = command
            COMMANDS[registered] = entry


def _chosen(argv: Sequence[str]) -> str | None:
    """Which optional subcommand *argv* runs: its name, "" for a built-in one, None when it
    names none or an unknown one (then all are loaded, for the help or the error message)."""
    for arg in argv:
        if not arg.startswith("-"):
            if arg in OPTIONAL:
                return arg
            return "" if arg in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser: every subcommand, or (given *argv*) just the one it runs.

    Without a subcommand in *argv* (``omnipower --help``) every module is loaded, so the help
    lists them all.
    """
    chosen = None if argv is None else _chosen(argv)
    if chosen != "":
        _optional_commands(chosen)
    parser = argparse.ArgumentParser(
        prog="omnipower",
        description="Kamstrup OMNIPOWER meter gateway, emulator and tools.",
    )
    parser.add_argument("--version", action="version", version=f"omnipower {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, add_arguments, run) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        add_arguments(command)
        command.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit code is the subcommand's."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    run: Run = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
