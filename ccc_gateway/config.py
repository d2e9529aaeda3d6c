"""``gateway.toml``: read once at start, validated completely, secrets wrapped so they never print.

Every error names the key (``meters[0].ccc.port``) and the form it expects, because the person
reading it is editing a file over SSH on a Raspberry Pi, not reading a traceback. Unknown keys are
errors too: a misspelt ``encyption_key`` silently ignored would look like a wrong key on the wire.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .protocol import Keys, Resolution

__all__ = [
    "COMMAND_NAMES",
    "CccPortConfig",
    "ConfigError",
    "GatewayConfig",
    "MeterConfig",
    "MqttConfig",
    "OpticalPortConfig",
    "Secret",
    "load_config",
    "parse_config",
]

_LOGGER = logging.getLogger(__name__)

_HEX_SEPARATORS: Final = re.compile(r"[\s:]")
_GATEWAY_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TOPIC_PART: Final = re.compile(r"^[A-Za-z0-9_/-]{1,64}$")
_SERIAL: Final = re.compile(r"^[0-9]{1,16}$")
#: The commands of docs/mqtt.md a meter may allow (all off unless listed).
COMMAND_NAMES: Final = (
    "breaker",
    "relay",
    "tariff",
    "prepayment_top_up",
    "prepayment_alarm_limit",
    "clock_sync",
    "read_load_profile",
    "refresh",
)


class ConfigError(ValueError):
    """The configuration file is wrong; the message names the key and the expected form."""

    def __init__(self, key: str, expected: str) -> None:
        super().__init__(f"{key}: {expected}")
        self.key = key


class Secret:
    """A value that must never reach a log, a topic or a dump: ``repr``/``str`` redact it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that needs it (a cipher, a login)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class CccPortConfig:
    """Where a meter's CCC push arrives: exactly one of a serial device, a TCP socket, a replay."""

    kind: Literal["serial", "tcp", "replay"]
    path: str = ""  # serial device, or the capture file for replay
    host: str = ""
    port: int = 0
    baudrate: int = 2400
    parity: Literal["N", "E", "O"] = "N"
    realtime: bool = True  # replay only: pace bytes at the baud rate

    @property
    def description(self) -> str:
        """How logs and the diagnostics topic name this port (no secrets in a port)."""
        if self.kind == "tcp":
            return f"tcp://{self.host}:{self.port}"
        if self.kind == "replay":
            return f"replay:{self.path}"
        return self.path


@dataclass(frozen=True, slots=True)
class OpticalPortConfig:
    """The optical head: DLMS/COSEM over HDLC (polling and commands) or an IEC 62056-21 readout.

    DLMS uses the optical association (client 19, LLS) when a password is set, else the public
    one (client 16, read-only: no commands). PROTOCOL.md 2.3.2.
    """

    kind: Literal["serial", "tcp"]
    protocol: Literal["dlms", "iec62056-21"] = "dlms"
    path: str = ""
    host: str = ""
    port: int = 0
    password: Secret | None = None
    server_address: int = 32  # HDLC physical address (HDLC setup attr 9)
    association: Literal["optical", "primary_module", "ccc"] = "optical"
    poll_interval: float = 60.0
    load_profile: bool = True  # back-fill on start, after gaps and on request

    @property
    def description(self) -> str:
        """How logs and the diagnostics topic name this port (never the password)."""
        where = f"tcp://{self.host}:{self.port}" if self.kind == "tcp" else self.path
        return f"{where} ({self.protocol})"

    @property
    def client_address(self) -> int:
        """The client SAP (PROTOCOL.md 2.3.2): 19 optical, 18 primary module, 20 CCC module, all
        LLS; 16 (public, read-only) without a password."""
        if self.password is None:
            return 16
        return {"optical": 19, "primary_module": 18, "ccc": 20}[self.association]


