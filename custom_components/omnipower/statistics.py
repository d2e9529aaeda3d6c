"""Back-fill of the meter's load profile into long-term statistics.

The gateway publishes batches of load-profile intervals whose values are the register readings
at each interval's end (docs/mqtt.md). They become *external* statistics owned by this
integration (``omnipower:<serial>_energy_import`` / ``_export``), as the Opower and Tibber
integrations do: rows inserted into the past of an entity's own statistics would break the
running ``sum`` the recorder compiled after them. Here ``sum`` is the meter's register itself, so
any hour can be written, rewritten or left out in any order and every sum stays consistent.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final, cast

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import async_add_external_statistics
from homeassistant.const import UnitOfEnergy
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util
from homeassistant.util import slugify

from .const import DOMAIN, LOGGER

#: Interval key in the contract → suffix of the statistic id and its name.
SERIES: Final = {
    "active_energy_import_kwh": ("energy_import", "energy import"),
    "active_energy_export_kwh": ("energy_export", "energy export"),
}
_HOUR: Final = timedelta(hours=1)


def statistic_id(serial: str, suffix: str) -> str:
    """``omnipower:<serial>_<suffix>``, the id the Energy dashboard offers."""
    return f"{DOMAIN}:{slugify(serial)}_{suffix}"


def hourly_rows(intervals: list[Any], key: str) -> list[dict[str, Any]]:
    """One row per whole hour the profile covers: its start, and the reading at its end."""
    rows: dict[Any, dict[str, Any]] = {}
    for interval in intervals:
        if not isinstance(interval, dict):
            continue
        value = interval.get(key)
        end = dt_util.parse_datetime(str(interval.get("end")))
        if not isinstance(value, int | float) or isinstance(value, bool) or end is None:
            continue
        if end.tzinfo is None:
            continue
        end = dt_util.as_utc(end)
        if end.minute or end.second or end.microsecond:
            continue  # a 15-minute profile: only the readings on the hour make hourly rows
        start = end - _HOUR
        rows[start] = {"start": start, "state": float(value), "sum": float(value)}
    return [rows[start] for start in sorted(rows)]


@callback
def async_backfill(hass: HomeAssistant, serial: str, batch: dict[str, Any]) -> None:
    """Queue the batch's hourly rows for the recorder (a no-op without the recorder)."""
    if "recorder" not in hass.config.components:
        LOGGER.debug("Load profile of %s ignored: the recorder is not running", serial)
        return
    intervals = batch.get("intervals")
    if not isinstance(intervals, list):
        return
    for key, (suffix, label) in SERIES.items():
        rows = hourly_rows(intervals, key)
        if not rows:
            continue
        metadata: dict[str, Any] = {
            "mean_type": StatisticMeanType.NONE,
            "has_sum": True,
            "name": f"OMNIPOWER {serial} {label}",
            "source": DOMAIN,
            "statistic_id": statistic_id(serial, suffix),
            "unit_of_measurement": UnitOfEnergy.KILO_WATT_HOUR,
        }
        if "unit_class" in StatisticMetaData.__annotations__:
            metadata["unit_class"] = "energy"  # required from Home Assistant 2025.11
        LOGGER.debug("Back-filling %d hours of %s for %s", len(rows), label, serial)
        async_add_external_statistics(
            hass,
            cast(StatisticMetaData, metadata),
            [cast(StatisticData, row) for row in rows],
        )
