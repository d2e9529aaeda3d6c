"""Values read over the optical port → the contract's state payloads and events.

Pure: the poller hands in what it read (object name of :mod:`ccc_gateway.protocol.
omnipower_objects` → value, already scaled to the contract's units) and the meter's time; this
module builds the ``breaker``, ``tariff``, ``relays``, ``prepayment``, ``status``, ``quality`` and
``clock`` payloads of docs/mqtt.md, and :class:`EventTracker` turns differences between two polls
into ``events`` (a tariff that changed, a breaker that opened, a cover that was lifted, credit that
fell under the alarm limit). A topic whose objects were not read is not built: a missing value is
"not known", never a default.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, TypeAlias

from ..protocol.omnipower_logs import TariffSource as MeterTariffSource
from ..protocol.omnipower_objects import (
    BREAKER_STATE_NAMES,
    CouplingFeedback,
    CouplingState,
    CutoffBasis,
    MeterStatus,
)

__all__ = [
    "LOGGED_TYPES",
    "EventTracker",
    "TariffSource",
    "breaker_name",
    "breaker_payload",
    "clock_payload",
    "prepayment_payload",
    "quality_payload",
    "relays_payload",
    "state_payloads",
    "status_payload",
    "tariff_payload",
]

Values: TypeAlias = Mapping[str, Any]
TariffSource: TypeAlias = Literal["calendar", "input", "forced"]

SCHEMA: Final = 1
#: TariffSource values (omnipower_logs.TariffSource) → the contract's source; 0 (no tariff
#: control, always tariff 1) reads as the meter's own calendar.
_TARIFF_SOURCES: Final[dict[Any, TariffSource]] = {
    MeterTariffSource.DISABLED: "calendar",
    MeterTariffSource.CALENDAR: "calendar",
    MeterTariffSource.INPUT: "input",
    MeterTariffSource.FORCED: "forced",
}

_FEEDBACK_KEYS: Final = (
    ("voltage_l1", CouplingFeedback.VOLTAGE_L1),
    ("voltage_l2", CouplingFeedback.VOLTAGE_L2),
    ("voltage_l3", CouplingFeedback.VOLTAGE_L3),
    ("valid", CouplingFeedback.VALID),
    ("communication_ok", CouplingFeedback.COMMUNICATION_OK),
    ("transition_pending", CouplingFeedback.TRANSITION_PENDING),
    ("switch_error", CouplingFeedback.SWITCH_ERROR),
)
_CUTOFF_NAMES: Final = (
    ("load_controlled", CutoffBasis.LOAD_CONTROLLED),
    ("prepayment", CutoffBasis.PREPAYMENT),
    ("current_power", CutoffBasis.CURRENT_POWER),
    ("neutral_fault", CutoffBasis.NEUTRAL_FAULT),
    ("log_only", CutoffBasis.LOG_ONLY),
    ("prepayment_no_restriction", CutoffBasis.PREPAYMENT_NO_RESTRICTION),
    ("overvoltage", CutoffBasis.OVERVOLTAGE),
)


def _head(ts: datetime) -> dict[str, Any]:
    return {"ts": ts.isoformat(), "schema": SCHEMA}


def breaker_name(coupling_state: int) -> str:
    """The contract's name for a raw CouplingState (``unknown`` for values it does not define)."""
    try:
        return BREAKER_STATE_NAMES[CouplingState(coupling_state)]
    except ValueError:
        return "unknown"


def breaker_payload(values: Values, ts: datetime) -> dict[str, Any] | None:
    """``breaker``: needs ``coupling_state``; mode, basis and feedback when they were read."""
    raw = values.get("coupling_state")
    if raw is None:
        return None
    payload = _head(ts) | {"state": breaker_name(raw), "coupling_state": int(raw)}
    mode = values.get("coupling_mode")
    if mode is not None:
        payload["coupling_mode"] = "automatic" if mode else "manual"
    basis = values.get("cutoff_basis")
    if basis is not None:
        payload["cutoff_basis"] = [name for name, bit in _CUTOFF_NAMES if basis & bit]
    feedback = values.get("coupling_feedback")
    if feedback is not None:
        payload["feedback"] = {name: bool(feedback & bit) for name, bit in _FEEDBACK_KEYS}
    return payload


def tariff_payload(values: Values, ts: datetime, source: TariffSource) -> dict[str, Any] | None:
    """``tariff``: ActualTariff and where it comes from.

    The source is the meter's TariffSource (1.1.129.0.1.255) when it answers one, so a tariff
    forced before a gateway restart still says ``forced``; *source* (what the gateway last did)
    only for a meter without that object. The module's tariff inputs ride along when read.
    """
    tariff = values.get("actual_tariff")
    if tariff is None or not 1 <= tariff <= 8:
        return None
    meter_source = _TARIFF_SOURCES.get(values.get("tariff_source", -1))
    payload = _head(ts) | {"active_tariff": int(tariff), "source": meter_source or source}
    inputs = values.get("tariff_inputs")
    if isinstance(inputs, int):
        payload["inputs"] = {"input_1": bool(inputs & 1), "input_2": bool(inputs & 2)}
    return payload


