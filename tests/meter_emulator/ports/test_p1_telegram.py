"""The HAN P1 ASCII push option: telegrams our decoder reads back to the model's values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ccc_gateway.protocol import PushDecoder, PushReceived
from ccc_gateway.protocol.errors import FcsError, FrameTruncated
from ccc_gateway.protocol.push import ListKind
from meter_emulator.cli import push_config
from meter_emulator.model import Meter
from meter_emulator.model.clock import from_us
from meter_emulator.ports.ccc_push import CccPush, FaultNotApplicable
from meter_emulator.ports.faults import Fault
from meter_emulator.ports.p1_telegram import P1Resolution, build_telegram, crc16_arc
from meter_emulator.ports.push_schedule import DuePush, PushKind
from meter_emulator.scenarios import Household
from tests.meter_emulator.model.helpers import SINGLE, THREE, config
from tests.vectors import frame, vectors

VECTOR = "se_3ph_han_p1_telegram"
START = datetime(2024, 6, 21, 10, tzinfo=UTC)  # PV and load, summer time


def _han_p1_meter(type_number: str, **push: object) -> tuple[Meter, CccPush]:
    cfg = config(meter={"type_number": type_number}, push={"list": "han_p1", **push})
    m = Meter(cfg, start=START, source=Household(seed=3, phases=cfg.phases))
    return m, CccPush(push_config(cfg), next_invocation_counter=m.next_invocation_counter)


def _push(m: Meter, ccc: CccPush) -> bytes:
    """The telegram of the next 10 s slot, with the model advanced to it."""
    m.advance_to(from_us(m.now_us) + timedelta(seconds=10))
    trigger = m.meter_clock().replace(microsecond=0)
    return ccc.build(DuePush(PushKind.INTERVAL, trigger), m.push_snapshot())


def test_crc_check_value() -> None:
    assert crc16_arc(b"123456789") == 0xBB3D


def test_the_real_capture_is_rebuilt_byte_for_byte() -> None:
    """Fed the capture's values and time, the builder gives its exact bytes, CRC included."""
    snapshot: dict[str, int | str] = {}
    for code, entry in vectors()[VECTOR]["expected"].items():
        if code.startswith("1.0."):
            factor = 100 if entry["unit"] in ("V", "A") else 1000
            snapshot[code.replace("1.0.", "1.1.", 1)] = round(entry["value"] * factor)
    telegram = build_telegram(
        snapshot,
        clock=datetime(2024, 4, 7, 12, 28, 54),
        dst=True,
        resolution=P1Resolution(energy_scaler=0, voltage_scaler=-2, current_scaler=-2),
    )
    assert telegram == frame(VECTOR)


@pytest.mark.parametrize("type_number", [SINGLE, THREE])
def test_every_telegram_decodes_to_the_models_values(type_number: str) -> None:
    m, ccc = _han_p1_meter(type_number, energy_scaler=0, voltage_scaler=-2)
    decoder = PushDecoder(p1=True)
    for _ in range(30):
        telegram = _push(m, ccc)
        (event,) = decoder.receive_data(telegram)
        assert isinstance(event, PushReceived), event
        push = event.push
        assert push.list_kind is ListKind.HAN_P1
        assert push.list_version == "KAM5"
        assert push.phases == m.config.phases
        assert push.apdu_datetime is not None
        assert push.apdu_datetime.to_naive() == m.meter_clock().replace(microsecond=0)
        assert push.apdu_datetime.dst  # June
        r = {code: reading.value for code, reading in push.readings.items()}
        measured = m.measured
        assert r["1.0.1.8.0.255"] == m.energy.wh("a_plus") / 1000
        assert r["1.0.2.8.0.255"] == m.energy.wh("a_minus") / 1000
        assert r["1.0.3.8.0.255"] == m.energy.wh("r_plus") / 1000
        assert r["1.0.4.8.0.255"] == m.energy.wh("r_minus") / 1000
        assert r["1.0.1.7.0.255"] == max(round(measured.active_mw / 1e6, 3), 0)
        assert r["1.0.2.7.0.255"] == max(round(-measured.active_mw / 1e6, 3), 0)
        for index, phase in enumerate(measured.phases):
            p_plus, voltage, current = (21 + 20 * index, 32 + 20 * index, 31 + 20 * index)
            assert r[f"1.0.{p_plus}.7.0.255"] == max(round(phase.active_mw / 1e6, 3), 0)
            # one decimal in the telegram, from the snapshot's hundredths: within 0.05 + 0.005
            assert r[f"1.0.{voltage}.7.0.255"] == pytest.approx(phase.voltage_v, abs=0.0551)
            assert r[f"1.0.{current}.7.0.255"] == pytest.approx(phase.current_a, abs=0.0551)
        assert ("1.0.52.7.0.255" in r) == (m.config.phases == 3)


