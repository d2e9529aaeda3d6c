"""``[mqtt] endpoints``: the nodes of a clustered broker; the single ``host`` still works."""

from __future__ import annotations

from typing import Any

import pytest

from ccc_gateway.config import BrokerEndpoint, ConfigError, parse_config


def with_mqtt(**mqtt: Any) -> dict[str, Any]:
    return {"mqtt": mqtt, "meters": [{"ccc": {"port": "/dev/ttyUSB0"}}]}


def test_single_host_config_is_one_endpoint_with_a_persistent_session() -> None:
    mqtt = parse_config(with_mqtt(host="broker.lan", port=1884)).mqtt
    assert mqtt.brokers == (BrokerEndpoint("broker.lan", 1884),)
    assert mqtt.endpoints == ()
    assert not mqtt.clean_start
    assert mqtt.session_expiry == 3600
    assert mqtt.publish_timeout == 10.0


def test_endpoints_in_order_with_the_default_port_and_ipv6() -> None:
    mqtt = parse_config(
        with_mqtt(endpoints=["node1.lan", "node2.lan:1884", "[::1]:1885", "[fd00::2]"], tls=True)
    ).mqtt
    assert mqtt.brokers == (
        BrokerEndpoint("node1.lan", 8883),
        BrokerEndpoint("node2.lan", 1884),
        BrokerEndpoint("::1", 1885),
        BrokerEndpoint("fd00::2", 8883),
    )
    # Everything that reads host/port sees the preferred node.
    assert (mqtt.host, mqtt.port) == ("node1.lan", 8883)
    assert [str(e) for e in mqtt.brokers[2:]] == ["[::1]:1885", "[fd00::2]:8883"]


def test_clean_start_session_expiry_and_publish_timeout_are_settable() -> None:
    mqtt = parse_config(with_mqtt(clean_start=True, session_expiry=0, publish_timeout=3)).mqtt
    assert mqtt.clean_start
    assert mqtt.session_expiry == 0
    assert mqtt.publish_timeout == 3.0


@pytest.mark.parametrize(
    ("mqtt", "key", "expected"),
    [
        ({"endpoints": "a:1883"}, "mqtt.endpoints", "a list of"),
        ({"endpoints": []}, "mqtt.endpoints", "at least one"),
        ({"endpoints": [1883]}, "mqtt.endpoints[0]", "a list of"),
        ({"endpoints": ["a", "b:x"]}, "mqtt.endpoints[1]", "a list of"),
        ({"endpoints": ["a:70000"]}, "mqtt.endpoints[0]", "port number"),
        ({"endpoints": ["::1"]}, "mqtt.endpoints[0]", "[::1]"),
        ({"endpoints": ["a:1883", "a"]}, "mqtt.endpoints[1]", "listed twice"),
        ({"endpoints": ["a"], "host": "b"}, "mqtt.host", "leave it out"),
        ({"session_expiry": -1}, "mqtt.session_expiry", "seconds"),
        ({"session_expiry": 2**32}, "mqtt.session_expiry", "seconds"),
        ({"clean_start": "no"}, "mqtt.clean_start", "true or false"),
        ({"publish_timeout": 0.5}, "mqtt.publish_timeout", "seconds, 1-120"),
        ({"publish_timeout": "3"}, "mqtt.publish_timeout", "seconds, 1-120"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_endpoint_errors_name_the_key(mqtt: dict[str, Any], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(with_mqtt(**mqtt))
    assert caught.value.key == key
    assert expected in str(caught.value)