@dataclass(frozen=True, slots=True)
class MeterConfig:
    """One meter: its ports, keys, time zone, allowed commands and the scalers its push lacks."""

    name: str  # the index-based default name keeps log lines distinct before the serial is known
    ccc: CccPortConfig | None
    serial: str | None = None
    encryption_key: Secret | None = None
    authentication_key: Secret | None = None
    timezone: ZoneInfo | None = None
    resolution: Resolution = field(default_factory=Resolution)
    p1: bool = False
    optical: OpticalPortConfig | None = None
    commands: frozenset[str] = frozenset()

    def keys(self) -> Keys | None:
        """The GCM keys for the decoder, or None for a plaintext meter."""
        if self.encryption_key is None:
            return None
        ak = self.authentication_key
        return Keys(
            bytes.fromhex(self.encryption_key.reveal()),
            None if ak is None else bytes.fromhex(ak.reveal()),
        )


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """The broker connection. Only ``password`` is secret; TLS files are paths, not contents."""

    host: str = "localhost"
    port: int = 1883
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    username: str | None = None
    password: Secret | None = None
    client_id: str | None = None
    keepalive: int = 60
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    tls_insecure: bool = False
    base_topic: str = "omnipower"
    queue_size: int = 1000
    discovery: bool = False
    discovery_prefix: str = "homeassistant"


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """The whole validated file."""

    gateway_id: str
    state_dir: Path
    timezone: ZoneInfo | None
    diagnostics_interval: float
    mqtt: MqttConfig
    meters: tuple[MeterConfig, ...]
    command_secret: Secret | None = None


