"""Commands to the gateway: the contract's envelope out, ``cmd/result`` back.

Each command carries a fresh id and an expiry (and a signature when a secret is configured),
so the gateway can refuse a stale or repeated one; the caller waits for ``done``, and every
other outcome, or silence past the expiry, raises a translated error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from uuid import uuid4

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from .const import COMMAND_GRACE, COMMAND_LIFETIME, DOMAIN
from .data import Payload
from .signing import sign


class CommandSender:
    """Sends one meter's commands and matches the gateway's results to them."""

    def __init__(self, hass: HomeAssistant, topic: Callable[[str], str]) -> None:
        """Publish under ``topic("cmd/<name>")``."""
        self.hass = hass
        self._topic = topic
        self._pending: dict[str, asyncio.Future[Payload]] = {}

    async def async_send(self, name: str, args: Payload, secret: str | None) -> Payload:
        """Send a command and wait for ``done``; other outcomes raise a translated error."""
        now = dt_util.now()
        command_id = uuid4().hex
        topic = self._topic(f"cmd/{name}")
        body: Payload = {
            "id": command_id,
            "expires_at": (now + COMMAND_LIFETIME).isoformat(),
            "args": args,
        }
        if secret:
            body["sig"] = sign(topic, body, secret.encode())
        future: asyncio.Future[Payload] = self.hass.loop.create_future()
        self._pending[command_id] = future

        @callback
        def timed_out(_now: datetime) -> None:
            if not future.done():
                future.set_exception(
                    HomeAssistantError(
                        translation_domain=DOMAIN,
                        translation_key="command_timeout",
                        translation_placeholders={"command": name},
                    )
                )

        cancel = async_call_later(self.hass, COMMAND_LIFETIME + COMMAND_GRACE, timed_out)
        try:
            await mqtt.async_publish(
                self.hass, topic, json.dumps(body, separators=(",", ":")), qos=1, retain=False
            )
            return await future
        finally:
            cancel()
            self._pending.pop(command_id, None)

    @callback
    def async_result(self, payload: Payload) -> None:
        """Settle the command a ``cmd/result`` payload answers (``accepted`` only waits)."""
        future = self._pending.get(str(payload.get("id")))
        if future is None or future.done():
            return
        status = payload.get("status")
        if status == "accepted":
            return
        if status == "done":
            future.set_result(payload)
            return
        future.set_exception(
            HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_failed"
                if status == "failed"
                else "command_expired"
                if status == "expired"
                else "command_rejected",
                translation_placeholders={
                    "command": str(payload.get("command")),
                    "reason": str(payload.get("reason")),
                    "text": str(payload.get("text") or ""),
                },
            )
        )

    @callback
    def async_cancel_all(self) -> None:
        """Fail every command still waiting (the entry is unloading)."""
        for future in self._pending.values():
            if not future.done():
                future.cancel()
