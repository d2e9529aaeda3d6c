"""The ``omnipower`` command: one entry point for the gateway's tools.

Subcommands register themselves in :data:`COMMANDS` (name → (help, add_arguments, run)) so each
lives in its own module and this file stays a dispatcher.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from . import __version__
from .decode_cli import add_decode_arguments, run_decode

__all__ = ["main"]

type AddArguments = Callable[[argparse.ArgumentParser], None]
type Run = Callable[[argparse.Namespace], int]

COMMANDS: dict[str, tuple[str, AddArguments, Run]] = {
    "decode": (
        "decode a frame or a capture and explain every check (paste this into bug reports)",
        add_decode_arguments,
        run_decode,
    ),
}


def _optional_commands() -> None:
    """Commands whose modules may be absent in a partial install register here."""
    for module_name in ("ccc_gateway.service_cli", "meter_emulator.cli", "ccc_gateway.demo"):
        try:
            module = __import__(module_name, fromlist=["COMMAND"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        command = getattr(module, "COMMAND", None)
        if command is not None:  # a package still being built registers nothing yet
            name, entry = command
            COMMANDS[name] = entry


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    _optional_commands()
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
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Run = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