def load_config(path: Path) -> GatewayConfig:
    """Read and validate *path*; warn when others may read the keys in it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            str(path), f"cannot read the configuration file ({exc.strerror})"
        ) from None
    _warn_if_readable(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    return parse_config(data, base_dir=path.parent)


def _warn_if_readable(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        _LOGGER.warning(
            "%s holds the meter keys and is readable by group or others: run chmod 600 %s",
            path,
            path,
        )


class _Table:
    """A TOML table being validated: tracks which keys were read to reject the unknown ones."""

    def __init__(self, data: Any, key: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(key, "expected a table")
        self.data: Mapping[str, Any] = data
        self.key = key
        self._seen: set[str] = set()

    def name(self, item: str) -> str:
        return f"{self.key}.{item}" if self.key else item

    def get(self, item: str, kind: type | tuple[type, ...], expected: str, default: Any) -> Any:
        self._seen.add(item)
        if item not in self.data:
            return default
        value = self.data[item]
        # bool is an int in Python; a port number of `true` is a mistake, not 1.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise ConfigError(self.name(item), expected)
        if not isinstance(value, kind):
            raise ConfigError(self.name(item), expected)
        return value

    def table(self, item: str) -> _Table:
        self._seen.add(item)
        return _Table(self.data.get(item, {}), self.name(item))

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self._seen)
        if unknown:
            raise ConfigError(self.name(unknown[0]), "unknown key (check its spelling)")


def parse_config(data: Mapping[str, Any], *, base_dir: Path = Path()) -> GatewayConfig:
    """Validate the parsed TOML; raises :class:`ConfigError` on the first problem."""
    root = _Table(data, "")
    gateway = root.table("gateway")
    gateway_id = gateway.get("id", str, "a name of letters, digits, - or _", "omnipower")
    if not _GATEWAY_ID.match(gateway_id):
        raise ConfigError("gateway.id", "a name of 1-64 letters, digits, - or _")
    state_dir = Path(
        gateway.get("state_dir", str, "a directory path", "/var/lib/omnipower")
    ).expanduser()
    if not state_dir.is_absolute():
        state_dir = base_dir / state_dir
    timezone = _zone(gateway, "timezone")
    interval = gateway.get("diagnostics_interval", (int, float), "seconds, e.g. 60", 60)
    if not 1 <= interval <= 3600:
        raise ConfigError("gateway.diagnostics_interval", "seconds between 1 and 3600")
    gateway.finish()
    mqtt = _mqtt(root.table("mqtt"), base_dir)
    root._seen.add("meters")
    raw_meters = data.get("meters")
    if not isinstance(raw_meters, list) or not raw_meters:
        raise ConfigError("meters", "at least one [[meters]] table")
    meters = tuple(_meter(_Table(m, f"meters[{i}]"), i) for i, m in enumerate(raw_meters))
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
    command_secret = _command_secret(root.table("commands"))
    root.finish()
    return GatewayConfig(
        gateway_id=gateway_id,
        state_dir=state_dir,
        timezone=timezone,
        diagnostics_interval=float(interval),
        mqtt=mqtt,
        meters=meters,
        command_secret=command_secret,
    )


def _command_secret(table: _Table) -> Secret | None:
    """``[commands] secret``: when set, every command must carry a valid HMAC ``sig``."""
    secret = table.get("secret", str, "a shared secret of at least 16 characters", None)
    table.finish()
    if secret is None:
        return None
    if len(secret) < 16:
        raise ConfigError(table.name("secret"), "a shared secret of at least 16 characters")
    return Secret(secret)


def _zone(table: _Table, item: str) -> ZoneInfo | None:
    name = table.get(item, str, 'an IANA time zone such as "Europe/Copenhagen"', None)
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            table.name(item), f'an IANA time zone such as "Europe/Copenhagen", not {name!r}'
        ) from None


def _port_number(table: _Table, item: str, default: int) -> int:
    value: int = table.get(item, int, "a port number 1-65535", default)
    if not 1 <= value <= 65535:
        raise ConfigError(table.name(item), "a port number 1-65535")
    return value


def _mqtt(table: _Table, base_dir: Path) -> MqttConfig:
    protocol = table.get("protocol", str, '"3.1.1" or "5"', "3.1.1")
    if protocol not in ("3.1.1", "5"):
        raise ConfigError(table.name("protocol"), '"3.1.1" or "5"')
    password = table.get("password", str, "a string", None)
    base_topic = table.get("base_topic", str, "a topic prefix", "omnipower")
    if not _TOPIC_PART.match(base_topic) or base_topic.startswith("/"):
        raise ConfigError(table.name("base_topic"), "letters, digits, -, _ and / (no wildcards)")
    queue_size = table.get("queue_size", int, "a number of messages, 10-100000", 1000)
    if not 10 <= queue_size <= 100_000:
        raise ConfigError(table.name("queue_size"), "a number of messages, 10-100000")

    def path(item: str) -> str | None:
        value = table.get(item, str, "a file path", None)
        if value is None:
            return None
        resolved = Path(value).expanduser()
        resolved = resolved if resolved.is_absolute() else base_dir / resolved
        if not resolved.is_file():
            raise ConfigError(table.name(item), f"an existing file ({resolved} is not one)")
        return str(resolved)

    tls = table.get("tls", bool, "true or false", False)
    config = MqttConfig(
        host=table.get("host", str, "a host name or address", "localhost"),
        port=_port_number(table, "port", 8883 if tls else 1883),
        protocol=protocol,
        username=table.get("username", str, "a string", None),
        password=None if password is None else Secret(password),
        client_id=table.get("client_id", str, "a string", None),
        keepalive=table.get("keepalive", int, "seconds", 60),
        tls=tls,
        ca_file=path("ca_file"),
        cert_file=path("cert_file"),
        key_file=path("key_file"),
        tls_insecure=table.get("tls_insecure", bool, "true or false", False),
        base_topic=base_topic,
        queue_size=queue_size,
        discovery=table.get("discovery", bool, "true or false", False),
        discovery_prefix=table.get("discovery_prefix", str, "a topic prefix", "homeassistant"),
    )
    if config.password is not None and config.username is None:
        raise ConfigError(table.name("username"), "required when a password is set")
    table.finish()
    return config


def _key(table: _Table, item: str, key_type: int) -> Secret | None:
    expected = f"32 hex digits (KeyType {key_type} from the grid operator; 0x prefix allowed)"
    value = table.get(item, str, expected, None)
    if value is None:
        return None
    cleaned = _HEX_SEPARATORS.sub("", value)
    if cleaned[:2].lower() == "0x":
        cleaned = cleaned[2:]
    if len(cleaned) != 32 or not all(c in "0123456789abcdefABCDEF" for c in cleaned):
        # Say what is wrong without echoing the key into a log.
        raise ConfigError(table.name(item), f"{expected}; got {len(cleaned)} characters")
    return Secret(cleaned.lower())


def _meter(table: _Table, index: int) -> MeterConfig:
    name = table.get("name", str, "a short name", f"meter{index + 1}")
    serial = table.get("serial", (str, int), "the meter's serial number (digits)", None)
    if serial is not None:
        serial = str(serial)
        if not _SERIAL.match(serial):
            raise ConfigError(table.name("serial"), "the meter's serial number (digits)")
    encryption_key = _key(table, "encryption_key", 64)
    authentication_key = _key(table, "authentication_key", 65)
    if authentication_key is not None and encryption_key is None:
        raise ConfigError(table.name("encryption_key"), "required with an authentication_key")
    if (
        encryption_key is not None
        and authentication_key is not None
        and encryption_key == authentication_key
    ):
        raise ConfigError(
            table.name("authentication_key"), "a different key than encryption_key (KeyType 65)"
        )
    timezone = _zone(table, "timezone")
    p1 = table.get("p1", bool, "true or false", False)
    resolution = _resolution(table.table("resolution"))
    ccc = _ccc(table.table("ccc")) if "ccc" in table.data else None
    optical = _optical(table.table("optical")) if "optical" in table.data else None
    if ccc is None and optical is None:
        raise ConfigError(table.key, "a [meters.ccc] port, a [meters.optical] port, or both")
    commands = _commands(table, optical)
    table.finish()
    return MeterConfig(
        name=name,
        ccc=ccc,
        serial=serial,
        encryption_key=encryption_key,
        authentication_key=authentication_key,
        timezone=timezone,
        resolution=resolution,
        p1=p1,
        optical=optical,
        commands=commands,
    )


def _commands(table: _Table, optical: OpticalPortConfig | None) -> frozenset[str]:
    """``commands = [...]``: the commands this meter accepts; they all run on the optical port."""
    expected = f"a list of command names from {', '.join(COMMAND_NAMES)}"
    names = table.get("commands", list, expected, [])
    if not all(isinstance(n, str) and n in COMMAND_NAMES for n in names):
        raise ConfigError(table.name("commands"), expected)
    if names and (optical is None or optical.protocol != "dlms"):
        raise ConfigError(
            table.name("commands"), "commands need a [meters.optical] port with protocol dlms"
        )
    if names and optical is not None and optical.password is None:
        raise ConfigError(
            table.name("commands"),
            "commands need the optical port's LLS password (the public association is read-only)",
        )
    return frozenset(names)


def _optical(table: _Table) -> OpticalPortConfig:
    port = table.get("port", str, 'a serial device such as "/dev/ttyUSB1"', None)
    tcp = table.get("tcp", str, '"host:port" of a ser2net-style socket', None)
    if (port is None) == (tcp is None):
        raise ConfigError(table.key, "exactly one of port or tcp")
    protocol = table.get("protocol", str, '"dlms" or "iec62056-21"', "dlms")
    if protocol not in ("dlms", "iec62056-21"):
        raise ConfigError(table.name("protocol"), '"dlms" or "iec62056-21"')
    password = table.get("password", str, "the LLS password (printable, 1-16 characters)", None)
    if password is not None and not (1 <= len(password) <= 16 and password.isprintable()):
        raise ConfigError(table.name("password"), "the LLS password (printable, 1-16 characters)")
    server = table.get("server_address", int, "the HDLC physical address, 16-16383", 32)
    if not 16 <= server <= 0x3FFF:
        raise ConfigError(table.name("server_address"), "the HDLC physical address, 16-16383")
    expected = '"optical" (client 19), "primary_module" (client 18) or "ccc" (client 20)'
    association = table.get("association", str, expected, "optical")
    if association not in ("optical", "primary_module", "ccc"):
        raise ConfigError(table.name("association"), expected)
    interval = table.get("poll_interval", (int, float), "seconds, 10-3600", 60)
    if not 10 <= interval <= 3600:
        raise ConfigError(table.name("poll_interval"), "seconds, 10-3600")
    load_profile = table.get("load_profile", bool, "true or false", True)
    table.finish()
    common: dict[str, Any] = {
        "protocol": protocol,
        "password": None if password is None else Secret(password),
        "server_address": server,
        "association": association,
        "poll_interval": float(interval),
        "load_profile": load_profile,
    }
    if tcp is not None:
        host, _, number = tcp.rpartition(":")
        if not host or not number.isdigit() or not 1 <= int(number) <= 65535:
            raise ConfigError(table.name("tcp"), '"host:port", e.g. "192.168.1.20:2002"')
        return OpticalPortConfig("tcp", host=host.strip("[]"), port=int(number), **common)
    assert port is not None
    return OpticalPortConfig("serial", path=port, **common)


def _ccc(table: _Table) -> CccPortConfig:
    port = table.get("port", str, 'a serial device such as "/dev/ttyUSB0"', None)
    tcp = table.get("tcp", str, '"host:port" of a ser2net-style socket', None)
    replay = table.get("replay", str, "a capture file (hex or raw)", None)
    chosen = [v for v in (port, tcp, replay) if v is not None]
    if len(chosen) != 1:
        raise ConfigError(table.key, "exactly one of port, tcp or replay")
    baudrate = table.get("baudrate", int, "a baud rate such as 2400", 2400)
    if baudrate not in (300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200):
        raise ConfigError(table.name("baudrate"), "a standard baud rate (the CCC runs at 2400)")
    parity = table.get("parity", str, '"N", "E" or "O"', "N")
    if parity not in ("N", "E", "O"):
        raise ConfigError(table.name("parity"), '"N", "E" or "O" (the CCC uses "N")')
    realtime = table.get("realtime", bool, "true or false", True)
    table.finish()
    if tcp is not None:
        host, _, number = tcp.rpartition(":")
        if not host or not number.isdigit() or not 1 <= int(number) <= 65535:
            raise ConfigError(table.name("tcp"), '"host:port", e.g. "192.168.1.20:2001"')
        return CccPortConfig("tcp", host=host.strip("[]"), port=int(number))
    if replay is not None:
        return CccPortConfig("replay", path=replay, baudrate=baudrate, realtime=realtime)
    assert port is not None
    return CccPortConfig("serial", path=port, baudrate=baudrate, parity=parity)


def _resolution(table: _Table) -> Resolution:
    def scaler(item: str, allowed: tuple[int, ...]) -> int | None:
        value: int | None = table.get(item, int, f"a decimal scaler, one of {allowed}", None)
        if value is not None and value not in allowed:
            raise ConfigError(table.name(item), f"a decimal scaler, one of {allowed}")
        return value

    def fixed(item: str, allowed: tuple[int, ...], default: int) -> int:
        value = scaler(item, allowed)
        return default if value is None else value

    resolution = Resolution(
        energy_scaler=scaler("energy_scaler", (-3, 0, 1, 2, 3)),
        voltage_scaler=fixed("voltage_scaler", (-2, -1, 0), 0),
        current_scaler=scaler("current_scaler", (-3, -2, -1, 0)),
        power_scaler=fixed("power_scaler", (-3, 0, 1, 3), 0),
        power_factor_scaler=fixed("power_factor_scaler", (-3, -2), -2),
        frequency_scaler=fixed("frequency_scaler", (-3, -2, -1), -2),
    )
    table.finish()
    return resolution


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
