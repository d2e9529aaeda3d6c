"""Pushes the gateway really produces: the emulated meter's CCC frames, decoded by the gateway.

A three-phase household (noisy load and grid, the emulator's ``household`` scenario on a 10 s
grid) pushes DLMS push 1 every 10 s; each frame goes through the gateway's own decoder and
payload builders, so the ``power`` and ``energy`` payloads are byte-for-byte what it publishes.
Used by the state-write test and the push-cost benchmark.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ccc_gateway.mqtt.payloads import energy_payload, meter_time, power_payload
from ccc_gateway.protocol import decode_frame
from meter_emulator.cli import push_config
from meter_emulator.model import Meter
from meter_emulator.model import parse_config as parse_meter_config
from meter_emulator.ports.ccc_push import CccPush
from meter_emulator.scenarios.household import Household

SERIAL = "57000001"
ZONE = ZoneInfo("Europe/Copenhagen")
START = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class GatewayPush:
    """The two messages one push becomes."""

    power: dict[str, Any]
    energy: dict[str, Any]


def gateway_pushes(count: int, *, seed: int = 1) -> Iterator[GatewayPush]:
    """*count* consecutive pushes, 10 s apart, as the gateway publishes them."""
    config = parse_meter_config(
        {
            "meter": {"type_number": "6841131BN243101040", "serial": int(SERIAL)},
            "push": {"list": "dlms_push_1"},
        }
    )
    meter = Meter(config, start=START, source=Household(seed=seed, phases=3, step_s=10))
    ccc = CccPush(push_config(config), next_invocation_counter=meter.next_invocation_counter)
    previous = meter.meter_clock()
    moment = START
    produced = 0
    while produced < count:
        moment += timedelta(seconds=10)
        meter_now = meter.meter_clock_at(moment)
        for due in ccc.schedule().due(previous, meter_now):
            meter.advance_to(meter.moment_of(due.trigger))
            push = decode_frame(ccc.build(due, meter.push_snapshot()))
            ts = meter_time(push, ZONE, moment)
            power, energy = power_payload(push, ts), energy_payload(push, ts)
            if power is None or energy is None:
                continue
            yield GatewayPush(power, energy)
            produced += 1
            if produced == count:
                return
        meter.advance_to(moment)
        previous = meter.meter_clock()
