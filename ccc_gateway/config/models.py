"""The validated configuration as frozen values, and the two types every section shares.

Kept apart from the parsing so that the service, the ports and the tests can name a
``MeterConfig`` without importing the TOML validation that builds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal
from zoneinfo import ZoneInfo

from ..demand.rules import TariffRule
from ..protocol import HdlcAddress, Keys, Resolution, SecurityPolicy
from ..protocol.hdlc import HdlcRoute

#: Control byte of a push: an unnumbered-information frame with the final bit ([GB] 8.4).
UI_FINAL: Final = 0x13

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
]

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


class ConfigErrors(ConfigError):
    """Several tables of the file are wrong: every one is reported at once, so a person fixes the
    file in one pass instead of one error per run. ``key`` is the first; ``errors`` has all."""

    def __init__(self, errors: list[ConfigError]) -> None:
        ValueError.__init__(
            self, f"{len(errors)} errors:\n" + "\n".join(f"  {error}" for error in errors)
        )
        self.key = errors[0].key
        self.errors = errors


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
    #: The HDLC (destination, source) logical addresses of the meter's ciphered pushes; None:
    #: learned from the first push that passed every check.
    hdlc_addresses: tuple[int, int] | None = None

    @property
    def description(self) -> str:
        """How logs and the diagnostics topic name this port (no secrets in a port)."""
        if self.kind == "tcp":
            return f"tcp://{self.host}:{self.port}"
        if self.kind == "replay":
            return f"replay:{self.path}"
        return self.path


#: The gateway's own system title in HLS-GMAC sessions (8 octets: "OMG" and a serial, any
#: value the meter accepts; the meter learns it from the AARQ).
DEFAULT_CLIENT_SYSTEM_TITLE: Final = b"OMG\x00\x00\x00\x00\x01"


@dataclass(frozen=True, slots=True)
class OpticalPortConfig:
    """The optical head: DLMS/COSEM over HDLC (polling and commands) or an IEC 62056-21 readout.

    DLMS uses the optical association (client 19, LLS) when a password is set, else the public
    one (client 16, read-only: no commands). [DLMS] §2.4. A meter with local interface
    encryption (Z28 = 1) takes HLS-GMAC instead of the password: both keys set, the session
    authenticates with mechanism 5 and ciphers every request ([DLMS] HLS, [GB] 9.2.7.4), as
    ``system_title``.
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
    encryption_key: Secret | None = None  # HLS-GMAC (Z28 = 1): global unicast key
    authentication_key: Secret | None = None
    system_title: bytes = DEFAULT_CLIENT_SYSTEM_TITLE

    @property
    def hls(self) -> bool:
        """Whether sessions authenticate with HLS-GMAC (both keys given)."""
        return self.encryption_key is not None and self.authentication_key is not None

    def hls_keys(self) -> Keys | None:
        """The HLS-GMAC keys, for the one place that needs them (the session)."""
        if self.encryption_key is None or self.authentication_key is None:
            return None
        return Keys(
            bytes.fromhex(self.encryption_key.reveal()),
            bytes.fromhex(self.authentication_key.reveal()),
        )

    @property
    def authenticated(self) -> bool:
        """LLS or HLS: an association that may write (the public one only reads)."""
        return self.password is not None or self.hls

    @property
    def description(self) -> str:
        """How logs and the diagnostics topic name this port (never the password)."""
        where = f"tcp://{self.host}:{self.port}" if self.kind == "tcp" else self.path
        return f"{where} ({self.protocol})"

    @property
    def client_address(self) -> int:
        """The client SAP ([DLMS] §2.4): 19 optical, 18 primary module, 20 CCC module, all
        LLS (or HLS-GMAC with keys); 16 (public, read-only) without either."""
        if not self.authenticated:
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
    #: Which ciphered pushes are accepted; plaintext never is once keys are set.
    security: SecurityPolicy = SecurityPolicy.AUTHENTICATED
    timezone: ZoneInfo | None = None
    resolution: Resolution = field(default_factory=Resolution)
    p1: bool = False
    optical: OpticalPortConfig | None = None
    commands: frozenset[str] = frozenset()
    demand: TariffRule | None = None  # the capacity tariff to compute demand for, if any

    def hdlc_route(self) -> HdlcRoute | None:
        """The configured HDLC route of ciphered pushes (a UI frame: control 0x13), if any."""
        if self.ccc is None or self.ccc.hdlc_addresses is None:
            return None
        destination, source = self.ccc.hdlc_addresses
        return (HdlcAddress(destination), HdlcAddress(source), UI_FINAL)

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
class BrokerEndpoint:
    """One broker node's MQTT listener (``host:port``)."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """The broker connection. Only ``password`` is secret; TLS files are paths, not contents.

    ``host``/``port`` is the single broker of a home; ``endpoints``, when given, lists the
    nodes of a clustered broker in the order they are tried (``host``/``port`` is then the
    first of them). One login, TLS setting and session serve every node.
    """

    host: str = "localhost"
    port: int = 1883
    endpoints: tuple[BrokerEndpoint, ...] = ()
    #: Persistent sessions unless true: the broker keeps the command subscription and what
    #: arrives for it while the gateway is away or moving to another node.
    clean_start: bool = False
    #: MQTT 5 Session Expiry Interval of that session, in seconds.
    session_expiry: int = 3600
    #: Seconds a publication may wait for the broker's acknowledgement before the connection
    #: counts as broken and the next endpoint is tried (a cluster node can stop answering on
    #: an open socket while its queues fail over).
    publish_timeout: float = 10.0
    #: "5" by default; the publisher falls back to 3.1.1 only when the broker refuses 5.
    protocol: Literal["3.1.1", "5"] = "5"
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

    @property
    def brokers(self) -> tuple[BrokerEndpoint, ...]:
        """Every endpoint in the order tried: the list, or the single ``host``/``port``."""
        return self.endpoints or (BrokerEndpoint(self.host, self.port),)


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
