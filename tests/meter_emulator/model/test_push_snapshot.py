"""A frame built from the model's snapshot decodes, with our decoder, to the model's values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ccc_gateway.protocol import decode_frame
from ccc_gateway.protocol.cipher import Keys
from ccc_gateway.protocol.push import Resolution
from meter_emulator.model import Meter, PhaseSupply, Supply
from meter_emulator.ports.ccc_frames import PushSecurity
from meter_emulator.ports.ccc_push import CccPush, CccPushConfig
from meter_emulator.ports.push_lists import AbsentObjects, PushList
from meter_emulator.ports.push_schedule import DuePush, PushKind
from meter_emulator.scenarios import Household

from .helpers import SINGLE, THREE, config

EK = bytes.fromhex("5AD84121D9D20B364B7A11F3C1B5827F")
AK = bytes.fromhex("AFB3F93E3E7204EDB3C27F96DBD51AE0")
START = datetime(2024, 6, 21, 8, tzinfo=UTC)  # a summer morning: PV, load, DST


def _meter(type_number: str, display_decimals: int = 3, voltage_scaler: int = 0) -> Meter:
    cfg = config(
        meter={"type_number": type_number},
        software={"display_decimals": display_decimals},
        push={"voltage_scaler": voltage_scaler},
    )
    m = Meter(cfg, start=START, source=Household(seed=7, phases=cfg.phases))
    m.advance_to(START + timedelta(hours=3, seconds=7))
    return m


CASES = [
    (type_number, push_list, absent, encrypted)
    for type_number in (SINGLE, THREE)
    for push_list in PushList
    for absent in AbsentObjects
    for encrypted in (False, True)
]


@pytest.mark.parametrize(("type_number", "push_list", "absent", "encrypted"), CASES)
def test_snapshot_frames_decode_to_the_models_values(
    type_number: str, push_list: PushList, absent: AbsentObjects, encrypted: bool
) -> None:
    m = _meter(type_number)
    security = PushSecurity(Keys(EK, AK), m.identity.system_title) if encrypted else None
    ccc = CccPush(
        CccPushConfig(push_list=push_list, absent=absent, security=security),
        next_invocation_counter=m.next_invocation_counter,
    )
    trigger = m.meter_clock().replace(second=0, microsecond=0)
    frame = ccc.build(DuePush(PushKind.INTERVAL, trigger), m.push_snapshot())
    scaler = m.config.energy_scaler
    trace: list[str] = []
    push = decode_frame(
        frame,
        # A meter with keys refuses plaintext pushes (issue 10): keys only when encrypted.
        encryption_key=EK if encrypted else None,
        authentication_key=AK if encrypted else None,
        resolution=Resolution(energy_scaler=scaler),
        trace=trace,
    )
    assert "FCS ok" in trace
    assert push.phases == m.config.phases
    assert push.apdu_datetime is not None
    assert push.apdu_datetime.to_naive() == trigger
    assert push.apdu_datetime.dst  # June
    if encrypted:
        assert push.system_title == m.identity.system_title
        assert push.invocation_counter == m.invocation_counter == 1
    r = push.readings
    measured = m.measured
    expected_w = max(round(measured.active_mw / 1000), 0)
    assert r["1.1.1.7.0.255"].value == expected_w
    assert r["1.1.32.7.0.255"].value == round(measured.phases[0].voltage_v)
    assert r["1.1.31.7.0.255"].value == pytest.approx(round(measured.phases[0].current_a, 2))
    if push_list is not PushList.HAN_NVE_LIST_1:
        assert r["1.1.1.8.0.255"].value == m.energy.wh("a_plus") // 10**scaler * 10**scaler
        assert r["1.1.2.8.0.255"].value == m.energy.wh("a_minus") // 10**scaler * 10**scaler
        assert r["1.1.3.8.0.255"].value == m.energy.wh("r_plus") // 10**scaler * 10**scaler
    if push_list is PushList.DLMS_PUSH_1:
        assert r["1.1.0.0.1.255"].value == m.identity.meter_number
        assert r["1.1.13.7.0.255"].value == pytest.approx(round(measured.power_factor, 2))
        assert r["1.1.21.8.0.255"].value == m.energy.wh("a_plus_l1") // 10**scaler * 10**scaler
    else:
        assert r["1.1.0.0.5.255"].value == m.identity.gs1
        assert r["1.1.96.1.1.255"].value == type_number


def test_ct_meter_currents_in_milliamperes() -> None:
    m = _meter("6851131BN243101040")
    snapshot = m.push_snapshot()
    frame = CccPush(
        CccPushConfig(push_list=PushList.HAN_NVE_LIST_1), next_invocation_counter=lambda: 1
    ).build(DuePush(PushKind.INTERVAL, m.meter_clock().replace(microsecond=0)), snapshot)
    push = decode_frame(frame)
    for code, phase in zip(("31", "51", "71"), m.measured.phases, strict=True):
        reading = push.readings[f"1.1.{code}.7.0.255"]
        assert reading.scaler == -3
        assert reading.value == pytest.approx(round(phase.current_a, 3))


def test_voltage_at_hundredths_and_energy_at_ten_wh() -> None:
    m = _meter(SINGLE, display_decimals=3, voltage_scaler=-2)
    snapshot = m.push_snapshot()
    assert snapshot["1.1.32.7.0.255"] == round(m.measured.phases[0].voltage_v * 100)
    assert snapshot["1.1.1.8.0.255"] == m.energy.wh("a_plus") // 10


def test_export_at_noon_shows_as_p23() -> None:
    cfg = config()
    supply = Supply((PhaseSupply(236.0, -2500.0, 0.0),))
    from meter_emulator.model import ConstantLoad

    m = Meter(cfg, start=START, source=ConstantLoad(supply))
    snapshot = m.push_snapshot()
    assert snapshot["1.1.1.7.0.255"] == 0
    assert snapshot["1.1.2.7.0.255"] == 2500
    assert snapshot["1.1.22.7.0.255"] == 2500
