"""Peak demand under capacity tariffs: pure rules and a sans-I/O calculator.

``rules`` holds the tariffs as data (shipped: Norway's capacity steps, Flanders' capacity tariff,
a Swedish power charge); ``calculator`` turns a meter's accepted pushes and load profile into the
month's peaks, billing value, step, projection and headroom. The service publishes them on the
``demand`` topic; ``omnipower demand`` prints them for a capture.
"""

from .calculator import ClosedInterval, DemandCalculator, DemandEvent, DemandSnapshot, MonthSummary
from .rules import SHIPPED_RULES, KwPrice, Step, TariffRule, Window

__all__ = [
    "SHIPPED_RULES",
    "ClosedInterval",
    "DemandCalculator",
    "DemandEvent",
    "DemandSnapshot",
    "KwPrice",
    "MonthSummary",
    "Step",
    "TariffRule",
    "Window",
]
