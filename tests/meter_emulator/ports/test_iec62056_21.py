"""The emulator's IEC 62056-21 port, driven in memory with a hand-stepped clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccc_gateway.protocol.iec62056_21 import (
    Ack,
    Command,
    DataMessage,
    Identification,
    Message,
    Nak,
    OptionSelect,
    Request,
    encode,
    error_code,
    has_even_parity,
    parse_data_block,
)
from ccc_gateway.protocol.iec62056_21_reader import MessageReader, MessageRejected
from meter_emulator.ports.iec62056_21 import (
    Iec62056Server,
    OpticalConfig,
    ServerState,
    Timers,
    Transmit,
)
from meter_emulator.ports.iec62056_21_meter import (
    LoggerColumn,
    LoggerReadout,
    MemoryMeter,
    MeterTime,
    UserData,
    format_time,
    format_value,
    parse_time,
)

TIMERS = Timers()


def wire(message: Message) -> bytes:
    return encode(message, parity=True)


def replies(transmits: list[Transmit]) -> list[Message]:
    """Parse what the meter sent, checking parity and BCC on the way (as the HHU would)."""
    reader = MessageReader(parity=True)
    out: list[Message] = []
    for transmit in transmits:
        assert all(has_even_parity(octet) for octet in transmit.data)
        reader.receive_data(transmit.data)
        for item in reader.messages():
            assert not isinstance(item, MessageRejected), item
            out.append(item)
    assert not reader.pending
    return out


class Hhu:
    """A hand-held unit in memory: sends messages to the server at a chosen time."""

    def __init__(self, server: Iec62056Server) -> None:
        self.server = server
        self.now = 0.0
        self.last: list[Transmit] = []

    def send(self, message: Message | bytes, *, after: float = 0.1) -> list[Message]:
        self.now += after
        data = message if isinstance(message, bytes) else wire(message)
        self.last = self.server.receive_data(data, self.now)
        return replies(self.last)

    def wait(self, seconds: float) -> list[Message]:
        self.now += seconds
        self.last = self.server.poll(self.now)
        return replies(self.last)

    def state(self) -> ServerState:
        """A call, not an attribute, so mypy does not carry one assert's narrowing to the next."""
        return self.server.state

    def programming(self, password: str = "12345") -> None:
        assert isinstance(self.send(Request())[0], Identification)
        assert self.send(OptionSelect("0", "5", "1")) == [Command("P0", "()")]
        assert self.send(Command("P1", f"({password})")) == [Ack()]
        assert self.state() is ServerState.PROGRAMMING


@pytest.fixture
def meter() -> MemoryMeter:
    return MemoryMeter()


@pytest.fixture
def hhu(meter: MemoryMeter) -> Hhu:
    return Hhu(Iec62056Server(meter))


def test_sign_on_answers_the_identification_at_300_baud(hhu: Hhu) -> None:
    assert hhu.send(Request()) == [Identification("KAM", "5", " 6841131BN243101")]
    assert hhu.last[0].data == encode(Identification("KAM", "5", " 6841131BN243101"), parity=True)
    assert hhu.last[0].data[0] == 0xAF  # '/' with its parity bit
    assert hhu.last[0].baudrate == 300
    assert hhu.state() is ServerState.AWAITING_OPTION
    assert hhu.server.next_deadline() == pytest.approx(hhu.now + TIMERS.tt)


def test_addressed_sign_on_answers_only_this_meter(hhu: Hhu) -> None:
    assert hhu.send(Request("87654321")) == []
    assert hhu.state() is ServerState.IDLE
    assert hhu.send(Request("12345678")) != []


def test_mode_c_readout_switches_to_the_chosen_baud_and_back(hhu: Hhu) -> None:
    hhu.send(Request())
    (readout,) = hhu.send(OptionSelect("0", "5", "0"))
    assert hhu.last[0].baudrate == 9600
    assert isinstance(readout, DataMessage)
    assert not readout.partial
    assert readout.block.endswith("\r\n!\r\n")
    data_sets = {d.address: d for d in parse_data_block(readout.block)}
    assert list(data_sets)[:3] == ["0.0.1", "97.97.0", "1.8.0"]  # User data 2, default order
    assert list(data_sets)[-1] == "1.0.0"
    assert (data_sets["1.8.0"].value, data_sets["1.8.0"].unit) == ("0000586.12", "kWh")
    assert data_sets["3.8.0"].unit == "kvarh"
    assert [v.value for v in data_sets["1.6.0"].values] == ["00001.500", "01260110181500"]
    assert data_sets["1.0.0"].value == "01260115120000"
    assert (hhu.server.state, hhu.server.baudrate) == (ServerState.IDLE, 300)


