"""Repair issues a meter's payloads can raise: wrong keys, a drifting clock, a lost gateway.

Decisions on one payload each, kept apart from the coordinator that receives them. Not named
``repairs.py``: Home Assistant loads that name as a repairs platform with fix flows.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .const import DOMAIN, KEY_ERRORS, MAX_CLOCK_DRIFT_S
from .data import Payload


def issue_id(kind: str, serial: str) -> str:
    """The id of one meter's issue of *kind* (removed with the meter)."""
    return f"{kind}_{serial}"


def async_check_keys(hass: HomeAssistant, serial: str, payload: Payload) -> None:
    """Raise the keys issue while the last error is a key error newer than the last push."""
    last = payload.get("last_error")
    code = last.get("code") if isinstance(last, dict) else None
    failing = code in KEY_ERRORS
    if failing and isinstance(last, dict):
        at = dt_util.parse_datetime(str(last.get("at")))
        pushed = payload.get("last_push")
        pushed_at = dt_util.parse_datetime(pushed) if isinstance(pushed, str) else None
        failing = at is None or pushed_at is None or pushed_at < at
    issue = issue_id("keys", serial)
    if failing:
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="keys_swapped" if code == "keys_swapped" else "keys_wrong",
            translation_placeholders={"serial": serial, "code": str(code)},
        )
    else:
        ir.async_delete_issue(hass, DOMAIN, issue)


def async_check_clock(hass: HomeAssistant, serial: str, payload: Payload) -> None:
    """Raise the clock issue while the meter's clock drifts more than allowed."""
    drift = payload.get("drift_s")
    issue = issue_id("clock_drift", serial)
    if isinstance(drift, int | float) and abs(drift) > MAX_CLOCK_DRIFT_S:
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="clock_drift",
            translation_placeholders={"serial": serial, "drift": f"{drift:+.0f}"},
        )
    else:
        ir.async_delete_issue(hass, DOMAIN, issue)


def async_gateway_offline(hass: HomeAssistant, serial: str, gateway: str | None) -> None:
    """Raise the issue of a gateway offline too long."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id("gateway_offline", serial),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="gateway_offline",
        translation_placeholders={"serial": serial, "gateway": gateway or "?"},
    )


def async_gateway_back(hass: HomeAssistant, serial: str) -> None:
    """Drop the gateway-offline issue."""
    ir.async_delete_issue(hass, DOMAIN, issue_id("gateway_offline", serial))
