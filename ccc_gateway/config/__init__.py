"""``gateway.toml``: read once at start, validated completely, secrets wrapped so they never print.

Every error names the key (``meters[0].ccc.port``) and the form it expects, because the person
reading it is editing a file over SSH on a Raspberry Pi, not reading a traceback. Unknown keys are
errors too: a misspelt ``encyption_key`` silently ignored would look like a wrong key on the wire.

The package's parts: ``models`` (the frozen values), ``table`` (a table under validation and the
shared value checks), ``sections`` (one parser per section) and ``loader`` (the file, the
``[gateway]`` table and the checks across meters).
"""

from .loader import host_zone, load_config, parse_config
from .models import (
    COMMAND_NAMES,
    BrokerEndpoint,
    CccPortConfig,
    ConfigError,
    GatewayConfig,
    MeterConfig,
    MqttConfig,
    OpticalPortConfig,
    Secret,
)

__all__ = [
    "COMMAND_NAMES",
    "BrokerEndpoint",
    "CccPortConfig",
    "ConfigError",
    "GatewayConfig",
    "MeterConfig",
    "MqttConfig",
    "OpticalPortConfig",
    "Secret",
    "host_zone",
    "load_config",
    "parse_config",
]
