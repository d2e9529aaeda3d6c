"""Back-fill of the meter's load profile into long-term statistics.

The gateway publishes batches of load-profile intervals whose values are the register readings
at each interval's end (docs/mqtt.md). They become *external* statistics owned by this
integration, one per register the profile captures (``omnipower:<serial>_energy_import``,
``_energy_export``, ``_reactive_energy_import``/``_export`` and ``_reactive_energy_q1``…``_q4``),
as the Opower and Tibber integrations do: rows inserted into the past of an entity's own
statistics would break the running ``sum`` the recorder compiled after them.

``state`` is the register at the hour's end and ``sum`` the register minus the statistic's
*baseline*, its lowest reading imported (``statistics_rows``), so any hour can be written,
rewritten or left out in any order and every hour's change stays the register's own. The
baseline is what the recorder holds (``state − sum`` of any row), read once per statistic and
Home Assistant run; a batch older than every row lowers it, and the rows already there are
shifted by the difference (the recorder's own sum adjustment) before the older ones are added.
Batches are handled one at a time, in the order they arrived.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Final, cast

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    STATISTIC_UNIT_TO_UNIT_CONVERTER,
    async_add_external_statistics,
    get_last_statistics,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from homeassistant.util import slugify
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, LOGGER
from .statistics_rows import HOUR, SERIES, Readings, Series, floor_hour, hourly_rows, readings

__all__ = ["BackfillCounters", "async_backfill", "backfill_diagnostics", "statistic_id"]


def statistic_id(serial: str, suffix: str) -> str:
    """``omnipower:<serial>_<suffix>``, the id the Energy dashboard and statistics cards offer."""
    return f"{DOMAIN}:{slugify(serial)}_{suffix}"


def unit_class(unit: str) -> str | None:
    """The recorder's unit class of *unit* (``energy``; ``reactive_energy`` where the running
    Home Assistant converts kvarh), None where it has no converter for it."""
    converter = STATISTIC_UNIT_TO_UNIT_CONVERTER.get(unit)
    return None if converter is None else converter.UNIT_CLASS


def metadata(serial: str, series: Series) -> StatisticMetaData:
    """The statistic's description: a cumulative register (``has_sum``), no mean."""
    meta: dict[str, Any] = {
        "mean_type": StatisticMeanType.NONE,
        "has_sum": True,
        "name": f"OMNIPOWER {serial} {series.label}",
        "source": DOMAIN,
        "statistic_id": statistic_id(serial, series.suffix),
        "unit_of_measurement": series.unit,
    }
    if "unit_class" in StatisticMetaData.__annotations__:
        # Newer releases have the field, warn without it and refuse from 2026.11 on.
        meta["unit_class"] = unit_class(series.unit)
    return cast(StatisticMetaData, meta)


@dataclass(slots=True)
class BackfillCounters:
    """What the back-fill did for one meter since Home Assistant started (diagnostics)."""

    batches: int = 0
    rows: int = 0
    malformed_intervals: int = 0
    backwards_readings: int = 0
    history_extended: int = 0


@dataclass(slots=True)
class _Known:
    """What the recorder holds of one statistic: its baseline and its newest row."""

    baseline: float
    newest_end: datetime | None
    newest_reading: float | None


@dataclass(slots=True)
class _Writer:
    """The one writer per Home Assistant: batches in arrival order, each statistic's state."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    known: dict[str, _Known | None] = field(default_factory=dict)
    counters: dict[str, BackfillCounters] = field(default_factory=dict)
    warned: set[tuple[str, str]] = field(default_factory=set)


_DATA: Final[HassKey[_Writer]] = HassKey(f"{DOMAIN}_statistics")


def _writer(hass: HomeAssistant) -> _Writer:
    writer = hass.data.get(_DATA)
    if writer is None:
        writer = hass.data[_DATA] = _Writer()
    return writer


@callback
def async_backfill(hass: HomeAssistant, serial: str, batch: dict[str, Any]) -> None:
    """Queue the batch's hourly rows for the recorder (a no-op without the recorder)."""
    if "recorder" not in hass.config.components:
        LOGGER.debug("Load profile of %s ignored: the recorder is not running", serial)
        return
    intervals = batch.get("intervals")
    if not isinstance(intervals, list):
        return
    found = [(series, readings(intervals, series.key)) for series in SERIES]
    hass.async_create_task(
        _async_write(hass, _writer(hass), serial, found),
        f"{DOMAIN} load-profile statistics of {serial}",
        eager_start=True,
    )


