"""Reading ``gateway.toml``: the file, the ``[gateway]`` table, and the checks across meters.

Read once at start and validated completely; secrets are wrapped in :class:`Secret` so they
never print.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .demand import demand_rules_section
from .models import ConfigError, ConfigErrors, GatewayConfig, MeterConfig
from .sections import commands_secret, meter_section, mqtt_section
from .table import Table, zone

__all__ = ["host_zone", "load_config", "parse_config", "state_dir_problem"]

_LOGGER = logging.getLogger(__name__)

_GATEWAY_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def load_config(path: Path) -> GatewayConfig:
    """Read and validate *path*; warn when others may read the keys in it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            str(path), f"cannot read the configuration file ({exc.strerror})"
        ) from None
    warn_if_readable(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    return parse_config(data, base_dir=path.parent)


def warn_if_readable(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    # Group read is how the service user reads a root-owned file (0640 root:omnipower, as the
    # README installs it); only a file everyone can read gives the keys away.
    if mode & stat.S_IROTH:
        _LOGGER.warning(
            "%s holds the meter keys and is readable by every user: run chmod 600 %s (or 640, "
            "owned by root and the service's group)",
            path,
            path,
        )


_T = TypeVar("_T")


def parse_config(data: Mapping[str, Any], *, base_dir: Path = Path()) -> GatewayConfig:
    """Validate the parsed TOML; raises :class:`ConfigError` naming the key, or
    :class:`ConfigErrors` with one error per wrong table when several are wrong."""
    errors: list[ConfigError] = []

    def attempt(parse: Callable[[], _T]) -> _T | None:
        try:
            return parse()
        except ConfigError as error:
            errors.append(error)
            return None

    root = Table(data, "")
    gateway = attempt(lambda: _gateway_section(root.table("gateway"), base_dir))
    mqtt = attempt(lambda: mqtt_section(root.table("mqtt"), base_dir))
    root.mark_read("meters")
    raw_meters = data.get("meters")
    meters: list[MeterConfig | None] = []
    root.mark_read("demand_rules")
    rules = attempt(lambda: demand_rules_section(data.get("demand_rules")))
    if not isinstance(raw_meters, list) or not raw_meters:
        errors.append(ConfigError("meters", "at least one [[meters]] table"))
    elif rules is not None:  # with the rules wrong, the meters that name them cannot be checked
        for index, raw in enumerate(raw_meters):

            def meter(
                raw: Any = raw, index: int = index, rules: Mapping[str, Any] = rules
            ) -> MeterConfig:
                return meter_section(Table(raw, f"meters[{index}]"), index, rules)

            meters.append(attempt(meter))
    parsed = tuple(m for m in meters if m is not None)
    if meters and len(parsed) == len(meters):
        attempt(lambda: _check_across_meters(parsed))
    command_secret = attempt(lambda: commands_secret(root.table("commands")))
    attempt(root.finish)
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    # No error: every section parsed.
    assert gateway is not None
    assert mqtt is not None
    gateway_id, state_dir, timezone, interval = gateway
    return GatewayConfig(
        gateway_id=gateway_id,
        state_dir=state_dir,
        timezone=timezone,
        diagnostics_interval=float(interval),
        mqtt=mqtt,
        meters=parsed,
        command_secret=command_secret,
    )


def _gateway_section(
    gateway: Table, base_dir: Path
) -> tuple[str, Path, ZoneInfo | None, int | float]:
    gateway_id = gateway.get("id", str, "a name of letters, digits, - or _", "omnipower")
    if not _GATEWAY_ID.match(gateway_id):
        raise ConfigError("gateway.id", "a name of 1-64 letters, digits, - or _")
    state_dir = Path(
        gateway.get("state_dir", str, "a directory path", "/var/lib/omnipower")
    ).expanduser()
    if not state_dir.is_absolute():
        state_dir = base_dir / state_dir
    timezone = zone(gateway, "timezone")
    interval = gateway.get("diagnostics_interval", (int, float), "seconds, e.g. 60", 60)
    if not 1 <= interval <= 3600:
        raise ConfigError("gateway.diagnostics_interval", "seconds between 1 and 3600")
    gateway.finish()
    return gateway_id, state_dir, timezone, interval


def _check_across_meters(meters: tuple[MeterConfig, ...]) -> None:
    names = [m.name for m in meters]
    if len(set(names)) != len(names):
        raise ConfigError("meters", "each meter needs a distinct name")
    ports = [m.ccc.description for m in meters if m.ccc is not None]
    ports += [m.optical.description.rpartition(" (")[0] for m in meters if m.optical is not None]
    if len(set(ports)) != len(ports):
        raise ConfigError("meters", "each meter needs its own ports (two share one)")
    serials = [m.serial for m in meters if m.serial is not None]
    if len(set(serials)) != len(serials):
        raise ConfigError("meters", "each meter needs a distinct serial")


def state_dir_problem(path: Path) -> tuple[bool, str] | None:
    """What is wrong with the state directory for this user, for ``--check``: (fatal, text).

    An existing directory must be writable (the invocation counters live there). A missing one
    is only a warning: systemd's ``StateDirectory=`` creates it when the service starts, after
    the README runs ``--check``.
    """
    if path.is_dir():
        if os.access(path, os.W_OK | os.X_OK):
            return None
        return True, f"gateway.state_dir {path} is not writable by this user (uid {os.getuid()})"
    if path.exists():
        return True, f"gateway.state_dir {path} exists but is not a directory"
    return False, (
        f"gateway.state_dir {path} does not exist yet: the service creates it "
        "(systemd StateDirectory=) or create it writable for the user that runs the gateway"
    )


def host_zone() -> ZoneInfo | None:
    """The host's zone from ``TZ`` or ``/etc/localtime``, when it names an IANA zone."""
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            target = os.readlink("/etc/localtime")
        except OSError:
            return None
        _, sep, name = target.partition("zoneinfo/")
        if not sep:
            return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
