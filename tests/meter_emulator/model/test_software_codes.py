"""The software codes of ``model/software_codes.py``: validation that names the key, variant
rules, and what each code changes in the model and on the ports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ccc_gateway.protocol.dlms.link import LinkConnected
from ccc_gateway.protocol.dlms.link_client import ClientLink
from ccc_gateway.protocol.hdlc import HdlcAddress
from meter_emulator.cli import push_config
from meter_emulator.dlms.model_provider import ModelProvider
from meter_emulator.model import Meter, PhaseSupply, Supply, parse_config
from meter_emulator.model.config import ConfigError
from meter_emulator.model.source import ConstantLoad
from meter_emulator.model.status import EventStatus
from meter_emulator.ports.iec62056_21_meter import UserData
from meter_emulator.ports.iec62056_21_model import ModelOpticalMeter
from meter_emulator.ports.optical_head import optical_mux_for
from meter_emulator.ports.push_lists import PushList
from meter_emulator.session import control_handlers, meter_state

VARIANT_1 = "6861111BN142101040"
VARIANT_2 = "6861111BN242101040"
EK = "000102030405060708090A0B0C0D0E0F"
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"


def config(type_number: str = VARIANT_2, **tables: Any) -> Any:
    return parse_config({"meter": {"type_number": type_number}, **tables})


@pytest.mark.parametrize(
    ("tables", "key", "message"),
    [
        # Z28: 0 is variant 1's only value, 1 and 2 are variant 2's.
        (
            {"software": {"local_interface_encryption": 1}, "meter": {"type_number": VARIANT_1}},
            "software.local_interface_encryption",
            "needs variant 2",
        ),
        (
            {"software": {"local_interface_encryption": 0}},
            "software.local_interface_encryption",
            "needs variant 1",
        ),
        (
            {"software": {"local_interface_encryption": 3}},
            "software.local_interface_encryption",
            "Z28",
        ),
        (
            {"software": {"local_interface_encryption": 1}},
            "optical.encryption_key",
            "required with Z28 = 1",
        ),
        (
            {"software": {"local_interface_encryption": 1}, "optical": {"encryption_key": EK}},
            "optical.authentication_key",
            "required with Z28 = 1",
        ),
        (
            {"optical": {"encryption_key": EK, "authentication_key": AK}},
            "optical.encryption_key",
            "local_interface_encryption = 1",
        ),
        ({"optical": {"password": "x"}}, "optical.password", "unknown key"),
        ({"software": {"led": 3}}, "software.led", "Z2"),
        ({"software": {"pulse_output": 5}}, "software.pulse_output", "Z8"),
        ({"software": {"pulse_output": "30ms"}}, "software.pulse_output", "Z8"),
        ({"software": {"pulse_input_unit": 4}}, "software.pulse_input_unit", "Z12"),
        ({"software": {"frequency_code": 347}}, "software.frequency_code", "Z16"),
        ({"software": {"push_button_2": 1}}, "software.push_button_2", "Z17"),
        ({"software": {"iec1107": 1}}, "software.iec1107", "needs variant 1"),
        (
            {"software": {"iec1107": 3}, "meter": {"type_number": VARIANT_1}},
            "software.iec1107",
            "Z18",
        ),
        ({"software": {"alarm_configuration": 1}}, "software.alarm_configuration", "Z26"),
        (
            {"software": {"frequency_code": 348}, "push": {"list": "han_nve_list_1"}},
            "push.list",
            "Z16 348 (DK) sends dlms_push_1",
        ),
        (
            {"software": {"frequency_code": 326}, "push": {"list": "dlms_push_1"}},
            "push.list",
            "(SE) sends han_p1",
        ),
    ],
)
def test_bad_codes_name_the_key(tables: dict[str, Any], key: str, message: str) -> None:
    data: dict[str, Any] = {"meter": {"type_number": VARIANT_2}, **tables}
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert caught.value.key == key
    assert message in str(caught.value)


def test_z28_defaults_follow_the_variant() -> None:
    assert config(VARIANT_1).codes.local_interface_encryption == 0
    assert config(VARIANT_2).codes.local_interface_encryption == 2
    assert config().optical is None


def test_z28_enabled_keeps_the_optical_keys_redacted() -> None:
    meter = config(
        software={"local_interface_encryption": 1},
        optical={"encryption_key": EK, "authentication_key": AK},
    )
    assert meter.codes.optical_encrypted
    assert meter.optical is not None
    assert meter.optical.encryption_key == bytes.fromhex(EK)
    assert EK.lower() not in repr(meter.optical).lower()


START = datetime(2024, 6, 3, 10, 0, tzinfo=UTC)


def meter_with(
    software: dict[str, Any], *, type_number: str = VARIANT_2, load_w: float = 0.0
) -> Meter:
    supply = Supply(tuple(PhaseSupply(230.0, load_w, 0.0) for _ in range(1)))
    return Meter(config(type_number, software=software), start=START, source=ConstantLoad(supply))


@pytest.mark.parametrize(
    ("code", "push_list"),
    [
        (0, PushList.HAN_NVE_LIST_1),
        (318, PushList.DLMS_PUSH_1),
        (348, PushList.DLMS_PUSH_1),
        (338, PushList.HAN_NVE_LIST_1),
        (357, PushList.HAN_NVE_LIST_1),
    ],
)
def test_z16_picks_the_push_list_the_ccc_sends(code: int, push_list: PushList) -> None:
    meter = config(software={"frequency_code": code})
    assert push_config(meter).push_list is push_list


def test_z16_sweden_sends_the_han_p1_telegram() -> None:
    meter = config(software={"frequency_code": 328})
    assert meter.push.push_list == "han_p1"
    assert push_config(meter).han_p1 is not None
    # Norway allows list 2 alone too.
    alone = config(software={"frequency_code": 337}, push={"list": "han_nve_list_2"})
    assert alone.push.push_list == "han_nve_list_2"


SIGN_ON = b"/?!\r\n"


def test_z18_disabled_on_variant_2_the_optical_head_answers_dlms_only() -> None:
    meter = meter_with({})
    assert meter.config.codes.iec1107 == 0
    mux = optical_mux_for(meter)
    assert mux.receive_data(SIGN_ON, 0.0) == []
    assert mux.counts["noise_octets"] == len(SIGN_ON)
    client = ClientLink(client=16, server=HdlcAddress(1, 32, size=2))
    client.connect(1.0)
    answer = b"".join(t.data for t in mux.receive_data(client.data_to_send(), 1.0))
    assert any(isinstance(e, LinkConnected) for e in client.receive_data(answer, 1.0))


@pytest.mark.parametrize(
    ("code", "readout"), [(1, UserData.USER_DATA_1), (2, UserData.USER_DATA_2)]
)
def test_z18_on_variant_1_picks_the_readout(code: int, readout: UserData) -> None:
    meter = meter_with({"iec1107": code}, type_number=VARIANT_1)
    mux = optical_mux_for(meter)
    assert mux.iec62056_21.config.readout is readout
    answer = mux.receive_data(SIGN_ON, 0.0)
    assert b"".join(t.data for t in answer)  # the identification


def test_z12_names_the_pulse_inputs_unit_on_every_port() -> None:
    meter = meter_with({"pulse_input_unit": 2, "primary_module": 3})
    assert meter.add_input_pulses(12) == 12
    assert meter.readings()["82.8.1"] == (12, "m3")
    reading = ModelOpticalMeter(meter).read_register("82.8.1")
    assert reading is not None
    assert (reading.value, reading.unit) == (12, "m3")
    assert meter_state(meter)["readings"]["82.8.1"] == {"value": 12, "unit": "m3"}


def test_the_pulse_input_needs_a_module_with_one() -> None:
    meter = meter_with({"primary_module": 1})  # 4-tariff inputs: no pulse input
    with pytest.raises(ValueError, match="no pulse input"):
        meter.add_input_pulses(5)
    handlers = control_handlers(meter, None, None, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no pulse input"):
        handlers["pulses"]({"count": 5})


@pytest.mark.parametrize(("code", "pulse_ms", "max_w"), [(1, 30, 60_000), (4, 80, 22_500)])
def test_z8_sets_the_s0_pulse_length(code: int, pulse_ms: int, max_w: int) -> None:
    meter = meter_with({"pulse_output": code}, load_w=3600.0)
    meter.advance_to(START + timedelta(hours=1))
    s0 = meter.s0_output()
    assert (s0.pulse_ms, s0.max_power_w) == (pulse_ms, max_w)
    assert s0.rate_hz == pytest.approx(1.0)  # 3.6 kW at 1000 imp/kWh
    assert s0.pulses == meter.energy.wh("a_plus") == 3600
    assert meter_state(meter)["s0"]["pulse_ms"] == pulse_ms


@pytest.mark.parametrize(
    ("module", "z8", "closed", "alarm"),
    [
        (3, 2, True, True),
        (3, 1, True, False),
        (4, 2, False, True),
        (4, 2, True, False),
        (7, 4, True, True),
    ],
)
def test_z8_and_z3_set_the_alarm_input(module: int, z8: int, closed: bool, alarm: bool) -> None:
    meter = meter_with({"primary_module": module, "pulse_output": z8})
    assert meter.set_alarm_input(closed) is alarm
    assert bool(meter.event_status & EventStatus.ALARM_INPUT) is alarm
    event_status = ModelProvider(meter).value("event_status_a")
    assert event_status is not None
    assert bool(event_status.value & EventStatus.ALARM_INPUT) is alarm
    assert meter_state(meter)["alarm_input"] is alarm


def test_no_alarm_input_without_a_module_that_has_one() -> None:
    with pytest.raises(ValueError, match="no alarm input"):
        meter_with({"pulse_output": 2}).set_alarm_input(True)


@pytest.mark.parametrize(("code", "idle"), [(1, "off"), (2, "on")])
def test_z2_sets_the_led_without_consumption(code: int, idle: str) -> None:
    assert meter_with({"led": code}).led() == idle
    busy = meter_with({"led": code}, load_w=500.0)
    busy.advance_to(START + timedelta(minutes=1))
    assert busy.led() == "flashing"
    assert meter_state(busy)["led"] == "flashing"
