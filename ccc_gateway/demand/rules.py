"""Grid tariffs that charge for peak demand, written as data.

A :class:`TariffRule` says how a grid operator turns a month of metered intervals into the value
it bills: how long an interval is, which intervals count (and how much: some operators count the
night at half), how many of the highest count and whether they must fall on different days, the
minimum billed value, and what a kW costs — as steps (Norway) or a price per kW (Belgium,
Sweden). One calculator serves every rule; a new tariff is a new table in ``gateway.toml``, not a
new code path.

The shipped rules name their source. Prices change every year and differ between operators:
they are examples to copy and correct, and the calculator's figures in kW do not depend on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Final

__all__ = [
    "SHIPPED_RULES",
    "KwPrice",
    "Step",
    "TariffRule",
    "Window",
]


@dataclass(frozen=True, slots=True)
class Window:
    """Intervals that start inside this window count with *weight* (1 = fully, 0.5 = half).

    Empty ``months``/``weekdays`` mean all of them. ``start``/``end`` are local wall-clock times;
    ``end`` ≤ ``start`` means the window runs past midnight (22:00–06:00).
    """

    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()  # 0 = Monday … 6 = Sunday, as datetime.weekday()
    start: time = time(0)
    end: time = time(0)
    weight: float = 1.0

    def contains(self, local: datetime) -> bool:
        """Whether an interval starting at *local* (wall-clock time) lies in this window."""
        if self.months and local.month not in self.months:
            return False
        if self.weekdays and local.weekday() not in self.weekdays:
            return False
        clock = local.time().replace(tzinfo=None)
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end


@dataclass(frozen=True, slots=True)
class Step:
    """A capacity step: billing values from ``lower_kw`` (inclusive) cost ``price`` a month."""

    lower_kw: float
    price: float


@dataclass(frozen=True, slots=True)
class KwPrice:
    """A price per billed kW and month, in the given months (empty: every month)."""

    price: float
    months: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class TariffRule:
    """How one grid tariff bills peak demand. See the module docstring."""

    name: str
    title: str
    source: str
    interval_minutes: int = 60
    peaks: int = 1
    distinct_days: bool = False
    windows: tuple[Window, ...] = ()
    #: Weight of an interval no window contains (1 when there are no windows at all).
    outside_weight: float = 0.0
    minimum_kw: float = 0.0
    steps: tuple[Step, ...] = ()
    kw_prices: tuple[KwPrice, ...] = ()
    currency: str = ""
    #: Months averaged for a yearly bill (Flanders: the last 12 monthly peaks); 0 = none.
    rolling_months: int = 0
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.interval_minutes not in (15, 30, 60):
            raise ValueError(f"{self.name}: interval_minutes must be 15, 30 or 60")
        if self.peaks < 1:
            raise ValueError(f"{self.name}: peaks must be at least 1")
        lowers = [s.lower_kw for s in self.steps]
        if lowers != sorted(lowers) or len(set(lowers)) != len(lowers):
            raise ValueError(f"{self.name}: steps must rise strictly by lower_kw")
        if self.steps and self.steps[0].lower_kw != 0:
            raise ValueError(f"{self.name}: the first step must start at 0 kW")
        if any(not 0 <= w.weight <= 10 for w in self.windows) or not self.outside_weight >= 0:
            raise ValueError(f"{self.name}: window weights must be between 0 and 10")

    @property
    def interval_s(self) -> int:
        """The interval length in seconds."""
        return self.interval_minutes * 60

    def weight(self, local_start: datetime) -> float:
        """How much an interval starting at *local_start* counts (0: not at all)."""
        if not self.windows:
            return 1.0
        for window in self.windows:
            if window.contains(local_start):
                return window.weight
        return self.outside_weight

    def step_index(self, billing_kw: float) -> int | None:
        """The index of the step *billing_kw* falls in, or None for a rule without steps."""
        if not self.steps:
            return None
        index = 0
        for i, step in enumerate(self.steps):
            if billing_kw >= step.lower_kw:
                index = i
        return index

    def kw_price(self, month: int) -> float | None:
        """The price per kW for *month*, or None when the rule bills by steps only."""
        for price in self.kw_prices:
            if not price.months or month in price.months:
                return price.price
        return None


_WINTER: Final = frozenset({11, 12, 1, 2, 3})
_SUMMER: Final = frozenset({4, 5, 6, 7, 8, 9, 10})
_WEEKDAYS: Final = frozenset(range(5))

#: Norway's capacity charge ("kapasitetsledd", NVE's model since 1 July 2022): the mean of the
#: month's three highest hourly consumptions, each on a different day, selects a monthly step.
#: Steps and prices: Rakkestad Energi, tariff N100H from 2024-07-01, NOK a month incl. VAT
#: (rakkestadenergi.no, "Priser under 100 000 kWh"). The step limits are common to most
#: Norwegian operators; the prices are not.
NORWAY_CAPACITY: Final = TariffRule(
    name="no-capacity-steps",
    title="Norway: capacity steps, mean of 3 daily peak hours",
    source="NVE capacity model; steps and prices of Rakkestad Energi N100H, 2024-07-01",
    interval_minutes=60,
    peaks=3,
    distinct_days=True,
    steps=(
        Step(0, 263),
        Step(2, 363),
        Step(5, 463),
        Step(10, 600),
        Step(15, 738),
        Step(20, 900),
        Step(25, 1625),
        Step(50, 2500),
        Step(75, 3125),
        Step(100, 6250),
    ),
    currency="NOK",
)

#: Flanders' capacity tariff (Fluvius, since 2023): the month's peak is the highest 15-minute
#: average power, at least 2.5 kW; the yearly bill uses the mean of the last 12 monthly peaks.
#: Price: about EUR 40.4 per kW and year excl. VAT in 2023, the Flemish average (Fluvius FAQ
#: "capaciteitstarief gezinnen en kleine ondernemingen"), i.e. EUR 3.37 per kW and month.
BELGIUM_CAPACITY: Final = TariffRule(
    name="be-capacity-tariff",
    title="Belgium (Flanders): monthly 15-minute peak, minimum 2.5 kW",
    source="Fluvius capacity tariff FAQ; VREG; 2023 Flemish average price",
    interval_minutes=15,
    peaks=1,
    minimum_kw=2.5,
    kw_prices=(KwPrice(3.37),),
    currency="EUR",
    rolling_months=12,
)

#: A Swedish power charge ("effektavgift"): the mean of the month's three highest hourly values
#: on weekdays 07:00–19:00, at 111.50 SEK per kW in November–March and 55.75 SEK in April–October
#: incl. VAT (Sala-Heby Energi Elnät, seom.se, "Effektavgift"). That operator also excludes public
#: holidays, which this rule does not know: add them as a window of weight 0 if it matters.
SWEDEN_POWER_CHARGE: Final = TariffRule(
    name="se-power-charge",
    title="Sweden: mean of 3 peak hours, weekdays 07-19",
    source="Sala-Heby Energi Elnät, effektavgift",
    interval_minutes=60,
    peaks=3,
    distinct_days=False,
    windows=(Window(weekdays=_WEEKDAYS, start=time(7), end=time(19)),),
    outside_weight=0.0,
    kw_prices=(KwPrice(111.50, _WINTER), KwPrice(55.75, _SUMMER)),
    currency="SEK",
)

SHIPPED_RULES: Final[Mapping[str, TariffRule]] = {
    rule.name: rule for rule in (NORWAY_CAPACITY, BELGIUM_CAPACITY, SWEDEN_POWER_CHARGE)
}
