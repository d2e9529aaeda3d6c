"""Argument rules of each command (names and meaning in docs/mqtt.md).

Each validator returns the normalised arguments or raises :class:`ArgumentInvalid`, and nothing
else, whatever JSON it is given; nothing reaches the meter before this passed. Integer
arguments take JSON integers only (``1.0`` is not relay 1, ``true`` is not 1): a float that
happens to equal an integer is a client bug, and would name an object like ``relay_1.0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
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


def _integer(args: dict[str, Any], name: str, choices: tuple[int, ...]) -> int:
    value = args.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value not in choices:
        raise ArgumentInvalid(f'"{name}" must be the integer {_or(choices)}')
    return value


def _or(choices: tuple[int, ...]) -> str:
    names = [str(choice) for choice in choices]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _number(args: dict[str, Any], name: str, low: float, high: float) -> float:
    """A finite JSON number in [low, high]."""
    value = args.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArgumentInvalid(f'"{name}" must be a number')
    # Compared before any float(): a 400-digit integer has no float (OverflowError), and
    # int-to-float comparisons in Python are exact.
    if isinstance(value, float) and not math.isfinite(value):
        raise ArgumentInvalid(f'"{name}" must be a finite number')
    if not low <= value <= high:
        raise ArgumentInvalid(f'"{name}" must be between {low:g} and {high:g}')
    return float(value)


def _breaker(args: dict[str, Any]) -> dict[str, Any]:
    _only(args, "action")
    return {"action": _choice(args, "action", ("disconnect", "release", "reconnect"))}


def _relay(args: dict[str, Any]) -> dict[str, Any]:
    _only(args, "relay", "on")
    relay = _integer(args, "relay", (1, 2))
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
    return {"mode": "force", "tariff": _integer(args, "tariff", (1, 2, 3, 4))}


def _top_up(args: dict[str, Any]) -> dict[str, Any]:
    _only(args, "energy_kwh")
    # 100 000 kWh is decades of a household's use: larger is a typo, not a purchase.
    return {"energy_kwh": _number(args, "energy_kwh", 0.001, 100_000)}


#: AlarmLimit (1.1.130.0.7.255) is a u16 in whole kWh ([DLMS] §3): 7.5 would be
#: written as 8, so it is refused here, before anything reaches the meter.
ALARM_LIMIT_RESOLUTION_KWH: Final = 1.0


def _alarm_limit(args: dict[str, Any]) -> dict[str, Any]:
    _only(args, "energy_kwh")
    value = args.get("energy_kwh")
    if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
        raise ArgumentInvalid(
            f'"energy_kwh" {value:g} is not a whole number: the meter\'s alarm limit register '
            f"has a resolution of {ALARM_LIMIT_RESOLUTION_KWH:g} kWh"
        )
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
    try:
        moment.astimezone(UTC)  # year 1 at +01:00 has no UTC form: OverflowError on compare
    except OverflowError:
        raise ArgumentInvalid(f'"{name}" is out of range') from None
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
