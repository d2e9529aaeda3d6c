"""The MQTT side of the gateway: one aiomqtt connection, kept alive, fed from the :class:`Outbox`.

Readers call :meth:`Publisher.put`, which never blocks and never fails; this task owns the
connection, the LWT, the reconnect loop with backoff, and the republication of the latest state
after a reconnect. Handlers for incoming topics (commands, later) plug in with :meth:`add_handler`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import aiomqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from ..config import MqttConfig
from ..ports.supervisor import Backoff
from .outbox import Message, Outbox
from .topics import Topics

__all__ = ["MessageHandler", "Publisher"]

_LOGGER = logging.getLogger(__name__)

#: How long one publication may take before the connection is considered broken.
PUBLISH_TIMEOUT = 10.0

_T = TypeVar("_T")


async def _keeping_cancellation(operation: Awaitable[_T]) -> _T:
    """Await an aiomqtt call without losing a cancellation that arrives as it completes.

    aiomqtt waits with :func:`asyncio.wait_for`, which on Python 3.11 returns the result and drops
    a cancellation that lands in the same loop step (CPython gh-86296, fixed in 3.12): the drain
    loop would go back to waiting and the gateway would never stop. Only for a task that owns no
    TaskGroup: on 3.11 a TaskGroup whose child fails can leave its parent's cancel count raised.
    """
    result = await operation
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
    return result


@dataclass(frozen=True, slots=True)
class MessageHandler:
    """Incoming messages on *topic_filter* go to *handle* (e.g. the command guard)."""

    topic_filter: str
    handle: Callable[[aiomqtt.Message], Awaitable[None]]
    qos: int = 1


class Publisher:
    """Connects, announces ``online`` (retained, LWT ``offline``), and drains the outbox."""

    def __init__(
        self,
        config: MqttConfig,
        topics: Topics,
        *,
        client_id: str,
        backoff: Backoff | None = None,
    ) -> None:
        self.config = config
        self.topics = topics
        self.client_id = client_id
        self.backoff = backoff or Backoff(initial=1.0, maximum=30.0)
        self.outbox = Outbox(config.queue_size)
        self.connected = False
        self._handlers: list[MessageHandler] = []
        self._wake = asyncio.Event()

    def put(self, message: Message) -> None:
        """Queue *message* for the broker; returns at once whatever the connection's state."""
        self.outbox.put(message)
        self._wake.set()

    def add_handler(self, handler: MessageHandler) -> None:
        """Subscribe *handler* on every (re)connect. Add before :meth:`run` starts."""
        self._handlers.append(handler)

    def _client(self) -> aiomqtt.Client:
        config = self.config
        tls_context = None
        if config.tls:
            tls_context = ssl.create_default_context(cafile=config.ca_file)
            if config.cert_file is not None:
                tls_context.load_cert_chain(config.cert_file, config.key_file)
            if config.tls_insecure:
                tls_context.check_hostname = False
                tls_context.verify_mode = ssl.CERT_NONE
        protocol = (
            aiomqtt.ProtocolVersion.V5 if config.protocol == "5" else aiomqtt.ProtocolVersion.V311
        )
        return aiomqtt.Client(
            config.host,
            config.port,
            username=config.username,
            password=None if config.password is None else config.password.reveal(),
            identifier=self.client_id,
            protocol=protocol,
            will=aiomqtt.Will(self.topics.bridge_state, b"offline", qos=1, retain=True),
            keepalive=config.keepalive,
            tls_context=tls_context,
            timeout=PUBLISH_TIMEOUT,
            # Without TCP_NODELAY a publish right after another waits for the broker's delayed
            # ACK (Nagle): 40 ms per push on Linux loopback instead of well under one.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )

    async def run(self) -> None:
        """Stay connected until cancelled; on cancellation announce ``offline`` cleanly."""
        attempt = 0
        lost = False
        where = f"{self.config.host}:{self.config.port}"
        while True:
            try:
                async with self._client() as client:
                    attempt = 0
                    if lost:
                        _LOGGER.info("MQTT broker %s is back; republishing the latest state", where)
                    else:
                        _LOGGER.info("connected to MQTT broker %s", where)
                    lost = False
                    await self._serve(client)
            except (aiomqtt.MqttError, OSError, ssl.SSLError) as exc:
                self.connected = False
                if not lost:
                    _LOGGER.warning(
                        "MQTT broker %s unavailable (%s): check that it runs, the host, port, "
                        "TLS settings and credentials. Reading goes on; state is kept and sent "
                        "when it is back",
                        where,
                        exc,
                    )
                    lost = True
                await asyncio.sleep(self.backoff.delay(attempt))
                attempt += 1

    async def _serve(self, client: aiomqtt.Client) -> None:
        try:
            await client.publish(self.topics.bridge_state, b"online", qos=1, retain=True)
            for handler in self._handlers:
                if self.config.protocol == "5":
                    # Retain-as-published: a command sent with the retain flag keeps it even
                    # when delivered live, so the guard can refuse it (MQTT 3.1.1 clears it).
                    options = SubscribeOptions(qos=handler.qos, retainAsPublished=True)
                    await client.subscribe(handler.topic_filter, options=options)
                else:
                    await client.subscribe(handler.topic_filter, qos=handler.qos)
            self.connected = True
            self.outbox.resend_state()
            await self._drain_and_listen(client)
        except asyncio.CancelledError:
            # A clean disconnect does not fire the LWT: say "offline" ourselves.
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await client.publish(
                    self.topics.bridge_state, b"offline", qos=1, retain=True, timeout=2.0
                )
            raise
        finally:
            self.connected = False

    async def _drain_and_listen(self, client: aiomqtt.Client) -> None:
        lost: BaseException | None = None
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._drain(client))
                group.create_task(self._listen(client))
        except* aiomqtt.MqttError as group_error:
            lost = group_error.exceptions[0]
        # Raised here, not inside ``except*``: Python before 3.11.4 (Debian 12's 3.11.2) wraps an
        # exception raised there in an ExceptionGroup, and the reconnect loop would not see it.
        if lost is not None:
            raise lost from None

    async def _drain(self, client: aiomqtt.Client) -> None:
        outbox = self.outbox
        while True:
            message = outbox.pop()
            if message is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                await _keeping_cancellation(
                    client.publish(
                        message.topic, message.payload, qos=message.qos, retain=message.retain
                    )
                )
            except aiomqtt.MqttError:
                outbox.requeue(message)
                raise

    async def _listen(self, client: aiomqtt.Client) -> None:
        """Dispatch incoming messages; also how a lost connection is noticed while idle."""
        async for message in client.messages:
            for handler in self._handlers:
                if message.topic.matches(handler.topic_filter):
                    try:
                        await handler.handle(message)
                    except Exception:
                        _LOGGER.exception("handler for %s failed", handler.topic_filter)