def test_user_data_1_is_the_fixed_list(meter: MemoryMeter) -> None:
    hhu = Hhu(Iec62056Server(meter, OpticalConfig(readout=UserData.USER_DATA_1)))
    hhu.send(Request())
    (readout,) = hhu.send(OptionSelect("0", "5", "0"))
    assert isinstance(readout, DataMessage)
    assert [d.address for d in parse_data_block(readout.block)] == [
        *("0.0.1", "1.8.0", "1.8.1", "1.8.2", "1.8.3", "1.8.4", "96.8.0", "0.128.1", "1.6.0"),
    ]


@pytest.mark.parametrize(("char", "rate"), [("0", 300), ("3", 2400), ("5", 9600), ("6", 300)])
def test_the_meter_follows_the_hhu_up_to_its_maximum(hhu: Hhu, char: str, rate: int) -> None:
    hhu.send(Request())
    hhu.send(OptionSelect("0", char, "0"))
    assert hhu.last[0].baudrate == rate


def test_mode_a_readout_after_tt_at_the_initial_baud(hhu: Hhu) -> None:
    hhu.send(Request())
    assert hhu.wait(TIMERS.tt - 0.01) == []
    (readout,) = hhu.wait(0.02)
    assert isinstance(readout, DataMessage)
    assert hhu.last[0].baudrate == 300
    assert hhu.state() is ServerState.IDLE
    assert hhu.server.next_deadline() is None


def test_an_initial_baud_of_9600_is_kept_for_the_identification(meter: MemoryMeter) -> None:
    hhu = Hhu(Iec62056Server(meter, OpticalConfig(initial_baudrate=9600)))
    hhu.send(Request())
    assert hhu.last[0].baudrate == 9600


@pytest.mark.parametrize(
    "option", [OptionSelect("2", "5", "2"), OptionSelect("0", "5", "6"), Nak()]
)
def test_other_options_end_the_dialogue_silently(hhu: Hhu, option: Message) -> None:
    hhu.send(Request())
    assert hhu.send(option) == []
    assert hhu.state() is ServerState.IDLE


def test_programming_mode_reads_writes_and_breaks(hhu: Hhu, meter: MemoryMeter) -> None:
    hhu.programming()
    assert hhu.last[0].baudrate == 9600
    assert hhu.send(Command("R1", "1.8.0()")) == [DataMessage("1.8.0(0000586.12*kWh)")]
    assert hhu.send(Command("R1", "0.0.1()")) == [DataMessage("0.0.1(12345678)")]
    assert hhu.send(Command("R5", "1.0.0()")) == [DataMessage("1.0.0(01260115120000)")]
    assert hhu.send(Command("W5", "1.0.0(1260701083000)")) == [Ack()]
    assert meter.time == MeterTime(datetime(2026, 7, 1, 8, 30), summer_time=True)
    assert hhu.send(Command("W1", "129.0.0(2)")) == [Ack()]
    assert meter.registers["129.0.0"].value == 2
    assert hhu.send(Command("W1", "1.0.0(0260102030405)")) == [Ack()]
    assert meter.time.local == datetime(2026, 1, 2, 3, 4, 5)
    assert hhu.send(Command("B0")) == []
    assert (hhu.server.state, hhu.server.baudrate) == (ServerState.IDLE, 300)
    assert hhu.send(Command("R1", "1.8.0()")) == []  # signed off: nothing answers


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (Command("E2", "1.8.0()"), "ER01"),
        (Command("R2", "1.8.0()"), "ER01"),
        (Command("R1", "9.9.9()"), "ER02"),
        (Command("R5", "1.8.0()"), "ER02"),
        (Command("W1", "1.8.0(5)"), "ER03"),
        (Command("W1", "9.9.9(5)"), "ER02"),
        (Command("W1", "129.0.0(two)"), "ER04"),
        (Command("W5", "1.0.0(2026)"), "ER04"),
        (Command("W5", "1.8.0(1260701083000)"), "ER03"),
        (Command("R1", "no brackets"), "ER04"),
        (Command("R6", "99.1.0(x)"), "ER04"),
        (Command("R6", "99.2.0(;;)"), "ER02"),
    ],
    ids=lambda v: v if isinstance(v, str) else f"{v.command}-{v.data}",
)
def test_refused_commands_answer_an_error(
    hhu: Hhu, meter: MemoryMeter, command: Command, code: str
) -> None:
    before = dict(meter.registers), meter.time
    hhu.programming()
    (reply,) = hhu.send(command)
    assert isinstance(reply, DataMessage)
    assert error_code(reply) == code
    assert (dict(meter.registers), meter.time) == before
    assert hhu.state() is ServerState.PROGRAMMING


