"""Register scale and order: the push is read at the meter's own scalers, and never goes down.

The CCC push carries raw integers without their scaler ([HAN]), so the decoder applies
the configured one or the list's documented default. The optical port, when there is one, tells
the truth: each register's scaler_unit (attribute 3). :class:`PushScalers` learns the energy,
current and voltage scalers from it, rescales every push to them, reports a disagreement with
what was configured or assumed once (a :class:`ScalerMismatch`), and keeps what it learned in the
state directory so that a restart uses it from the first push.

:class:`RegisterFloor` holds the promise of docs/mqtt.md that a register never goes down on
MQTT: a value lower than the last one published for the same register, from a reading that is
not older, is replaced by the last one and counted (:class:`RegisterDecrease`). A reading older
than the one published (a push still on the 2400-baud line when the optical read landed) is not
a decrease of the meter's register, only a late message, and is dropped silently.

Pure apart from :class:`ScalerStore`'s small atomic file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from .protocol import Push, Reading
from .protocol.errors import OmnipowerError
from .protocol.obis import QuantityKind, quantity_of
from .protocol.push import Resolution

__all__ = [
    "SCALER_OBJECTS",
    "PushScalers",
    "RegisterDecrease",
    "RegisterFloor",
    "ScalerMismatch",
    "ScalerStore",
]

#: Where each learnt quantity's scaler is read on the optical port (name of the shared object
#: table), and the Blue Book unit codes (4.3.2) that make the scaler comparable to the push's:
#: 30 Wh and 32 varh (the push counts Wh × 10^scaler), 33 A, 35 V.
SCALER_OBJECTS: Final = {
    QuantityKind.ENERGY: ("active_energy_import", frozenset({30, 32})),
    QuantityKind.CURRENT: ("current_l1", frozenset({33})),
    QuantityKind.VOLTAGE: ("voltage_l1", frozenset({35})),
}
_BY_NAME: Final = {kind.value: kind for kind in SCALER_OBJECTS}


class ScalerMismatch(OmnipowerError):
    """The push's scaler (configured or assumed) is not the one the meter reports for itself."""

    code = "scaler_mismatch"

    def __init__(self, kind: QuantityKind, *, push: int, meter: int, configured: bool) -> None:
        origin = "configured" if configured else "assumed for this list"
        super().__init__(
            f"the push's {kind.value} scaler {push} ({origin}) is not the meter's own "
            f"{meter} (its optical port's scaler_unit); the push is read with {meter}"
        )
        self.kind = kind
        self.push = push
        self.meter = meter
        self.configured = configured
        self.hint = (
            f"set {kind.value}_scaler = {meter} in the meter's [meters.resolution] table, so "
            "the push is read right even while the optical port is away"
        )

    def payload(self) -> dict[str, Any]:
        """The diagnostics entry (``scaler_mismatch``)."""
        return {
            "quantity": self.kind.value,
            "push_scaler": self.push,
            "meter_scaler": self.meter,
            "configured": self.configured,
        }


class RegisterDecrease(OmnipowerError):
    """A register read lower than the value already published for it; the old one is held."""

    code = "register_held"
    hint = (
        "a register of the meter never goes down: check the energy scaler and that no two "
        "meters share one serial"
    )

    def __init__(self, key: str, *, published: float, read: float) -> None:
        super().__init__(f"{key} read {read}, below the {published} already published; held")
        self.key = key
        self.published = published
        self.read = read


def _learnt_scaler(kind: QuantityKind, scaler_unit: tuple[int, int] | None) -> int | None:
    if scaler_unit is None:
        return None
    _, units = SCALER_OBJECTS[kind]
    scaler, unit = scaler_unit
    return scaler if unit in units else None