def relays_payload(values: Values, ts: datetime) -> dict[str, Any] | None:
    """``relays``: both load-control relays, or nothing."""
    one, two = values.get("relay_1"), values.get("relay_2")
    if one is None or two is None:
        return None
    return _head(ts) | {"relay_1_on": bool(one), "relay_2_on": bool(two)}


def prepayment_payload(values: Values, ts: datetime) -> dict[str, Any] | None:
    """``prepayment``: credit and alarm limit in kWh; None unless the meter answered both.

    ``enabled`` is the meter's own state: a meter answers A14_Prepayment only while its
    prepayment runs (its readout shows 130.0.x only then too), so a payload exists only for an
    enabled account. The cut-off basis says only what *would* open the breaker, not whether
    the account runs; a meter that does not answer is "not known", never "disabled".
    """
    credit, limit = values.get("prepayment_credit"), values.get("prepayment_alarm_limit")
    if credit is None or limit is None:
        return None
    payload = _head(ts) | {
        "enabled": True,
        "credit_kwh": round(float(credit), 6),
        "alarm_limit_kwh": round(float(limit), 6),
        "low_credit": credit <= limit,
    }
    if (used := values.get("prepayment_exception_credit")) is not None:
        payload["exception_credit_kwh"] = round(float(used), 6)
    if "prepayment_last_top_up" in values:
        last = values["prepayment_last_top_up"]
        payload["last_top_up_kwh"] = None if last is None else round(float(last), 6)
    for key in ("exception_start", "exception_end"):
        if f"prepayment_{key}" in values:
            moment = values[f"prepayment_{key}"]
            payload[key] = moment.isoformat() if isinstance(moment, datetime) else None
    return payload


def status_payload(values: Values, ts: datetime) -> dict[str, Any] | None:
    """``status``: tamper bits of MeterStatus; power failure from the breaker's voltage feedback."""
    status = values.get("meter_status")
    if status is None:
        return None
    feedback = values.get("coupling_feedback")
    phases = values.get("phases", 1)
    power_failure = False
    if feedback is not None and feedback & CouplingFeedback.VALID:
        bits = (
            CouplingFeedback.VOLTAGE_L1,
            CouplingFeedback.VOLTAGE_L2,
            CouplingFeedback.VOLTAGE_L3,
        )
        power_failure = any(not feedback & bit for bit in bits[:phases])
    payload = _head(ts) | {
        "cover_open": bool(status & MeterStatus.COVER_OPEN),
        "magnet_detected": bool(status & MeterStatus.MAGNET),
        "power_failure": power_failure,
        "meter_status": int(status),
    }
    for key in ("event_status_a", "event_status_b"):
        if values.get(key) is not None:
            payload[key] = int(values[key])
    return payload


_QUALITY_KEYS: Final = (
    *(f"voltage_thd_l{n}" for n in (1, 2, 3)),
    *(f"current_thd_l{n}" for n in (1, 2, 3)),
)
_COUNT_KEYS: Final = (
    *(f"voltage_sag_count_l{n}" for n in (1, 2, 3)),
    *(f"voltage_swell_count_l{n}" for n in (1, 2, 3)),
)


def quality_payload(values: Values, ts: datetime) -> dict[str, Any] | None:
    """``quality``: whatever power-quality objects the meter answered; None if none."""
    payload = _head(ts)
    for key in _QUALITY_KEYS:
        if values.get(key) is not None:
            payload[f"{key}_pct"] = round(float(values[key]), 3)
    for key in _COUNT_KEYS:
        if values.get(key) is not None:
            payload[key] = int(values[key])
    if values.get("frequency") is not None:
        payload["frequency_hz"] = round(float(values["frequency"]), 3)
    if values.get("power_factor") is not None:
        payload["power_factor"] = round(float(values["power_factor"]), 3)
    voltages = [values.get(f"voltage_l{n}") for n in (1, 2, 3)]
    if values.get("phases", 1) == 3 and all(isinstance(v, int | float) for v in voltages):
        # Largest deviation from the mean, in % of the mean (the NEMA/IEEE 112 definition: the
        # meter has no unbalance register, and phase angles are not read).
        levels = [float(v) for v in voltages if v is not None]
        mean = sum(levels) / 3
        if mean > 0:
            deviation = max(abs(level - mean) for level in levels)
            payload["voltage_unbalance_pct"] = round(deviation / mean * 100, 3)
    return payload if len(payload) > 2 else None