def test_a_wrong_password_sends_a_break_and_locks_nothing_open(
    hhu: Hhu, meter: MemoryMeter
) -> None:
    hhu.send(Request())
    hhu.send(OptionSelect("0", "5", "1"))
    assert hhu.send(Command("P1", "(54321)")) == [Command("B0")]
    assert (hhu.server.state, hhu.server.baudrate) == (ServerState.IDLE, 300)
    assert hhu.send(Command("W1", "129.0.0(3)")) == []
    assert meter.registers["129.0.0"].value == 1
    assert hhu.server.errors["wrong_password"] == 1


def test_commands_before_the_password_are_refused(hhu: Hhu) -> None:
    hhu.send(Request())
    hhu.send(OptionSelect("0", "5", "1"))
    (reply,) = hhu.send(Command("R1", "1.8.0()"))
    assert isinstance(reply, DataMessage)
    assert error_code(reply) == "ER05"
    assert hhu.state() is ServerState.AWAITING_PASSWORD


def test_bad_bcc_and_parity_are_answered_nak_and_nak_repeats(hhu: Hhu) -> None:
    hhu.programming()
    good = wire(Command("R1", "1.8.0()"))
    assert hhu.send(good[:-1] + bytes([good[-1] ^ 0x81])) == [Nak()]  # BCC off, parity kept
    assert hhu.send(bytes([good[0], good[1] ^ 0x80]) + good[2:]) == [Nak()]  # parity off
    assert hhu.server.errors["bcc_error"] == 1
    assert hhu.server.errors["parity_error"] == 1
    first = hhu.send(good)
    assert first == [DataMessage("1.8.0(0000586.12*kWh)")]
    assert hhu.send(Nak()) == first


def test_a_bad_bcc_before_programming_is_ignored(hhu: Hhu) -> None:
    request = wire(Request())
    assert hhu.send(bytes([request[0] ^ 0x80]) + request[1:]) == []
    assert hhu.state() is ServerState.IDLE


def _logger_meter(rows: int) -> MemoryMeter:
    columns = (
        LoggerColumn("1.0.0"),
        LoggerColumn("96.56.2"),
        LoggerColumn("96.56.3"),
        LoggerColumn("1.8.0", "kWh"),
    )
    table = LoggerReadout(
        columns,
        tuple(
            (MeterTime(datetime(2026, 1, 1) + timedelta(hours=h)), 0, 0, Decimal("586.12") + h)
            for h in range(rows)
        ),
    )
    return MemoryMeter(loggers={"99.1.0": table})


def test_logger_readout_in_partial_blocks() -> None:
    hhu = Hhu(Iec62056Server(_logger_meter(23)))
    hhu.programming()
    (first,) = hhu.send(Command("R6", "99.1.0(;;10)"))
    assert isinstance(first, DataMessage)
    assert first.partial
    lines = first.block.split("\r\n")
    assert lines[0] == "99.1.0(4)(1.0.0)()(96.56.2)()(96.56.3)()(1.8.0)(kWh)"
    assert lines[1] == "(01260101000000)(0)(0)(0000586.12)"
    assert len(lines) == 12  # header, 10 rows, and the empty tail after the last CR LF
    assert hhu.state() is ServerState.SENDING_LOGGER
    (second,) = hhu.send(Ack())
    assert isinstance(second, DataMessage)
    assert second.partial
    assert second.block.startswith("(01260101100000)")
    (last,) = hhu.send(Ack())
    assert isinstance(last, DataMessage)
    assert not last.partial
    assert last.block.count("\r\n") == 3
    assert hhu.state() is ServerState.PROGRAMMING


def test_logger_range_and_a_nak_in_the_middle() -> None:
    hhu = Hhu(Iec62056Server(_logger_meter(23)))
    hhu.programming()
    (first,) = hhu.send(Command("R6", "99.1.0(2601010500;2601010600;1)"))
    assert isinstance(first, DataMessage)
    assert first.partial
    assert first.block.split("\r\n")[1] == "(01260101050000)(0)(0)(0000591.12)"
    assert hhu.send(Nak()) == [first]
    assert hhu.send(Ack()) == [DataMessage("(01260101060000)(0)(0)(0000592.12)\r\n")]


def test_logger_block_not_acknowledged_within_tr_ends_the_readout() -> None:
    hhu = Hhu(Iec62056Server(_logger_meter(30)))
    hhu.programming()
    hhu.send(Command("R6", "99.1.0(;;10)"))
    assert hhu.wait(TIMERS.tr + 0.01) == []
    assert hhu.state() is ServerState.PROGRAMMING
    assert hhu.server.errors["logger_not_acknowledged"] == 1
    assert hhu.send(Ack()) == []  # a late ACK asks for nothing
    assert hhu.send(Command("R1", "0.0.1()")) == [DataMessage("0.0.1(12345678)")]


