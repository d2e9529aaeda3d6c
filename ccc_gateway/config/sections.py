"""One parser per section of ``gateway.toml``: ``[mqtt]``, ``[[meters]]`` and ``[commands]``.

Each takes a :class:`Table`, reads every key it knows, and calls ``finish()`` so that an unknown
key is an error: a misspelt ``encyption_key`` silently ignored would look like a wrong key on the
wire.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from ..demand.rules import SHIPPED_RULES, TariffRule
from ..protocol import Resolution, SecurityPolicy
from .demand import demand_rule_choice
from .models import (
    COMMAND_NAMES,
    DEFAULT_CLIENT_SYSTEM_TITLE,
    BrokerEndpoint,
    CccPortConfig,
    ConfigError,
    MeterConfig,
    MqttConfig,
    OpticalPortConfig,
    Secret,
)
from .table import Table, port_number, secret_key, zone

__all__ = ["commands_secret", "meter_section", "mqtt_section"]

_TOPIC_PART: Final = re.compile(r"^[A-Za-z0-9_/-]{1,64}$")
_SERIAL: Final = re.compile(r"^[0-9]{1,16}$")
#: ``host``, ``host:port``, ``[v6]`` or ``[v6]:port``; a bare IPv6 address has no port.
_ENDPOINT: Final = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^\s\[\]:/]+))(?::(?P<port>\d{1,5}))?$"
)
_ENDPOINT_FORM: Final = 'a list of "host" or "host:port" strings ("[::1]:1883" for IPv6)'
#: The MQTT 5 Session Expiry Interval is a four-byte integer.
_MAX_SESSION_EXPIRY: Final = 0xFFFFFFFF


def commands_secret(table: Table) -> Secret | None:
    """``[commands] secret``: when set, every command must carry a valid HMAC ``sig``."""
    secret = table.get("secret", str, "a shared secret of at least 16 characters", None)
    table.finish()
    if secret is None:
        return None
    if len(secret) < 16:
        raise ConfigError(table.name("secret"), "a shared secret of at least 16 characters")
    return Secret(secret)


def mqtt_section(table: Table, base_dir: Path) -> MqttConfig:
    protocol = table.get("protocol", str, '"3.1.1" or "5"', "5")
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
    host = table.get("host", str, "a host name or address", "localhost")
    port = port_number(table, "port", 8883 if tls else 1883)
    endpoints = _endpoints(table, port)
    if endpoints and "host" in table.data:
        raise ConfigError(table.name("host"), "leave it out when endpoints lists the brokers")
    if endpoints:
        host, port = endpoints[0].host, endpoints[0].port
    expiry_form = f"seconds, 0-{_MAX_SESSION_EXPIRY}"
    session_expiry = table.get("session_expiry", int, expiry_form, 3600)
    if not 0 <= session_expiry <= _MAX_SESSION_EXPIRY:
        raise ConfigError(table.name("session_expiry"), expiry_form)
    config = MqttConfig(
        host=host,
        port=port,
        endpoints=endpoints,
        clean_start=table.get("clean_start", bool, "true or false", False),
        session_expiry=session_expiry,
        publish_timeout=float(_number(table, "publish_timeout", 1, 120, 10.0, "seconds, 1-120")),
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


def _number(table: Table, item: str, low: float, high: float, default: float, form: str) -> float:
    value = table.get(item, (int, float), form, default)
    if not low <= value <= high:
        raise ConfigError(table.name(item), form)
    return float(value)


def _endpoints(table: Table, default_port: int) -> tuple[BrokerEndpoint, ...]:
    """``endpoints``: the nodes of a clustered broker, in the order they are tried."""
    raw = table.get("endpoints", list, _ENDPOINT_FORM, [])
    endpoints: list[BrokerEndpoint] = []
    for index, item in enumerate(raw):
        key = f"{table.name('endpoints')}[{index}]"
        match = _ENDPOINT.match(item) if isinstance(item, str) else None
        if match is None:
            if isinstance(item, str) and item.count(":") > 1 and "[" not in item:
                raise ConfigError(key, f"an IPv6 address in brackets, [{item}]")
            raise ConfigError(key, _ENDPOINT_FORM)
        port = default_port if match["port"] is None else int(match["port"])
        if not 1 <= port <= 65535:
            raise ConfigError(key, "a port number 1-65535 after the colon")
        endpoint = BrokerEndpoint(match["v6"] or match["host"], port)
        if endpoint in endpoints:
            raise ConfigError(key, f"{endpoint} is listed twice")
        endpoints.append(endpoint)
    if "endpoints" in table.data and not endpoints:
        raise ConfigError(table.name("endpoints"), _ENDPOINT_FORM + ", at least one")
    return tuple(endpoints)


def meter_section(
    table: Table, index: int, rules: Mapping[str, TariffRule] = SHIPPED_RULES
) -> MeterConfig:
    name = table.get("name", str, "a short name", f"meter{index + 1}")
    serial = table.get("serial", (str, int), "the meter's serial number (digits)", None)
    if serial is not None:
        serial = str(serial)
        if not _SERIAL.match(serial):
            raise ConfigError(table.name("serial"), "the meter's serial number (digits)")
    encryption_key = secret_key(table, "encryption_key", 64)
    authentication_key = secret_key(table, "authentication_key", 65)
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
    security = security_policy(table, encryption_key, authentication_key)
    timezone = zone(table, "timezone")
    p1 = table.get("p1", bool, "true or false", False)
    if p1 and encryption_key is not None:
        raise ConfigError(
            table.name("encryption_key"),
            "not with p1 = true: HAN P1 telegrams are never encrypted (remove the keys)",
        )
    resolution = resolution_section(table.table("resolution"))
    ccc = ccc_section(table.table("ccc")) if "ccc" in table.data else None
    optical = optical_section(table.table("optical")) if "optical" in table.data else None
    if ccc is None and optical is None:
        raise ConfigError(table.key, "a [meters.ccc] port, a [meters.optical] port, or both")
    commands = commands_list(table, optical)
    demand = demand_rule_choice(table, rules)
    table.finish()
    return MeterConfig(
        name=name,
        ccc=ccc,
        serial=serial,
        encryption_key=encryption_key,
        authentication_key=authentication_key,
        security=security,
        timezone=timezone,
        resolution=resolution,
        p1=p1,
        optical=optical,
        commands=commands,
        demand=demand,
    )


def security_policy(
    table: Table, encryption_key: Secret | None, authentication_key: Secret | None
) -> SecurityPolicy:
    """``security``: which ciphered pushes a keyed meter accepts (strict unless opted out).

    ``"authenticated"`` (default): only pushes whose GCM tag verified, which needs both keys.
    ``"encryption_only"``: also pushes with security control 0x20 (no tag), for a meter that
    really sends them; their values are not protected against changes on the wire. Plaintext
    is refused either way once keys are configured.
    """
    expected = '"authenticated" (default) or "encryption_only"'
    value = table.get("security", str, expected, SecurityPolicy.AUTHENTICATED.value)
    try:
        policy = SecurityPolicy(value)
    except ValueError:
        raise ConfigError(table.name("security"), expected) from None
    if policy is SecurityPolicy.ENCRYPTION_ONLY and encryption_key is None:
        raise ConfigError(
            table.name("encryption_key"), 'required with security = "encryption_only"'
        )
    if (
        policy is SecurityPolicy.AUTHENTICATED
        and encryption_key is not None
        and authentication_key is None
    ):
        raise ConfigError(
            table.name("authentication_key"),
            "32 hex digits (KeyType 65): authenticated pushes need it; for a meter that really "
            'sends encryption-only pushes (security control 0x20) set security = "encryption_only"',
        )
    return policy


def commands_list(table: Table, optical: OpticalPortConfig | None) -> frozenset[str]:
    """``commands = [...]``: the commands this meter accepts; they all run on the optical port."""
    expected = f"a list of command names from {', '.join(COMMAND_NAMES)}"
    names = table.get("commands", list, expected, [])
    if not all(isinstance(n, str) and n in COMMAND_NAMES for n in names):
        raise ConfigError(table.name("commands"), expected)
    if names and (optical is None or optical.protocol != "dlms"):
        raise ConfigError(
            table.name("commands"), "commands need a [meters.optical] port with protocol dlms"
        )
    if names and optical is not None and not optical.authenticated:
        raise ConfigError(
            table.name("commands"),
            "commands need the optical port's LLS password or HLS keys (the public association "
            "is read-only)",
        )
    return frozenset(names)


def optical_section(table: Table) -> OpticalPortConfig:
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
    encryption_key = secret_key(table, "encryption_key", 64)
    authentication_key = secret_key(table, "authentication_key", 65)
    if (encryption_key is None) != (authentication_key is None):
        missing = "authentication_key" if authentication_key is None else "encryption_key"
        raise ConfigError(table.name(missing), "HLS-GMAC needs both keys (Z28 = 1 meters)")
    if encryption_key is not None and password is not None:
        raise ConfigError(table.name("password"), "the LLS password or the HLS-GMAC keys, not both")
    if (
        encryption_key is not None
        and authentication_key is not None
        and encryption_key.reveal() == authentication_key.reveal()
    ):
        raise ConfigError(table.name("authentication_key"), "a different key than encryption_key")
    if encryption_key is not None and protocol != "dlms":
        raise ConfigError(table.name("encryption_key"), 'HLS-GMAC keys need protocol "dlms"')
    title_text = table.get("system_title", str, "16 hex digits (8 octets)", None)
    title = DEFAULT_CLIENT_SYSTEM_TITLE
    if title_text is not None:
        try:
            title = bytes.fromhex(title_text)
        except ValueError:
            title = b""
        if len(title) != 8:
            raise ConfigError(table.name("system_title"), "16 hex digits (8 octets)")
        if encryption_key is None:
            raise ConfigError(table.name("system_title"), "only with the HLS-GMAC keys")
    table.finish()
    common: dict[str, Any] = {
        "protocol": protocol,
        "password": None if password is None else Secret(password),
        "server_address": server,
        "association": association,
        "poll_interval": float(interval),
        "load_profile": load_profile,
        "encryption_key": encryption_key,
        "authentication_key": authentication_key,
        "system_title": title,
    }
    if tcp is not None:
        host, _, number = tcp.rpartition(":")
        if not host or not number.isdigit() or not 1 <= int(number) <= 65535:
            raise ConfigError(table.name("tcp"), '"host:port", e.g. "192.168.1.20:2002"')
        return OpticalPortConfig("tcp", host=host.strip("[]"), port=int(number), **common)
    assert port is not None
    return OpticalPortConfig("serial", path=port, **common)


def ccc_section(table: Table) -> CccPortConfig:
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
    expected = "[destination, source]: the HDLC addresses of the meter's pushes, 0-127 each"
    addresses = table.get("hdlc_addresses", list, expected, None)
    route: tuple[int, int] | None = None
    if addresses is not None:
        if len(addresses) != 2 or not all(
            isinstance(a, int) and not isinstance(a, bool) and 0 <= a <= 127 for a in addresses
        ):
            raise ConfigError(table.name("hdlc_addresses"), expected)
        route = (addresses[0], addresses[1])
    table.finish()
    if tcp is not None:
        host, _, number = tcp.rpartition(":")
        if not host or not number.isdigit() or not 1 <= int(number) <= 65535:
            raise ConfigError(table.name("tcp"), '"host:port", e.g. "192.168.1.20:2001"')
        return CccPortConfig("tcp", host=host.strip("[]"), port=int(number), hdlc_addresses=route)
    if replay is not None:
        return CccPortConfig(
            "replay", path=replay, baudrate=baudrate, realtime=realtime, hdlc_addresses=route
        )
    assert port is not None
    return CccPortConfig(
        "serial", path=port, baudrate=baudrate, parity=parity, hdlc_addresses=route
    )


def resolution_section(table: Table) -> Resolution:
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
