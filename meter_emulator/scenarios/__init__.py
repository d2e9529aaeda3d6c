"""Named, seeded scenarios that drive the meter model (``omnipower emulator --scenario NAME``).

Each is a :class:`~meter_emulator.model.source.LoadSource`: the same name, seed and start give
the same supply and actions, so a run can be reproduced exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Final, TypeAlias

from ..model.power import PhaseSupply, Supply
from ..model.source import Action, ActionKind, ConstantLoad, LoadSource
from .household import Household, tamper_actions, unit_random

__all__ = ["SCENARIOS", "Household", "UnknownScenario", "make_scenario", "unit_random"]

Factory: TypeAlias = Callable[[int, int, int], LoadSource]  # (seed, phases, start_us)

_HOUR: Final = 3600 * 1_000_000


class UnknownScenario(ValueError):
    """A scenario name that is not in :data:`SCENARIOS`."""


def _constant(seed: int, phases: int, start_us: int) -> LoadSource:
    return ConstantLoad(Supply(tuple(PhaseSupply(230.0, 1000.0, 200.0) for _ in range(phases))))


def _idle(seed: int, phases: int, start_us: int) -> LoadSource:
    return ConstantLoad(Supply(tuple(PhaseSupply(230.0, 0.0, 0.0) for _ in range(phases))))


def _household(seed: int, phases: int, start_us: int) -> LoadSource:
    return Household(seed=seed, phases=phases)


def _pv_export(seed: int, phases: int, start_us: int) -> LoadSource:
    return Household(seed=seed, phases=phases, pv_peak_w=8_000.0, heat_pump_w=0.0, ev_w=0.0)


def _ev_heat_pump(seed: int, phases: int, start_us: int) -> LoadSource:
    return Household(seed=seed, phases=phases, heat_pump_w=2_500.0, ev_w=7_400.0, ev_days=0.7)


def _bad_grid(seed: int, phases: int, start_us: int) -> LoadSource:
    return Household(
        seed=seed,
        phases=phases,
        sag_rate=0.01,
        swell_rate=0.005,
        outage_rate=0.05,
        voltage_noise_v=4.0,
    )


def _tamper(seed: int, phases: int, start_us: int) -> LoadSource:
    return Household(seed=seed, phases=phases, actions=tamper_actions(start_us))


def _prepayment(seed: int, phases: int, start_us: int) -> LoadSource:
    """A heavy household that runs out of credit; a top-up arrives after 12 hours."""
    base = Household(seed=seed, phases=phases, load_scale=3.0, pv_peak_w=0.0)
    top_up = ((start_us + 12 * _HOUR, Action(ActionKind.TOP_UP, 20.0)),)
    return replace(base, actions=top_up)


SCENARIOS: Final[dict[str, tuple[str, Factory]]] = {
    "household": ("base load, appliances, heat pump, EV, 4 kWp PV, noisy grid", _household),
    "pv_export": ("8 kWp PV exporting around noon, no heat pump or EV", _pv_export),
    "ev_heat_pump": ("2.5 kW heat pump and a 7.4 kW EV most evenings", _ev_heat_pump),
    "bad_grid": ("household on a weak grid: frequent sags, swells and outages", _bad_grid),
    "tamper": ("household; a magnet after 1 h, the terminal cover opened after 2 h", _tamper),
    "prepayment": (
        "heavy household that runs out of credit; 20 kWh top-up after 12 h",
        _prepayment,
    ),
    "constant": ("1 kW, 200 var on every phase, clean 230 V", _constant),
    "idle": ("no load at all, clean 230 V", _idle),
}


def make_scenario(name: str, *, seed: int = 0, phases: int = 1, start_us: int = 0) -> LoadSource:
    """The scenario *name*, seeded; raises UnknownScenario with the known names."""
    try:
        _description, factory = SCENARIOS[name]
    except KeyError:
        known = ", ".join(sorted(SCENARIOS))
        raise UnknownScenario(f"unknown scenario {name!r}; known: {known}") from None
    return factory(seed, phases, start_us)
