"""A household behind the meter: base load, appliances, heat pump, EV, rooftop PV, a noisy grid.

Everything is a pure function of (seed, time): the supply is constant on a grid of ``step_s``
seconds and each grid cell's randomness comes from a hash of the seed and the cell number, so
any instant can be evaluated on its own, twice gives the same answer, and how the caller steps
time cannot change the outcome. Times of day are local standard time (``gmt_offset_h``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from ..model.power import PhaseSupply, Supply
from ..model.source import Action, ActionKind

__all__ = ["Household", "unit_random"]

_MASK: Final = (1 << 64) - 1
_SECOND: Final = 1_000_000
_DAY_S: Final = 86_400


def unit_random(seed: int, cell: int, salt: int) -> float:
    """A uniform number in [0, 1) from (seed, cell, salt): the splitmix64 finaliser."""
    x = (seed * 0x9E3779B97F4A7C15 + cell * 0xBF58476D1CE4E5B9 + salt * 0x94D049BB133111EB) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    x ^= x >> 31
    return x / 2.0**64


@dataclass(frozen=True, slots=True)
class Household:
    """A configurable household; the scenario registry builds the named variants."""

    seed: int = 0
    phases: int = 1
    step_s: int = 60
    gmt_offset_h: int = 1
    base_w: float = 180.0
    pv_peak_w: float = 4_000.0
    heat_pump_w: float = 1_500.0
    ev_w: float = 3_700.0
    ev_days: float = 0.3  # share of evenings the EV charges
    load_scale: float = 1.0
    sag_rate: float = 0.0005  # per grid cell
    swell_rate: float = 0.0002
    outage_rate: float = 0.001  # per hour; an outage lasts 1-30 minutes
    voltage_noise_v: float = 1.5
    nominal_v: float = 230.0
    actions: tuple[tuple[int, Action], ...] = field(default=())  # (true_us, action), sorted

    # --- LoadSource -----------------------------------------------------------------------

    def next_change(self, true_us: int) -> int | None:
        """The next grid point, or an earlier scheduled action."""
        step = self.step_s * _SECOND
        grid = (true_us // step + 1) * step
        for at, _action in self.actions:
            if true_us < at < grid:
                return at
        return grid

    def actions_at(self, true_us: int) -> Sequence[Action]:
        """Scheduled actions at exactly *true_us*."""
        if not self.actions:
            return ()  # most households: asked at every grid point, nothing scheduled
        return [action for at, action in self.actions if at == true_us]

    def supply_at(self, true_us: int) -> Supply:
        """The supply in the grid cell holding *true_us*."""
        # One flat function with locals: it runs for every grid cell, half a million times a
        # simulated year at the default step. The arithmetic is the same, term by term.
        step_s = self.step_s
        phase_count = self.phases
        cell = true_us // (step_s * _SECOND)
        seconds = cell * step_s
        if self._in_outage(seconds):
            return Supply(tuple(PhaseSupply(0.0) for _ in range(phase_count)), 0.0, 0.0)
        local_s = seconds + self.gmt_offset_h * 3600
        day = local_s // _DAY_S
        hour = (local_s % _DAY_S) / 3600
        rnd = _Cell(self.seed, cell).draw
        minute = cell * step_s // 60

        # consumption per phase (W)
        washing, washes, ev_evening = _day_values(self.seed, day)
        base = self.base_w * (0.8 + 0.4 * rnd(20))
        fridge = 110.0 if minute % 50 < 20 else 0.0
        appliances = 0.0
        if 6.5 <= hour < 8.5:
            appliances += 2000.0 * (rnd(21) < 0.15) + 300.0 * (rnd(22) < 0.5)  # kettle, toaster
        if 17.0 <= hour < 19.5:
            appliances += 2500.0 * (rnd(23) < 0.6)  # cooking
        if 18.0 <= hour < 23.0:
            appliances += 250.0 + 150.0 * rnd(24)  # lights, TV
        washing_start = 9 + 10 * washing
        if washes < 0.4 and washing_start <= hour < washing_start + 1.5:
            appliances += 2000.0 if hour < washing_start + 0.3 else 250.0
        season = _season(day)  # +1 in winter, -1 in summer
        heat = 0.0
        if self.heat_pump_w and season > -0.2:
            duty = 0.2 + 0.6 * max(season, 0.0)
            heat = self.heat_pump_w * ((minute % 60) < duty * 60)
        ev = 0.0
        if self.ev_w and ev_evening < self.ev_days and (hour >= 22.0 or hour < 1.5):
            ev = self.ev_w
        single = (base + fridge + appliances) * self.load_scale
        shared = (heat + ev) * self.load_scale
        if phase_count == 1:
            loads = [single + shared]
        else:
            loads = [single + shared / 3, shared / 3 + 60.0, shared / 3 + 40.0]

        # PV generation (W): a sine over the day, longer and higher in summer, with clouds
        pv = 0.0
        if self.pv_peak_w:
            summer, half_day = _sun(day)
            if abs(hour - 12.25) < half_day:
                shape = math.cos(math.pi / 2 * (hour - 12.25) / half_day)
                clouds = _clouds(self.seed, cell * step_s // 900)
                pv = self.pv_peak_w * (0.45 + 0.55 * (summer + 1) / 2) * shape * clouds

        nominal = self.nominal_v
        noise = self.voltage_noise_v
        voltage = nominal + (rnd(1) - 0.5) * 2 * noise
        voltage += pv / 1000 * 1.2 - sum(loads) / 1000 * 0.8  # export lifts, load pulls the voltage
        if rnd(2) < self.sag_rate:
            voltage = nominal * (0.55 + 0.3 * rnd(3))
        elif rnd(4) < self.swell_rate:
            voltage = nominal * (1.11 + 0.05 * rnd(5))
        generation = pv / phase_count
        phases = []
        for index in range(phase_count):
            load = loads[index]
            net = load - generation
            reactive = load * 0.25 - generation * 0.02  # motors and supplies lag; inverters near 1
            volts = voltage + (rnd(10 + index) - 0.5) * noise if index else voltage
            phases.append(PhaseSupply(round(volts, 1), round(net, 1), round(reactive, 1)))
        frequency = 50.0 + (rnd(6) - 0.5) * 0.1
        thd = 1.5 + 2.0 * rnd(7) + (1.0 if 18 <= hour < 22 else 0.0)
        return Supply(tuple(phases), round(frequency, 2), round(thd, 1))

    # --- parts ----------------------------------------------------------------------------

    def _in_outage(self, seconds: int) -> bool:
        """Whether the hour holding *seconds* has an outage that covers it."""
        window = _outage_window(self.seed, seconds // 3600, self.outage_rate)
        return window is not None and window[0] <= seconds % 3600 < window[1]


# The per-hour, per-day and per-quarter draws below are cached: a grid cell is a minute by
# default, so each is asked for 60 (or 15, or 1440) times in a row. Caching changes no value.


@lru_cache(maxsize=256)
def _outage_window(seed: int, hour_cell: int, rate: float) -> tuple[float, float] | None:
    """The outage (start, end) in seconds past the hour, or None for an hour without one."""
    if unit_random(seed, hour_cell, 90) >= rate:
        return None
    start = unit_random(seed, hour_cell, 91) * 1800
    return start, start + 60 + unit_random(seed, hour_cell, 92) * 1740


@lru_cache(maxsize=64)
def _season(day: int) -> float:
    """+1 in winter, -1 in summer."""
    return math.cos(2 * math.pi * ((day + 10) % 365) / 365)


@lru_cache(maxsize=64)
def _sun(day: int) -> tuple[float, float]:
    """(+1 at midsummer … -1 at midwinter, half the day's PV hours)."""
    summer = math.cos(2 * math.pi * ((day - 172) % 365) / 365)
    return summer, 4.5 + 3.0 * (summer + 1) / 2


@lru_cache(maxsize=64)
def _clouds(seed: int, quarter: int) -> float:
    """The share of PV that gets through the clouds in one quarter hour."""
    return 0.35 + 0.65 * unit_random(seed, quarter, 50)


@lru_cache(maxsize=64)
def _day_values(seed: int, day: int) -> tuple[float, float, float]:
    """Per-day choices: washing start, whether to wash, whether the EV charges tonight."""
    return unit_random(seed, day, 30), unit_random(seed, day, 31), unit_random(seed, day, 40)


#: ``salt * 0x94D049BB133111EB`` mod 2**64 for the salts a grid cell uses (all below 64).
_SALT_TERMS: Final = tuple((salt * 0x94D049BB133111EB) & _MASK for salt in range(64))


class _Cell:
    """The uniform numbers of one grid cell by salt (0-63): :func:`unit_random` with the seed
    and cell part of the sum computed once. The sum is taken mod 2**64 in parts, which gives
    the same number as reducing it whole, with smaller integers on the hot path."""

    __slots__ = ("_base",)

    def __init__(self, seed: int, cell: int) -> None:
        self._base = (seed * 0x9E3779B97F4A7C15 + cell * 0xBF58476D1CE4E5B9) & _MASK

    def draw(self, salt: int) -> float:
        """The uniform number of *salt*."""
        x = (self._base + _SALT_TERMS[salt]) & _MASK
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
        return (x ^ (x >> 31)) / 2.0**64

    __call__ = draw


def tamper_actions(start_us: int) -> tuple[tuple[int, Action], ...]:
    """A magnet for 10 minutes after 1 h, the cover opened after 2 h and closed 5 min later."""
    hour = 3600 * _SECOND
    return (
        (start_us + hour, Action(ActionKind.MAGNET, 1)),
        (start_us + hour + 600 * _SECOND, Action(ActionKind.MAGNET, 0)),
        (start_us + 2 * hour, Action(ActionKind.COVER, 1)),
        (start_us + 2 * hour + 300 * _SECOND, Action(ActionKind.COVER, 0)),
    )
