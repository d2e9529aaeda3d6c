"""``[[demand_rules]]``: capacity tariffs a user writes in ``gateway.toml`` beside the shipped ones.

A rule here has exactly the fields of :class:`~ccc_gateway.demand.rules.TariffRule`, so a
tariff the project does not ship is a table, not a patch::

    [[demand_rules]]
    name = "my-grid"
    interval_minutes = 60
    peaks = 3
    distinct_days = true
    steps = [[0, 250], [2, 350], [5, 450], [10, 600]]   # [lower_kw, price a month]
    windows = [{ weekdays = [0, 1, 2, 3, 4], start = "07:00", end = "21:00" }]

A meter picks one with ``demand = "my-grid"`` (or a shipped name) in its ``[[meters]]`` table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from typing import Any, Final

from ..demand.rules import SHIPPED_RULES, KwPrice, Step, TariffRule, Window
from .models import ConfigError
from .table import Table

__all__ = ["demand_rule_choice", "demand_rules_section"]

_RULE_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_CLOCK: Final = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def demand_rules_section(raw: Any) -> dict[str, TariffRule]:
    """The shipped rules plus every ``[[demand_rules]]`` table (which may replace one)."""
    rules = dict(SHIPPED_RULES)
    if raw is None:
        return rules
    if not isinstance(raw, list):
        raise ConfigError("demand_rules", "a list of [[demand_rules]] tables")
    for index, item in enumerate(raw):
        rule = _rule(Table(item, f"demand_rules[{index}]"))
        rules[rule.name] = rule
    return rules


def demand_rule_choice(table: Table, rules: Mapping[str, TariffRule]) -> TariffRule | None:
    """A meter's ``demand = "<rule>"``: which tariff its demand is computed for (none: off)."""
    expected = f"the name of a demand rule: {', '.join(sorted(rules))}"
    name = table.get("demand", str, expected, None)
    if name is None:
        return None
    if name not in rules:
        raise ConfigError(table.name("demand"), expected)
    return rules[name]


def _rule(table: Table) -> TariffRule:
    name = table.get("name", str, "a rule name of a-z, 0-9, - and _", None)
    if name is None or not _RULE_NAME.match(name):
        raise ConfigError(table.name("name"), "a rule name of a-z, 0-9, - and _ (1-64)")
    interval = table.get("interval_minutes", int, "15, 30 or 60", 60)
    if interval not in (15, 30, 60):
        raise ConfigError(table.name("interval_minutes"), "15, 30 or 60")
    peaks = table.get("peaks", int, "how many peaks count, 1-31", 1)
    if not 1 <= peaks <= 31:
        raise ConfigError(table.name("peaks"), "how many peaks count, 1-31")
    minimum = table.get("minimum_kw", (int, float), "kW, 0 or more", 0.0)
    if minimum < 0:
        raise ConfigError(table.name("minimum_kw"), "kW, 0 or more")
    rolling = table.get("rolling_months", int, "months, 0-24", 0)
    if not 0 <= rolling <= 24:
        raise ConfigError(table.name("rolling_months"), "months, 0-24")
    outside = table.get("outside_weight", (int, float), "a weight, 0-10", 0.0)
    if not 0 <= outside <= 10:
        raise ConfigError(table.name("outside_weight"), "a weight, 0-10")
    steps = _steps(table)
    rule_kwargs: dict[str, Any] = {
        "name": name,
        "title": table.get("title", str, "a string", name),
        "source": table.get("source", str, "a string", "gateway.toml"),
        "interval_minutes": interval,
        "peaks": peaks,
        "distinct_days": table.get("distinct_days", bool, "true or false", False),
        "windows": _windows(table),
        "outside_weight": float(outside),
        "minimum_kw": float(minimum),
        "steps": steps,
        "kw_prices": _kw_prices(table),
        "currency": table.get("currency", str, 'a currency such as "NOK"', ""),
        "rolling_months": rolling,
    }
    table.finish()
    return TariffRule(**rule_kwargs)


def _steps(table: Table) -> tuple[Step, ...]:
    expected = "a list of [lower_kw, price] pairs rising from [0, …]"
    raw = table.get("steps", list, expected, [])
    steps = []
    for pair in raw:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)
        ):
            raise ConfigError(table.name("steps"), expected)
        steps.append(Step(float(pair[0]), float(pair[1])))
    lowers = [s.lower_kw for s in steps]
    if steps and (lowers[0] != 0 or lowers != sorted(set(lowers))):
        raise ConfigError(table.name("steps"), expected)
    return tuple(steps)


def _months(table: Table, item: str) -> frozenset[int]:
    values = table.get(item, list, "a list of months 1-12", [])
    if not all(isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12 for m in values):
        raise ConfigError(table.name(item), "a list of months 1-12")
    return frozenset(values)


def _kw_prices(table: Table) -> tuple[KwPrice, ...]:
    raw = table.get("kw_prices", list, "a list of { price, months } tables", [])
    prices = []
    for index, item in enumerate(raw):
        entry = Table(item, table.name(f"kw_prices[{index}]"))
        price = entry.get("price", (int, float), "a price per kW and month", None)
        if price is None or price < 0:
            raise ConfigError(entry.name("price"), "a price per kW and month")
        prices.append(KwPrice(float(price), _months(entry, "months")))
        entry.finish()
    return tuple(prices)


def _clock(table: Table, item: str) -> time:
    value = table.get(item, str, 'a local time "HH:MM"', "00:00")
    match = _CLOCK.match(value)
    if match is None:
        raise ConfigError(table.name(item), 'a local time "HH:MM"')
    return time(int(match[1]), int(match[2]))


def _windows(table: Table) -> tuple[Window, ...]:
    raw = table.get("windows", list, "a list of window tables", [])
    windows = []
    for index, item in enumerate(raw):
        entry = Table(item, table.name(f"windows[{index}]"))
        days = entry.get("weekdays", list, "a list of weekdays 0 (Monday) - 6 (Sunday)", [])
        if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in days):
            raise ConfigError(entry.name("weekdays"), "a list of weekdays 0 (Monday) - 6 (Sunday)")
        weight = entry.get("weight", (int, float), "a weight, 0-10", 1.0)
        if not 0 <= weight <= 10:
            raise ConfigError(entry.name("weight"), "a weight, 0-10")
        windows.append(
            Window(
                months=_months(entry, "months"),
                weekdays=frozenset(days),
                start=_clock(entry, "start"),
                end=_clock(entry, "end"),
                weight=float(weight),
            )
        )
        entry.finish()
    return tuple(windows)