def test_energy_follows_the_configured_resolution() -> None:
    m, ccc = _han_p1_meter(SINGLE)  # display 7.2: energy at 10 Wh
    (event,) = PushDecoder(p1=True).receive_data(_push(m, ccc))
    assert isinstance(event, PushReceived)
    assert event.push.readings["1.0.1.8.0.255"].value == m.energy.wh("a_plus") // 10 / 100


def test_han_p1_pushes_every_ten_seconds_and_never_hourly() -> None:
    _m, ccc = _han_p1_meter(SINGLE)
    assert ccc.config.name == "han_p1"
    start = datetime(2024, 1, 1, 12, 59, 55)
    due = ccc.schedule().due(start, start + timedelta(seconds=60))
    assert {d.kind for d in due} == {PushKind.INTERVAL}


def test_a_bad_crc_is_rejected_as_an_fcs_error() -> None:
    m, ccc = _han_p1_meter(THREE)
    decoder = PushDecoder(p1=True)
    for _ in range(20):  # a different digit each time
        ccc.inject(Fault.BAD_FCS)
        (event,) = decoder.receive_data(_push(m, ccc))
        assert not isinstance(event, PushReceived)
        assert isinstance(event.error, FcsError)


def test_a_truncated_telegram_is_rejected_and_the_next_one_decodes() -> None:
    m, ccc = _han_p1_meter(THREE)
    decoder = PushDecoder(p1=True)
    for _ in range(20):
        ccc.inject(Fault.TRUNCATED)
        events = decoder.receive_data(_push(m, ccc) + _push(m, ccc))
        assert [type(e).__name__ for e in events] == ["FrameRejected", "PushReceived"]
        assert isinstance(events[0].error, FrameTruncated)


def test_garbage_before_a_telegram_is_skipped() -> None:
    m, ccc = _han_p1_meter(SINGLE)
    ccc.inject(Fault.GARBAGE)
    telegram = _push(m, ccc)
    assert not telegram.startswith(b"/")
    (event,) = PushDecoder(p1=True).receive_data(telegram)
    assert isinstance(event, PushReceived)


def test_a_wrong_parity_reader_never_gets_a_telegram() -> None:
    m, ccc = _han_p1_meter(SINGLE)
    ccc.inject(Fault.PARITY_8E1)
    events = PushDecoder(p1=True).receive_data(_push(m, ccc))
    assert not [e for e in events if isinstance(e, PushReceived)]


@pytest.mark.parametrize(
    "fault", [Fault.BAD_HCS, Fault.WRONG_KEY, Fault.CORRUPTED_TAG, Fault.REPLAYED_IC]
)
def test_faults_of_hdlc_or_ciphering_do_not_apply(fault: Fault) -> None:
    _m, ccc = _han_p1_meter(SINGLE)
    with pytest.raises(FaultNotApplicable):
        ccc.inject(fault)


def test_faults_at_a_rate_are_telegram_faults() -> None:
    m, ccc = _han_p1_meter(SINGLE)
    ccc.fault_rate = 1.0
    decoder = PushDecoder(p1=True)
    stream = b"".join(_push(m, ccc) for _ in range(40))
    events = decoder.receive_data(stream)
    assert all(
        not isinstance(e, PushReceived) or e.push.list_kind is ListKind.HAN_P1 for e in events
    )
    assert any(isinstance(e.error, FcsError) for e in events if not isinstance(e, PushReceived))