def clock_payload(
    meter_time: datetime, reference_time: datetime, *, dst: bool | None
) -> dict[str, Any]:
    """``clock``: both times (aware) and the drift, positive when the meter is ahead."""
    drift = (meter_time - reference_time).total_seconds()
    payload = _head(meter_time) | {
        "meter_time": meter_time.isoformat(),
        "reference_time": reference_time.isoformat(),
        "drift_s": round(drift, 3),
    }
    if dst is not None:
        payload["dst"] = dst
    return payload


def state_payloads(
    values: Values, ts: datetime, *, tariff_source: TariffSource = "calendar"
) -> dict[str, dict[str, Any]]:
    """Every state topic that *values* allows, by topic name."""
    built = {
        "breaker": breaker_payload(values, ts),
        "tariff": tariff_payload(values, ts, tariff_source),
        "relays": relays_payload(values, ts),
        "prepayment": prepayment_payload(values, ts),
        "status": status_payload(values, ts),
        "quality": quality_payload(values, ts),
    }
    return {name: payload for name, payload in built.items() if payload is not None}


#: Events the standard event log carries: from it, not from poll differences, when it is read.
LOGGED_TYPES: Final = frozenset({"tariff_changed", "tamper", "power_failure"})


@dataclass(slots=True)
class EventTracker:
    """Compares each poll's state payloads with the previous ones and names what changed.

    The first poll after start only sets the baseline (a gateway restart is not an event).
    Event ids are ``<meter>-<start>-<n>``: unique across restarts because *start* is the
    gateway's start time in seconds.
    """

    meter: str
    start: int
    _previous: dict[str, dict[str, Any]] = field(default_factory=dict)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _outage_started: str | None = None
    #: Event types the meter's logs report (then not derived from polls).
    from_logs: frozenset[str] = frozenset()

    def last_tariff(self) -> int | None:
        """ActualTariff at the previous poll (the ``from`` of a logged tariff change)."""
        tariff = self._previous.get("tariff")
        return None if tariff is None else int(tariff["active_tariff"])

    def _event(self, ts: str, event_type: str, **fields: Any) -> dict[str, Any]:
        return {
            "ts": ts,
            "schema": SCHEMA,
            "id": f"{self.meter}-{self.start}-{next(self._counter)}",
            "type": event_type,
            **fields,
        }

    def update(
        self, payloads: Mapping[str, Mapping[str, Any]], *, command_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Events for the changes from the last poll to *payloads* (which become the baseline).

        *command_id* names the command that caused a breaker change, when one did.
        """
        events: list[dict[str, Any]] = []
        before = self._previous
        new, old = payloads.get("tariff"), before.get("tariff")
        if new and old and new["active_tariff"] != old["active_tariff"]:
            events.append(
                self._event(
                    new["ts"],
                    "tariff_changed",
                    **{"from": old["active_tariff"], "to": new["active_tariff"]},
                    source=new["source"],
                )
            )
        new, old = payloads.get("breaker"), before.get("breaker")
        if new and old and new["coupling_state"] != old["coupling_state"]:
            events.append(
                self._event(
                    new["ts"],
                    "breaker_changed",
                    **{"from": old["state"], "to": new["state"]},
                    command_id=command_id,
                )
            )
        new, old = payloads.get("status"), before.get("status")
        if new and old:
            for kind, key in (("cover", "cover_open"), ("magnet", "magnet_detected")):
                if new[key] != old[key]:
                    events.append(self._event(new["ts"], "tamper", kind=kind, active=new[key]))
            if new["power_failure"] and not old["power_failure"]:
                self._outage_started = new["ts"]
                events.append(
                    self._event(new["ts"], "power_failure", started=new["ts"], ended=None)
                )
            elif old["power_failure"] and not new["power_failure"]:
                started = self._outage_started or old["ts"]
                duration = (
                    datetime.fromisoformat(new["ts"]) - datetime.fromisoformat(started)
                ).total_seconds()
                events.append(
                    self._event(
                        new["ts"],
                        "power_failure",
                        started=started,
                        ended=new["ts"],
                        duration_s=max(duration, 0.0),
                    )
                )
                self._outage_started = None
        new, old = payloads.get("prepayment"), before.get("prepayment")
        if new and old and new["low_credit"] and not old["low_credit"]:
            events.append(
                self._event(
                    new["ts"],
                    "low_credit",
                    credit_kwh=new["credit_kwh"],
                    alarm_limit_kwh=new["alarm_limit_kwh"],
                )
            )
        self._previous = {**before, **{k: dict(v) for k, v in payloads.items()}}
        return [event for event in events if event["type"] not in self.from_logs]