def test_inactivity_ends_programming_mode(hhu: Hhu) -> None:
    hhu.programming()
    assert hhu.wait(TIMERS.ti - 1) == []
    assert hhu.send(Command("R1", "0.0.1()"), after=0.5) != []  # a command restarts Ti
    hhu.wait(TIMERS.ti + 0.01)
    assert (hhu.server.state, hhu.server.baudrate) == (ServerState.IDLE, 300)
    assert hhu.send(Command("R1", "0.0.1()")) == []


def test_characters_further_apart_than_ta_are_dropped(hhu: Hhu) -> None:
    start, end = wire(Request())[:2], wire(Request())[2:]
    assert hhu.send(start) == []
    assert hhu.server.next_deadline() == pytest.approx(hhu.now + TIMERS.ta)
    assert hhu.send(end, after=TIMERS.ta + 0.01) == []
    assert hhu.server.errors["message_truncated"] == 1
    assert hhu.send(start, after=0.1) == []
    assert hhu.send(end, after=TIMERS.ta - 0.01) != []


def test_a_sign_on_restarts_any_dialogue(hhu: Hhu) -> None:
    hhu.programming()
    assert isinstance(hhu.send(Request())[0], Identification)
    assert hhu.state() is ServerState.AWAITING_OPTION
    assert hhu.last[0].baudrate == 300


# --- property: every input ends in a valid state, and every output is a valid message ----------

_SESSION = (
    wire(Request())
    + wire(OptionSelect("0", "5", "1"))
    + wire(Command("P1", "(12345)"))
    + wire(Command("R6", "99.1.0(;;2)"))
    + wire(Ack())
    + wire(Command("W1", "129.0.0(3)"))
    + wire(Command("B0"))
)


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(
            st.binary(max_size=40) | st.sampled_from([_SESSION[i:] for i in range(0, 60, 7)]),
            st.floats(0, 120, allow_nan=False),
        ),
        max_size=12,
    ),
    st.lists(st.tuples(st.integers(0, len(_SESSION) - 1), st.integers(0, 255)), max_size=4),
)
def test_random_and_mutated_input_never_breaks_the_server(
    chunks: list[tuple[bytes, float]], mutations: list[tuple[int, int]]
) -> None:
    session = bytearray(_SESSION)
    for pos, value in mutations:
        session[pos] = value
    server = Iec62056Server(_logger_meter(5))
    now = 0.0
    for data, step in [(bytes(session), 0.1), *chunks]:
        now += step
        out = server.receive_data(data, now) + server.poll(now + 0.05)
        replies(out)  # parity and BCC correct on every message the meter sends
        for transmit in out:
            assert transmit.baudrate in (300, 600, 1200, 2400, 4800, 9600)
        assert isinstance(server.state, ServerState)
    deadline = server.next_deadline()
    assert deadline is None or deadline >= now


def test_an_empty_logger_range_is_the_header_alone() -> None:
    hhu = Hhu(Iec62056Server(_logger_meter(3)))
    hhu.programming()
    (only,) = hhu.send(Command("R6", "99.1.0(2701010000;2701020000;)"))
    assert only == DataMessage("99.1.0(4)(1.0.0)()(96.56.2)()(96.56.3)()(1.8.0)(kWh)\r\n")


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
        lambda t: t.replace(microsecond=0)
    ),
    st.booleans(),
    st.booleans(),
)
def test_meter_time_round_trips(local: datetime, summer_time: bool, valid: bool) -> None:
    time = MeterTime(local, summer_time, valid)
    assert parse_time(format_time(time)) == time


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (Decimal("586.12"), "kWh", "0000586.12"),
        (Decimal("1.5"), "kW", "00001.500"),
        (Decimal("230.1"), "V", "230.1"),
        (49, None, "49"),
        ("12345678", None, "12345678"),
    ],
)
def test_lcd_format(value: Decimal | int | str, unit: str | None, text: str) -> None:
    assert format_value(value, unit) == text


def test_d0_sends_the_readout_unasked_while_idle(meter: MemoryMeter) -> None:
    hhu = Hhu(Iec62056Server(meter, OpticalConfig(d0_interval=10.0)))
    assert hhu.wait(0) == []  # the first period starts now
    assert hhu.server.next_deadline() == pytest.approx(10.0)
    assert hhu.wait(9.9) == []
    ident, readout = hhu.wait(0.1)
    assert ident == Identification("KAM", "5", " 6841131BN243101")
    assert isinstance(readout, DataMessage)
    assert [t.baudrate for t in hhu.last] == [2400, 2400]
    assert (hhu.server.state, hhu.server.baudrate) == (ServerState.IDLE, 300)
    hhu.programming()  # a dialogue under way: the next period is skipped
    assert hhu.wait(10.0) == []
    assert hhu.state() is ServerState.PROGRAMMING


def test_d0_is_off_by_default(hhu: Hhu) -> None:
    assert hhu.wait(0) == []
    assert hhu.server.next_deadline() is None
