"""Constants of the OMNIPOWER integration: the MQTT contract's names (docs/mqtt.md)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

DOMAIN: Final = "omnipower"
LOGGER: Final = logging.getLogger(__package__)
MANUFACTURER: Final = "Kamstrup"

CONF_BASE_TOPIC: Final = "base_topic"
CONF_SERIAL: Final = "serial"
CONF_INFO: Final = "info"
CONF_STALE_AFTER: Final = "stale_after"
CONF_COMMANDS: Final = "commands"
CONF_SECRET: Final = "command_secret"

DEFAULT_BASE_TOPIC: Final = "omnipower"
#: A push every 10 s; five minutes without one means the meter or its port is gone.
DEFAULT_STALE_AFTER: Final = 300
MIN_STALE_AFTER: Final = 30
MAX_STALE_AFTER: Final = 3600

#: How long the manual set-up waits for the meter's retained info topic.
PROBE_TIMEOUT: Final = 10.0
#: How long a command may stay valid (the gateway refuses more than 10 minutes).
COMMAND_LIFETIME: Final = timedelta(seconds=30)
#: How long to wait for ``done`` after the command's expiry (the gateway's read-back).
COMMAND_GRACE: Final = timedelta(seconds=15)
#: A gateway offline this long raises a repair issue.
OFFLINE_ISSUE_AFTER: Final = timedelta(hours=1)
#: Clock drift in seconds above which a repair issue is raised.
MAX_CLOCK_DRIFT_S: Final = 60.0

SCHEMA_VERSION: Final = 1

#: Topics whose payloads are state (kept, shown by entities). Events, load profile and command
#: results are handled separately; ``info`` describes the device.
STATE_TOPICS: Final = (
    "info",
    "power",
    "energy",
    "diagnostics",
    "quality",
    "tariff",
    "breaker",
    "relays",
    "prepayment",
    "status",
    "clock",
    "demand",
)
#: Topics whose arrival shows the meter is being read (staleness counts from these).
READING_TOPICS: Final = frozenset(
    {
        "power",
        "energy",
        "quality",
        "tariff",
        "breaker",
        "relays",
        "prepayment",
        "status",
        "clock",
        "demand",
    }
)

#: Commands a user may let Home Assistant send (and the gateway must also allow).
COMMANDS: Final = (
    "breaker",
    "relay",
    "tariff",
    "prepayment_top_up",
    "prepayment_alarm_limit",
    "clock_sync",
    "read_load_profile",
    "refresh",
)
#: Offered by default: reading, not switching power or money.
DEFAULT_COMMANDS: Final = ("clock_sync", "read_load_profile", "refresh")

#: Diagnostics error codes that mean the keys are wrong (a repair issue).
KEY_ERRORS: Final = frozenset(
    {"authentication_failed", "keys_swapped", "decryption_failed", "missing_key"}
)

SERVICE_TOP_UP: Final = "prepayment_top_up"
SERVICE_READ_LOAD_PROFILE: Final = "read_load_profile"
ATTR_ENERGY_KWH: Final = "energy_kwh"
ATTR_FROM: Final = "from"
ATTR_TO: Final = "to"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
