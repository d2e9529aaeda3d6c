"""The meter model: pure, deterministic, advanced by a simulated clock passed in.

Nothing here reads the wall clock, touches a port or a file, or logs; the runtime and the
persistence store do that around it.
"""

from .breaker import BreakerRefused, CouplingCommand, CouplingState
from .config import ConfigError, MeterConfig, load_config, parse_config
from .identity import EnergyType, Identity, TypeNumber, gs1_check_digit, gs1_number, system_title
from .meter import Meter
from .power import PhaseSupply, Supply
from .source import Action, ActionKind, ConstantLoad, LoadSource

__all__ = [
    "Action",
    "ActionKind",
    "BreakerRefused",
    "ConfigError",
    "ConstantLoad",
    "CouplingCommand",
    "CouplingState",
    "EnergyType",
    "Identity",
    "LoadSource",
    "Meter",
    "MeterConfig",
    "PhaseSupply",
    "Supply",
    "TypeNumber",
    "gs1_check_digit",
    "gs1_number",
    "load_config",
    "parse_config",
    "system_title",
]