def backfill_diagnostics(hass: HomeAssistant, serial: str) -> dict[str, int]:
    """The meter's back-fill counters."""
    writer = hass.data.get(_DATA)
    counters = writer.counters.get(serial) if writer is not None else None
    return asdict(counters if counters is not None else BackfillCounters())


async def _async_write(
    hass: HomeAssistant, writer: _Writer, serial: str, found: list[tuple[Series, Readings]]
) -> None:
    async with writer.lock:
        counters = writer.counters.setdefault(serial, BackfillCounters())
        counters.batches += 1
        malformed = backwards = 0
        for series, series_readings in found:
            malformed = max(malformed, series_readings.malformed)
            backwards += await _async_write_series(hass, writer, serial, series, series_readings)
        counters.malformed_intervals += malformed
        counters.backwards_readings += backwards
        if malformed:
            _warn(
                writer,
                serial,
                "malformed",
                "Meter %s: %d load-profile intervals have no aware end time or a value that "
                "is not a number and were left out of the statistics; the gateway never "
                "publishes such intervals, so check what else publishes on its topics",
                serial,
                malformed,
            )
        if backwards:
            _warn(
                writer,
                serial,
                "backwards",
                "Meter %s: %d load-profile readings are lower than older ones and were left "
                "out of the statistics (a register never goes down); please report this with "
                "the gateway's diagnostics",
                serial,
                backwards,
            )


async def _async_write_series(
    hass: HomeAssistant, writer: _Writer, serial: str, series: Series, found: Readings
) -> int:
    """Write one register's rows; the number of readings left out as going backwards."""
    if found.lowest is None:
        return found.backwards
    sid = statistic_id(serial, series.suffix)
    known = await _async_known(hass, writer, sid)
    if known is not None and known.newest_end is not None and known.newest_reading is not None:
        found = found.after(known.newest_end, known.newest_reading)
    lowest, first_end = found.lowest, found.first_end
    if lowest is None or first_end is None:
        return found.backwards
    baseline = lowest if known is None else known.baseline
    if lowest < baseline:
        # Older than every row the recorder holds: those rows move up by the difference, so
        # the new oldest reading is the baseline. Queued before the rows, so done before them.
        get_instance(hass).async_adjust_statistics(
            sid, floor_hour(first_end), baseline - lowest, series.unit
        )
        writer.counters[serial].history_extended += 1
        baseline = lowest
    rows = hourly_rows(found.hours(), baseline)
    newest_end = known.newest_end if known is not None else None
    newest_reading = known.newest_reading if known is not None else None
    if rows:
        LOGGER.debug("Back-filling %d hours of %s for %s", len(rows), series.label, serial)
        async_add_external_statistics(
            hass, metadata(serial, series), [cast(StatisticData, row) for row in rows]
        )
        writer.counters[serial].rows += len(rows)
        last_end = rows[-1]["start"] + HOUR
        if newest_end is None or last_end > newest_end:
            newest_end, newest_reading = last_end, rows[-1]["state"]
    writer.known[sid] = _Known(baseline, newest_end, newest_reading)
    return found.backwards


async def _async_known(hass: HomeAssistant, writer: _Writer, sid: str) -> _Known | None:
    """What the recorder holds of *sid*, read once per run (None: no row yet)."""
    if sid in writer.known:
        return writer.known[sid]
    result = await get_instance(hass).async_add_executor_job(
        get_last_statistics, hass, 1, sid, False, {"state", "sum"}
    )
    rows = result.get(sid) or []
    known = None
    if rows and rows[0].get("state") is not None and rows[0].get("sum") is not None:
        state = float(cast(float, rows[0]["state"]))
        total = float(cast(float, rows[0]["sum"]))
        end = dt_util.utc_from_timestamp(rows[0]["start"]) + HOUR
        known = _Known(state - total, end, state)
    writer.known[sid] = known
    return known


def _warn(writer: _Writer, serial: str, kind: str, text: str, *args: Any) -> None:
    """One warning per meter and kind; later ones at debug level."""
    if (serial, kind) in writer.warned:
        LOGGER.debug(text, *args)
        return
    writer.warned.add((serial, kind))
    LOGGER.warning(text, *args)
