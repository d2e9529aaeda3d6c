"""One meter's demand inside the service: the calculator, its state file, its payloads.

The adapter around :class:`~.calculator.DemandCalculator`: it picks the import power and the A+
register out of the push payloads the meter channel already built, and keeps the calculator's
state in ``<state_dir>/demand-<meter>.json`` (written atomically when an interval closes) so a
restart loses at most the interval being measured, which then counts as a gap: marked
incomplete, never guessed, until the meter's load profile fills it.
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
from .report import demand_event_payload, demand_month_part, demand_payload
from .rules import TariffRule

__all__ = ["DemandTracker", "Publication"]

#: A ``demand`` payload (None: nothing new to say) and the ``events`` payloads to publish.
Publication: TypeAlias = tuple[dict[str, Any] | None, list[dict[str, Any]]]

_LOGGER = logging.getLogger(__name__)

#: Meter seconds between two ``demand`` messages without news. News goes out at once: an
#: interval closing, a new peak or step, and the headroom changing sign (an automation acts on
#: that). Between those the projection drifts slowly, and a retained message per push per meter
#: would cost the broker, the gateway and Home Assistant more than all the rest of the feature.
PUBLISH_EVERY_S: Final = 60.0
#: Journal lines after which the state is rewritten whole (a day of quarter hours).
JOURNAL_LINES: Final = 96
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_-]")


class DemandTracker:
    """Feeds a meter's accepted pushes to its calculator and says what to publish."""

    def __init__(self, rule: TariffRule, zone: tzinfo, *, state_dir: Path, meter: str) -> None:
        self.zone = zone
        self.path = state_dir / f"demand-{_UNSAFE.sub('_', meter)}.json"
        #: Closes since the last full write, one JSON line each: appending a line per interval
        #: costs the same at the end of a month of 2,976 quarter hours as at its start.
        self.journal = self.path.with_suffix(".journal")
        self._journal_lines = 0
        self.calculator = self._load(rule, zone)
        self._published_at: float | None = None
        self._published_interval: int | None = None
        self._published_negative: bool | None = None
        self._month_part: tuple[int, dict[str, Any]] | None = None
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
        calculator = DemandCalculator.from_state(rule, zone, state)
        try:
            lines = self.journal.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        except OSError as exc:
            _LOGGER.warning("%s: unreadable (%s); intervals since the last save are lost",
                            self.journal, exc)  # fmt: skip
            lines = []
        for line in lines:
            try:
                calculator.replay(json.loads(line))
            except (ValueError, KeyError, TypeError, IndexError):
                break  # a line cut short by a crash: what came before it stands
        return calculator

    def push(
        self, at: datetime, power: dict[str, Any] | None, energy: dict[str, Any] | None
    ) -> Publication:
        """One accepted push: the ``demand`` payload (None when one went out less than
        :data:`PUBLISH_EVERY_S` ago and nothing changed that matters) and any ``events``."""
        watts = None if power is None else power.get("active_power_import_w")
        register = None if energy is None else energy.get("active_energy_import_kwh")
        events = self.calculator.feed(
            at,
            float(watts) if isinstance(watts, int | float) else None,
            float(register) if isinstance(register, int | float) else None,
        )
        self._persist()
        published = [demand_event_payload(e, at, self.zone) for e in events]
        t = at.timestamp()
        last = self._published_at
        interval = self.calculator.current_interval_start
        headroom = self.calculator.headroom_kw()
        negative = None if headroom is None else headroom < 0
        if (
            not events
            and last is not None
            and 0 <= t - last < PUBLISH_EVERY_S
            and interval == self._published_interval
            and negative == self._published_negative
        ):
            return None, published
        self._published_at = t
        self._published_interval = interval
        self._published_negative = negative
        return self._payload(at), published

    def _payload(self, at: datetime) -> dict[str, Any]:
        snapshot = self.calculator.snapshot(at)
        version = self.calculator.version
        if self._month_part is None or self._month_part[0] != version:
            self._month_part = (version, demand_month_part(snapshot, self.zone))
        return demand_payload(snapshot, self.zone, self._month_part[1])

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
        self._persist()
        at = self.calculator.last_sample_time(self.zone)
        if at is None:
            return None, []
        published = [demand_event_payload(e, at, self.zone) for e in events]
        return self._payload(at), published

    def _persist(self) -> None:
        """Append the closes since the last call, or rewrite the state when only a full
        picture says what changed (a gap, a fill, a new month) or the journal grew long."""
        rewrite, entry = self.calculator.drain_journal()
        if rewrite or (entry is not None and self._journal_lines >= JOURNAL_LINES):
            self.save()
        elif entry is not None:
            self._append(entry)

    def _append(self, entry: dict[str, Any]) -> None:
        try:
            with self.journal.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry, separators=(",", ":")) + "\n")
            self._journal_lines += 1
        except OSError as exc:
            self._save_failed(exc)

    def save(self) -> None:
        """Write the state atomically (a crash leaves the old file or the new, never half).

        Not fsync'ed: this is a convenience state, not a safety one (a file lost to a power cut
        costs this month's peaks so far, which the load profile can rebuild), and on a Pi's SD
        card a sync per meter per interval is the dominant cost of the whole feature.
        """
        temporary = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(self.calculator.to_state(), separators=(",", ":"))
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, self.path)
            self.journal.unlink(missing_ok=True)
            self._journal_lines = 0
        except OSError as exc:
            self._save_failed(exc)

    def _save_failed(self, exc: OSError) -> None:
        self.save_errors += 1
        if self.save_errors == 1:
            _LOGGER.warning(
                "%s: cannot save the demand state (%s); check that the state directory "
                "is writable, or peaks are lost at the next restart",
                self.path,
                exc.strerror or exc,
            )
