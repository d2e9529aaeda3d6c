"""The IEC 62056-21 readout client, against the emulator's server in memory and bad bytes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccc_gateway.optical.iec62056_21_client import (
    BaudrateChanged,
    ClientEvent,
    ClientState,
    Iec62056Client,
    MeterErrorReply,
    Readout,
    ReadoutReceived,
    ReadoutTimeout,
    ReadoutValue,
    Transmit,
)
from ccc_gateway.protocol.errors import LocalProtocolError, RemoteProtocolError
from ccc_gateway.protocol.iec62056_21 import (
    BccError,
    DataMessage,
    Identification,
    MalformedMessage,
    MessageTruncated,
    OptionSelect,
    ParityError,
    Request,
    UnexpectedMessage,
    encode,
)
from meter_emulator.ports.iec62056_21 import Iec62056Server, OpticalConfig, Timers
from meter_emulator.ports.iec62056_21_meter import MemoryMeter, UserData, data_set


class Pair:
    """Client and emulated meter joined in memory; every octet crosses at the time given."""

    def __init__(self, client: Iec62056Client, server: Iec62056Server) -> None:
        self.client = client
        self.server = server
        self.now = 0.0
        self.client_rates: list[int] = []
        self.rate = client.baudrate
        self.meter_rates: list[int] = []

    def readout(self) -> Readout:
        pending = self.client.start(self.now)
        for _ in range(20):
            to_meter, result = self._client_events(pending)
            self.now += 0.2
            from_meter = b""
            for transmit in self.server.receive_data(to_meter, self.now):
                self.meter_rates.append(transmit.baudrate)
                from_meter += transmit.data
            if result is not None:
                return result
            if not from_meter:
                self.now += 1.0
                for transmit in self.server.poll(self.now):
                    self.meter_rates.append(transmit.baudrate)
                    from_meter += transmit.data
            pending = self.client.receive_data(from_meter, self.now)
        raise AssertionError("no readout")

    def _client_events(self, events: list[ClientEvent]) -> tuple[bytes, Readout | None]:
        data = b""
        result = None
        for event in events:
            match event:
                case Transmit(octets, rate):
                    assert rate == self.rate
                    data += octets
                case BaudrateChanged(rate):
                    self.client_rates.append(rate)
                    self.rate = rate
                case ReadoutReceived(readout):
                    result = readout
        return data, result


def test_mode_c_readout_of_user_data_1_at_9600() -> None:
    meter = MemoryMeter()
    pair = Pair(
        Iec62056Client(), Iec62056Server(meter, OpticalConfig(readout=UserData.USER_DATA_1))
    )
    readout = pair.readout()
    assert readout.identification == Identification("KAM", "5", " 6841131BN243101")
    assert readout.baudrate == 9600
    assert pair.client_rates == [9600, 300]  # switch for the readout, back for the next sign-on
    assert pair.meter_rates == [300, 9600]
    assert readout.values[:2] == (
        ReadoutValue("0.0.1", "12345678", None),
        ReadoutValue("1.8.0", "0000586.12", "kWh"),
    )
    assert readout.values[1].number == Decimal("586.12")
    assert readout.values[0].number == Decimal(12345678)
    expected = [data_set(r) for r in meter.readout(UserData.USER_DATA_1)]
    assert list(readout.data_sets) == expected
    assert pair.client.state is ClientState.DONE
    assert pair.client.next_deadline() is None


def test_the_client_caps_the_rate_and_reads_again() -> None:
    pair = Pair(Iec62056Client(max_baudrate=2400), Iec62056Server(MemoryMeter()))
    first = pair.readout()
    assert first.baudrate == 2400
    second = pair.readout()
    assert second.data_sets == first.data_sets
    assert pair.meter_rates == [300, 2400, 300, 2400]


def test_mode_a_meter_is_read_at_the_initial_rate() -> None:
    client = Iec62056Client()
    client.start(0.0)
    assert client.receive_data(encode(Identification("ABC", "A", "meter"), parity=True), 0.1) == []
    events = client.receive_data(encode(DataMessage("1.8.0(1*kWh)\r\n!\r\n"), parity=True), 1.9)
    (received,) = events
    assert isinstance(received, ReadoutReceived)
    assert received.readout.baudrate == 300
    assert received.readout.values == (ReadoutValue("1.8.0", "1", "kWh"),)


def test_addressed_sign_on_and_echoes_are_ignored() -> None:
    client = Iec62056Client(address="12345678")
    (sign_on,) = client.start(0.0)
    assert isinstance(sign_on, Transmit)
    assert sign_on.data == encode(Request("12345678"), parity=True)
    # A half-duplex head hears its own sign-on first.
    assert client.receive_data(sign_on.data, 0.05) == []
    events = client.receive_data(encode(Identification("KAM", "5", " x"), parity=True), 0.3)
    assert events[0] == Transmit(encode(OptionSelect("0", "5", "0"), parity=True), 300)
    assert events[1] == BaudrateChanged(9600)


def _identified(client: Iec62056Client) -> float:
    client.start(0.0)
    client.receive_data(encode(Identification("KAM", "5", " x"), parity=True), 0.2)
    return 0.4


def test_a_bad_bcc_is_raised_and_the_client_stops() -> None:
    client = Iec62056Client()
    now = _identified(client)
    good = encode(DataMessage("1.8.0(1*kWh)\r\n!\r\n"), parity=True)
    with pytest.raises(BccError):
        client.receive_data(good[:-1] + bytes([good[-1] ^ 0x81]), now)
    assert client.state is ClientState.ERROR
    assert client.receive_data(good, now + 0.1) == []  # a failed readout takes nothing more
    assert client.next_deadline() is None


def test_a_parity_error_is_raised() -> None:
    client = Iec62056Client()
    now = _identified(client)
    bad = bytearray(encode(DataMessage("1.8.0(1*kWh)\r\n!\r\n"), parity=True))
    bad[3] ^= 0x80
    with pytest.raises(ParityError):
        client.receive_data(bytes(bad), now)


def test_an_error_reply_is_named() -> None:
    client = Iec62056Client()
    now = _identified(client)
    with pytest.raises(MeterErrorReply, match="ER02"):
        client.receive_data(encode(DataMessage("(ER02)"), parity=True), now)


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (DataMessage("1.8.0(1*kWh)\r\n", partial=True), UnexpectedMessage),
        (Identification("KAM", "5", " again"), UnexpectedMessage),
        (DataMessage("1.8.0 garbage\r\n!\r\n"), MalformedMessage),
    ],
    ids=["partial-block", "second-identification", "malformed-data-set"],
)
def test_wrong_replies_to_the_option_select(
    message: DataMessage | Identification, error: type[Exception]
) -> None:
    client = Iec62056Client()
    now = _identified(client)
    with pytest.raises(error):
        client.receive_data(encode(message, parity=True), now)
    assert client.state is ClientState.ERROR


def test_a_data_message_instead_of_the_identification_is_unexpected() -> None:
    client = Iec62056Client()
    client.start(0.0)
    with pytest.raises(UnexpectedMessage):
        client.receive_data(encode(DataMessage("(ER01)"), parity=True), 0.2)


def test_a_silent_meter_times_out() -> None:
    client = Iec62056Client(response_timeout=3.0)
    client.start(10.0)
    assert client.next_deadline() == 13.0
    assert client.poll(12.9) == []
    with pytest.raises(ReadoutTimeout, match="identification"):
        client.poll(13.0)


def test_a_readout_that_stops_midway_is_truncated() -> None:
    client = Iec62056Client(character_timeout=1.5)
    now = _identified(client)
    client.receive_data(encode(DataMessage("1.8.0(1*kWh)\r\n!\r\n"), parity=True)[:8], now)
    assert client.next_deadline() == pytest.approx(now + 1.5)
    with pytest.raises(MessageTruncated):
        client.poll(now + 1.5)


def test_a_meter_that_ignores_the_address_times_out_in_memory() -> None:
    pair = Pair(Iec62056Client(address="99999999"), Iec62056Server(MemoryMeter()))
    with pytest.raises(ReadoutTimeout):
        pair.readout()


def test_a_meter_without_parity_fails_on_the_first_odd_character() -> None:
    server = Iec62056Server(MemoryMeter(), OpticalConfig(parity=False, timers=Timers()))
    with pytest.raises(ParityError):
        Pair(Iec62056Client(), server).readout()


def test_only_mode_c_rates_can_be_asked_for() -> None:
    with pytest.raises(LocalProtocolError):
        Iec62056Client(max_baudrate=115200)


_METER_REPLY = encode(Identification("KAM", "5", " 6841131BN243101"), parity=True) + encode(
    DataMessage("0.0.1(12345678)\r\n1.8.0(0000586.12*kWh)\r\n!\r\n"), parity=True
)


@settings(max_examples=300)
@given(
    st.lists(st.binary(max_size=30) | st.just(_METER_REPLY), max_size=6),
    st.lists(st.tuples(st.integers(0, len(_METER_REPLY) - 1), st.integers(0, 255)), max_size=3),
    st.floats(0, 5, allow_nan=False),
)
def test_any_reply_gives_events_or_a_named_remote_error(
    chunks: list[bytes], mutations: list[tuple[int, int]], step: float
) -> None:
    """h11's fuzz rule for the client: garbage parses or raises RemoteProtocolError, never else."""
    reply = bytearray(_METER_REPLY)
    for pos, value in mutations:
        reply[pos] = value
    client = Iec62056Client()
    client.start(0.0)
    now = 0.0
    try:
        for chunk in [bytes(reply), *chunks]:
            now += step
            client.receive_data(chunk, now)
        client.poll(now + 10)
    except RemoteProtocolError:
        assert client.state is ClientState.ERROR
    else:
        assert client.state is ClientState.DONE
