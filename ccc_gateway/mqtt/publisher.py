"""The MQTT side of the gateway: one aiomqtt connection, kept alive, fed from the :class:`Outbox`.

Readers call :meth:`Publisher.put`, which never blocks and never fails; this task owns the
connection, the LWT, the reconnect loop with backoff over the broker endpoints
(:mod:`.endpoints`), and the republication of the latest state after a reconnect. Handlers for
incoming topics (commands) plug in with :meth:`add_handler`.

Sessions are persistent by default (clean start off; under MQTT 5 with a session expiry), so a
broker or cluster keeps the gateway's QoS 1 command subscription and what arrived for it while
the gateway was away or moving to another node. The gateway's own QoS 1 publications survive a
lost connection without the broker's help: one is in flight at a time, and one that was not
acknowledged goes back to the head of the outbox and is sent again on the next connection,
whichever node that is (at least once; consumers de-duplicate on meter, register and ``ts``).

MQTT 5 by default, for *retain as published* on the command subscription: a command sent with
the retain flag keeps it even when delivered live, so the guard refuses it outright. A broker
that cannot do 5 makes the publisher fall back to 3.1.1 for the rest of the run
(:mod:`.protocol_choice`), with one warning saying what that costs for commands.

:meth:`Publisher.close` is the clean stop: what is queued (the last command answers above all)
is sent, then ``offline``, then the connection is closed; nothing is published after ``offline``.
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
from paho.mqtt.client import MQTT_CLEAN_START_FIRST_ONLY
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from ..config import MqttConfig
from ..ports.supervisor import Backoff
from .endpoints import Endpoint, EndpointRotation
from .outbox import Message, Outbox
from .protocol_choice import FALLBACK_COST, ProtocolChoice
from .topics import Topics

__all__ = ["MessageHandler", "Publisher"]

_LOGGER = logging.getLogger(__name__)


class _Closed(Exception):
    """Raised by the drain loop once the outbox is empty and ``offline`` is out."""


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
        self.rotation = EndpointRotation(config.brokers, self.backoff.delay)
        self.persistent_session = not config.clean_start
        self.session_expiry = config.session_expiry
        self.outbox = Outbox(config.queue_size)
        self.connected = False
        #: The endpoint of the live connection, None while disconnected.
        self.endpoint: Endpoint | None = None
        #: Connections established after the first one (failovers and reconnects).
        self.reconnects = 0
        #: Messages the broker took (acknowledged, for QoS 1) since start.
        self.published = 0
        self._handlers: list[MessageHandler] = []
        self._wake = asyncio.Event()
        self._protocol = ProtocolChoice(config.protocol)
        self._closing = asyncio.Event()

    def put(self, message: Message) -> None:
        """Queue *message* for the broker; returns at once whatever the connection's state."""
        self.outbox.put(message)
        self._wake.set()

    def add_handler(self, handler: MessageHandler) -> None:
        """Subscribe *handler* on every (re)connect. Add before :meth:`run` starts."""
        self._handlers.append(handler)

    def _client(self, endpoint: Endpoint) -> aiomqtt.Client:
        config = self.config
        tls_context = None
        if config.tls:
            tls_context = ssl.create_default_context(cafile=config.ca_file)
            if config.cert_file is not None:
                tls_context.load_cert_chain(config.cert_file, config.key_file)
            if config.tls_insecure:
                tls_context.check_hostname = False
                tls_context.verify_mode = ssl.CERT_NONE
        v5 = self._protocol.current == "5"
        protocol = aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311
        properties = None
        if v5 and self.persistent_session:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self.session_expiry
        return aiomqtt.Client(
            endpoint.host,
            endpoint.port,
            username=config.username,
            password=None if config.password is None else config.password.reveal(),
            identifier=self.client_id,
            protocol=protocol,
            # A new client object per connection: paho's "clean only the first time" would
            # make every one clean, so the flag is given outright.
            clean_session=None if v5 else not self.persistent_session,
            clean_start=(not self.persistent_session) if v5 else MQTT_CLEAN_START_FIRST_ONLY,
            properties=properties,
            will=aiomqtt.Will(self.topics.bridge_state, b"offline", qos=1, retain=True),
            keepalive=config.keepalive,
            tls_context=tls_context,
            timeout=config.publish_timeout,
            # Without TCP_NODELAY a publish right after another waits for the broker's delayed
            # ACK (Nagle): 40 ms per push on Linux loopback instead of well under one.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )

    @property
    def protocol(self) -> str:
        """The MQTT protocol of the current (or next) connection: "5" or "3.1.1"."""
        return self._protocol.current

    def _fallen_back(self, where: str, reason: str) -> None:
        _LOGGER.warning(
            "MQTT broker %s %s: falling back to 3.1.1 for this run. What that costs for "
            "commands: %s",
            where,
            reason,
            FALLBACK_COST,
        )

    async def close(self) -> None:
        """Ask :meth:`run` to send what is queued, then ``offline``, then disconnect and return.

        Returns at once; await the task running :meth:`run` (with a timeout of your choosing:
        cancelling it still says ``offline``, without the rest of the queue).
        """
        self._closing.set()
        self._wake.set()

    async def run(self) -> None:
        """Stay connected until cancelled or closed; either way announce ``offline`` cleanly."""
        rotation = self.rotation
        lost = False
        ever_connected = False
        retry_now = False
        while not self._closing.is_set():
            if retry_now:
                # Same endpoint at once, with the protocol the choice moved to (5 → 3.1.1).
                endpoint = rotation.current
            else:
                attempt = rotation.next_attempt()
                if attempt.delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), attempt.delay)
                    if self._closing.is_set():
                        return
                endpoint = attempt.endpoint
            retry_now = False
            established = False
            client = self._client(endpoint)
            try:
                async with client:
                    established = True
                    rotation.connected()
                    self.endpoint = endpoint
                    reason = self._protocol.connected()
                    if reason is not None:
                        self._fallen_back(str(endpoint), reason)
                    if ever_connected:
                        self.reconnects += 1
                        _LOGGER.info(
                            "connected to MQTT broker %s again (MQTT %s); republishing the "
                            "latest state",
                            endpoint,
                            self.protocol,
                        )
                    else:
                        _LOGGER.info(
                            "connected to MQTT broker %s (MQTT %s)", endpoint, self.protocol
                        )
                    ever_connected = True
                    lost = False
                    await self._serve(client)
            except (aiomqtt.MqttError, OSError, ssl.SSLError) as exc:
                self.connected = False
                self.endpoint = None
                _drop_socket(client)
                retry_now, reason = self._protocol.failed(exc)
                if reason is not None:
                    self._fallen_back(str(endpoint), reason)
                if retry_now:
                    continue
                if established:
                    rotation.lost()
                else:
                    rotation.failed()
                if self._closing.is_set():
                    return  # no broker to say goodbye to; the LWT says offline
                if not lost:
                    if len(rotation.endpoints) > 1:
                        _LOGGER.warning(
                            "MQTT broker %s unavailable (%s); trying %s next. Check that the "
                            "node runs; reading goes on and state is sent when one is back",
                            endpoint,
                            exc,
                            rotation.current,
                        )
                    else:
                        _LOGGER.warning(
                            "MQTT broker %s unavailable (%s): check that it runs, the host, "
                            "port, TLS settings and credentials. Reading goes on; state is "
                            "kept and sent when it is back",
                            endpoint,
                            exc,
                        )
                    lost = True

    async def _serve(self, client: aiomqtt.Client) -> None:
        try:
            await client.publish(self.topics.bridge_state, b"online", qos=1, retain=True)
            for handler in self._handlers:
                if self._protocol.current == "5":
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
        except* _Closed:
            pass  # closed cleanly: the caller disconnects
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
                if self._closing.is_set():
                    # Everything queued is out: "offline" is the last word, then disconnect.
                    await client.publish(self.topics.bridge_state, b"offline", qos=1, retain=True)
                    raise _Closed
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                await _keeping_cancellation(
                    client.publish(
                        message.topic, message.payload, qos=message.qos, retain=message.retain
                    )
                )
            except BaseException:
                # Not acknowledged: the connection broke (MqttError), or the listener noticed
                # that first and the task group cancelled this wait. Either way the message
                # goes back to the head of the line for the next connection, on any node.
                outbox.requeue(message)
                raise
            self.published += 1

    async def _listen(self, client: aiomqtt.Client) -> None:
        """Dispatch incoming messages; also how a lost connection is noticed while idle."""
        async for message in client.messages:
            for handler in self._handlers:
                if message.topic.matches(handler.topic_filter):
                    try:
                        await handler.handle(message)
                    except Exception:
                        _LOGGER.exception("handler for %s failed", handler.topic_filter)


def _drop_socket(client: aiomqtt.Client) -> None:
    """Close the connection of a failed attempt.

    aiomqtt 2 leaves paho's connection open when the CONNACK never comes (timeout): every such
    attempt would leak a socket, and a broker like amqtt waits on it for a minute at its own
    shutdown. paho's ``disconnect`` closes it through the callbacks aiomqtt registered.
    """
    paho = getattr(client, "_client", None)  # private: without it there is nothing to close
    if paho is not None and paho.socket() is not None:
        with contextlib.suppress(Exception):
            paho.disconnect()
