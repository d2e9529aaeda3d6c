"""One meter's demand inside the service: the calculator, its state file, its payloads.

The adapter around :class:`~.calculator.DemandCalculator`: it picks the import power and the A+
register out of the push payloads the meter channel already built, and keeps the calculator's
state in ``<state_dir>/demand-<meter>.json`` (written atomically) so a restart loses at most the
samples since the last save, which then count as a gap: marked incomplete, never guessed.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Final, TypeAlias

from .calculator import DemandCalculator
from .report import demand_event_payload, demand_payload
from .rules import TariffRule

__all__ = ["DemandTracker", "Publication"]

#: A ``demand`` payload (None: nothing new to say) and the ``events`` payloads to publish.
Publication: TypeAlias = tuple[dict[str, Any] | None, list[dict[str, Any]]]  # noqa: UP040 (3.11)

_LOGGER = logging.getLogger(__name__)

#: Meter seconds between state saves inside an interval (a save also follows every close).
SAVE_EVERY_S: Final = 300.0
#: Meter seconds between two ``demand`` messages without news: lists that push every 2.5 s
#: (HAN-NVE list 1) would otherwise rewrite a retained topic four times as often as it changes.
PUBLISH_EVERY_S: Final = 10.0
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_-]")


class DemandTracker:
    """Feeds a meter's accepted pushes to its calculator and says what to publish."""

    def __init__(self, rule: TariffRule, zone: tzinfo, *, state_dir: Path, meter: str) -> None:
        self.zone = zone
        self.path = state_dir / f"demand-{_UNSAFE.sub('_', meter)}.json"
        self.calculator = self._load(rule, zone)
        self._saved_at: float | None = None
        self._saved_interval: int | None = None
        self._published_at: float | None = None
        #: The last load-profile entry seen: its end and the A+ register there.
        self._profile_register: tuple[datetime, float] | None = None
        #: State files that could not be written (disk full, read-only state_dir).
        self.save_errors = 0

    def _load(self, rule: TariffRule, zone: tzinfo) -> DemandCalculator:
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return DemandCalculator(rule, zone)
        except (OSError, ValueError) as exc:
            _LOGGER.warning(
                "%s: demand state unreadable (%s); this month's peaks start again from now",
                self.path,
                exc,
            )
            return DemandCalculator(rule, zone)
        return DemandCalculator.from_state(rule, zone, state)

    def push(
        self, at: datetime, power: dict[str, Any] | None, energy: dict[str, Any] | None
    ) -> Publication:
        """One accepted push: the ``demand`` payload (None when one went out less than
        :data:`PUBLISH_EVERY_S` ago and nothing closed) and any ``events`` payloads."""
        watts = None if power is None else power.get("active_power_import_w")
        register = None if energy is None else energy.get("active_energy_import_kwh")
        events = self.calculator.feed(
            at,
            float(watts) if isinstance(watts, int | float) else None,
            float(register) if isinstance(register, int | float) else None,
        )
        self._maybe_save(at, force=bool(events))
        published = [demand_event_payload(e, at, self.zone) for e in events]
        t = at.timestamp()
        last = self._published_at
        if not events and last is not None and 0 <= t - last < PUBLISH_EVERY_S:
            return None, published
        self._published_at = t
        return demand_payload(self.calculator.snapshot(at), self.zone), published

    def load_profile(
        self, batch: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """A ``load_profile`` batch from the optical port: fills the intervals the pushes missed.

        Each entry carries the A+ register at its end; an interval's energy is the difference
        to the entry ending at its start (within the batch, or the last one of the previous
        batch). Returns a fresh ``demand`` payload when anything was filled, and the events.
        """
        events = []
        filled = False
        for entry in batch.get("intervals", []):
            try:
                start = datetime.fromisoformat(entry["start"])
                end = datetime.fromisoformat(entry["end"])
                register = entry.get("active_energy_import_kwh")
            except (KeyError, TypeError, ValueError):
                continue
            previous = self._profile_register
            self._profile_register = None
            if isinstance(register, int | float) and not isinstance(register, bool):
                if previous is not None and previous[0] == start and register >= previous[1]:
                    events += self.calculator.fill(start, end, float(register) - previous[1])
                    filled = True
                self._profile_register = (end, float(register))
        if not filled:
            return None, []
        self.save()
        at = self.calculator.last_sample_time(self.zone)
        if at is None:
            return None, []
        published = [demand_event_payload(e, at, self.zone) for e in events]
        return demand_payload(self.calculator.snapshot(at), self.zone), published

    def _maybe_save(self, at: datetime, *, force: bool) -> None:
        t = at.timestamp()
        interval = self.calculator.current_interval_start
        if (
            not force
            and interval == self._saved_interval
            and self._saved_at is not None
            and abs(t - self._saved_at) < SAVE_EVERY_S
        ):
            return
        self.save()
        self._saved_at = t
        self._saved_interval = interval

    def save(self) -> None:
        """Write the state atomically (a crash leaves the old file or the new, never half)."""
        temporary = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with temporary.open("w", encoding="utf-8") as handle:
                json.dump(self.calculator.to_state(), handle, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except OSError as exc:
            self.save_errors += 1
            if self.save_errors == 1:
                _LOGGER.warning(
                    "%s: cannot save the demand state (%s); check that the state directory "
                    "is writable, or peaks are lost at the next restart",
                    self.path,
                    exc.strerror or exc,
                )