@dataclass(slots=True)
class PushScalers:
    """The scalers a push is read with: the meter's own once learnt, else the configured ones.

    *resolution* is the meter's configured :class:`Resolution` (what the decoder applied).
    ``settled`` says whether the push may be published: True without an optical port, once the
    scalers are learnt (or loaded from the store), or once the optical port failed to answer
    (then the configured or assumed scalers are all there is).
    """

    resolution: Resolution
    settled: bool = True
    learnt: dict[QuantityKind, int] = field(default_factory=dict)
    _reported: set[QuantityKind] = field(default_factory=set)

    def load(self, stored: Mapping[str, int]) -> None:
        """Take scalers learnt in an earlier run (the store's entry for this meter)."""
        for name, scaler in stored.items():
            kind = _BY_NAME.get(name)
            if kind is not None and kind not in self.learnt:
                self.learnt[kind] = scaler
        if self.learnt:
            self.settled = True

    def learn(self, scaler_units: Mapping[str, tuple[int, int]]) -> bool:
        """Take the optical port's scaler_unit per object name; True when a scaler changed."""
        changed = False
        for kind, (name, _) in SCALER_OBJECTS.items():
            scaler = _learnt_scaler(kind, scaler_units.get(name))
            if scaler is not None and self.learnt.get(kind) != scaler:
                self.learnt[kind] = scaler
                changed = True
        self.settled = True
        return changed

    def stored(self) -> dict[str, int]:
        """What :class:`ScalerStore` keeps for this meter."""
        return {kind.value: scaler for kind, scaler in sorted(self.learnt.items(), key=_name)}

    def mismatches(self, push: Push, meter_type: str | None) -> list[ScalerMismatch]:
        """Disagreements between the push's scalers and the learnt ones, each reported once."""
        found = []
        for kind, scaler in self.learnt.items():
            if kind in self._reported:
                continue
            assumed = self.resolution.scaler_for(kind, push.list_kind, meter_type)
            if assumed != scaler and _carries(push, kind):
                self._reported.add(kind)
                configured = _configured(self.resolution, kind)
                found.append(
                    ScalerMismatch(kind, push=assumed, meter=scaler, configured=configured)
                )
        return found

    def apply(self, push: Push) -> Push:
        """*push* with every reading of a learnt quantity rescaled to the meter's scaler."""
        if not self.learnt:
            return push
        readings: dict[str, Reading] | None = None
        for code, reading in push.readings.items():
            scaler = reading.scaler
            if scaler is None or not isinstance(reading.raw, int):
                continue
            wanted = self.learnt.get(quantity_of(code).kind)
            if wanted is None or wanted == scaler:
                continue
            if readings is None:
                readings = dict(push.readings)
            raw = reading.raw
            value = raw * 10**wanted if wanted >= 0 else raw / 10**-wanted
            readings[code] = Reading(code, reading.name, raw, wanted, reading.unit, value)
        if readings is None:
            return push
        return Push(
            list_version=push.list_version,
            list_kind=push.list_kind,
            phases=push.phases,
            apdu_datetime=push.apdu_datetime,
            readings=readings,
            null_placeholders=push.null_placeholders,
            system_title=push.system_title,
            invocation_counter=push.invocation_counter,
            checks=push.checks,
        )


def _name(item: tuple[QuantityKind, int]) -> str:
    return item[0].value


def _carries(push: Push, kind: QuantityKind) -> bool:
    return any(
        quantity_of(code).kind is kind and reading.scaler is not None
        for code, reading in push.readings.items()
    )


def _configured(resolution: Resolution, kind: QuantityKind) -> bool:
    if kind is QuantityKind.ENERGY:
        return resolution.energy_scaler is not None
    if kind is QuantityKind.CURRENT:
        return resolution.current_scaler is not None
    return kind is QuantityKind.VOLTAGE and resolution.voltage_scaler != 0


@dataclass(slots=True)
class ScalerStore:
    """Learnt scalers per meter id, in one small JSON file written atomically on change."""

    path: Path
    _meters: dict[str, dict[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return  # first start, or a damaged file: learn again from the optical port
        if isinstance(data, dict):
            for meter, scalers in data.items():
                if isinstance(scalers, dict):
                    self._meters[str(meter)] = {
                        str(k): v for k, v in scalers.items() if isinstance(v, int)
                    }

    def get(self, meter: str) -> dict[str, int]:
        """What was learnt for *meter* (empty when nothing was)."""
        return dict(self._meters.get(meter, {}))

    def put(self, meter: str, scalers: dict[str, int]) -> None:
        """Keep *scalers* for *meter* (a no-op when unchanged)."""
        if self._meters.get(meter) == scalers:
            return
        self._meters[meter] = dict(scalers)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._meters, sort_keys=True))
        os.replace(temporary, self.path)


@dataclass(slots=True)
class RegisterFloor:
    """The last value published per register key, with the time of the reading it came from."""

    _last: dict[str, tuple[float, datetime]] = field(default_factory=dict)

    def admit(
        self, values: Mapping[str, Any], ts: datetime
    ) -> tuple[dict[str, Any], list[RegisterDecrease]]:
        """The values of *values* that may be published, and the decreases that were held.

        A value lower than the last published one (from a reading at least as new) is replaced
        by the last one and reported; a value from a reading older than the published one is
        left out (a late message, not the meter's register going down).
        """
        out: dict[str, Any] = {}
        held: list[RegisterDecrease] = []
        for key, value in values.items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                out[key] = value
                continue
            last = self._last.get(key)
            if last is None or value >= last[0]:
                self._last[key] = (value, ts if last is None else max(ts, last[1]))
                out[key] = value
            elif ts < last[1]:
                continue
            else:
                held.append(RegisterDecrease(key, published=last[0], read=value))
                self._last[key] = (last[0], ts)
                out[key] = last[0]
        return out, held
