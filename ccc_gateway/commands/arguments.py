"""Argument rules of each command (names and meaning in docs/mqtt.md).

Each validator returns the normalised arguments or raises :class:`ArgumentInvalid`; nothing
reaches the meter before this passed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

__all__ = ["COMMANDS", "ArgumentInvalid", "validate_arguments"]


class ArgumentInvalid(ValueError):
    """An argument is missing, unknown, of the wrong type or out of range."""


def _only(args: dict[str, Any], *allowed: str) -> None:
    unknown = set(args) - set(allowed)
    if unknown:
        raise ArgumentInvalid(f"unknown arguments: {', '.join(sorted(unknown))}")


def _choice(args: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = args.get(name)
    if value not in choices:
        raise ArgumentInvalid(f'"{name}" must be one of {", ".join(choices)}')
    return str(value)


def _number(args: dict[str, Any], name: str, low: float, high: float) -> float:
    value = args.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ArgumentInvalid(f'"{name}" must be a number')
    if not low <= value <= high:
        raise ArgumentInvalid(f'"{name}" must be between {low:g} and {high:g}')
    return float(value)


def _breaker(args: dict[str, Any]) -> dict[str, Any]:
    _only(args, "action")
    return {"action": _choice(args, "action", ("disconnect", "release", "reconnect"))}


def _relay(args: dict[str, Any]) -> dict[str, Any]:
    _only(args, "relay", "on")
    relay = args.get("relay")
    if relay not in (1, 2) or isinstance(relay, bool):
        raise ArgumentInvalid('"relay" must be 1 or 2')
    if not isinstance(args.get("on"), bool):
        raise ArgumentInvalid('"on" must be true or false')
    return {"relay": relay, "on": args["on"]}


def _tariff(args: dict[str, Any]) -> dict[str, Any]:
    _only(args, "mode", "tariff")
    mode = _choice(args, "mode", ("force", "auto"))
    if mode == "auto":
        if "tariff" in args:
            raise ArgumentInvalid('"tariff" is only given with mode "force"')
        return {"mode": "auto"}
    tariff = args.get("tariff")
    if tariff not in (1, 2, 3, 4) or isinstance(tariff, bool):
        raise ArgumentInvalid('"tariff" must be 1, 2, 3 or 4')
    return {"mode": "force", "tariff": tariff}


def _top_up(args: dict[str, Any]) -> dict[str, Any]:
    _only(args, "energy_kwh")
    # 100 000 kWh is decades of a household's use: larger is a typo, not a purchase.
    return {"energy_kwh": _number(args, "energy_kwh", 0.001, 100_000)}


def _alarm_limit(args: dict[str, Any]) -> dict[str, Any]:
    _only(args, "energy_kwh")
    return {"energy_kwh": _number(args, "energy_kwh", 0, 65_535)}


def _no_arguments(args: dict[str, Any]) -> dict[str, Any]:
    _only(args)
    return {}


def _time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise ArgumentInvalid(f'"{name}" must be an ISO 8601 time')
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ArgumentInvalid(f'"{name}" is not ISO 8601') from None
    if moment.tzinfo is None:
        raise ArgumentInvalid(f'"{name}" needs a UTC offset')
    return moment


def _load_profile(args: dict[str, Any]) -> dict[str, Any]:
    _only(args, "from", "to")
    start = _time(args.get("from"), "from")
    end = _time(args.get("to"), "to") if "to" in args else None
    if end is not None and end <= start:
        raise ArgumentInvalid('"to" must be after "from"')
    return {"from": start.isoformat(), **({"to": end.isoformat()} if end else {})}


COMMANDS: Final[dict[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "breaker": _breaker,
    "relay": _relay,
    "tariff": _tariff,
    "prepayment_top_up": _top_up,
    "prepayment_alarm_limit": _alarm_limit,
    "clock_sync": _no_arguments,
    "read_load_profile": _load_profile,
    "refresh": _no_arguments,
}


def validate_arguments(command: str, args: dict[str, Any]) -> dict[str, Any]:
    """The normalised arguments of *command*."""
    validator = COMMANDS.get(command)
    if validator is None:
        raise ArgumentInvalid(f"unknown command {command!r}")
    return validator(args)
