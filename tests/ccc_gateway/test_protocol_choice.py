"""The protocol decision: 5 unless the broker cannot do it, and never back after 5 worked."""

from __future__ import annotations

from aiomqtt.exceptions import MqttConnectError, MqttError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from ccc_gateway.mqtt.protocol_choice import ProtocolChoice


def connack(code: int) -> MqttConnectError:
    return MqttConnectError(ReasonCode(PacketTypes.CONNACK, identifier=code))


def test_a_connack_refusing_5_falls_back_for_good() -> None:
    choice = ProtocolChoice("5")
    assert choice.failed(connack(0x84)) == (True, "refuses protocol 5")
    assert choice.current == "3.1.1"
    assert choice.connected() is None
    assert choice.failed(MqttError("gone")) == (False, None)
    assert choice.current == "3.1.1"


def test_an_mqtt_3_return_code_1_is_a_refusal_too() -> None:
    choice = ProtocolChoice("5")
    assert choice.failed(MqttConnectError(1))[0] is True
    assert choice.current == "3.1.1"


def test_bad_credentials_are_not_a_protocol_problem() -> None:
    choice = ProtocolChoice("5")
    assert choice.failed(connack(0x86)) == (False, None)  # bad user name or password
    assert choice.current == "5"


def test_a_broken_handshake_probes_3_1_1_and_falls_back_only_if_it_works() -> None:
    choice = ProtocolChoice("5")
    assert choice.failed(MqttError("Operation timed out")) == (True, None)
    assert choice.current == "3.1.1"
    assert choice.failed(MqttError("refused")) == (False, None)  # 3.1.1 failed too: away
    assert choice.current == "5"
    assert choice.failed(MqttError("Operation timed out")) == (True, None)
    assert choice.connected() == "does not complete an MQTT 5 handshake but accepts 3.1.1"
    assert choice.current == "3.1.1"


def test_once_5_worked_a_failure_is_an_outage_not_a_fallback() -> None:
    choice = ProtocolChoice("5")
    assert choice.connected() is None
    assert choice.failed(connack(0x84)) == (False, None)
    assert choice.failed(MqttError("Operation timed out")) == (False, None)
    assert choice.current == "5"


def test_a_configured_3_1_1_stays() -> None:
    choice = ProtocolChoice("3.1.1")
    assert choice.failed(connack(0x84)) == (False, None)
    assert choice.connected() is None
    assert choice.current == "3.1.1"
