"""The outbox: latest state per topic, latest-only power, bounded events, resend on reconnect."""

from __future__ import annotations

from ccc_gateway.mqtt import Delivery, Message, Outbox


def drain(outbox: Outbox) -> list[tuple[str, bytes]]:
    out = []
    while (message := outbox.pop()) is not None:
        out.append((message.topic, message.payload))
    return out


def test_state_and_latest_collapse_per_topic_in_order() -> None:
    outbox = Outbox()
    outbox.put(Message("m/power", b"1", Delivery.LATEST))
    outbox.put(Message("m/energy", b"1", Delivery.STATE))
    outbox.put(Message("m/power", b"2", Delivery.LATEST))
    assert drain(outbox) == [("m/energy", b"1"), ("m/power", b"2")]


def test_events_are_bounded_dropping_the_oldest() -> None:
    outbox = Outbox(max_events=3)
    for i in range(5):
        outbox.put(Message("m/events", bytes([i]), Delivery.EVENT))
    assert outbox.dropped_events == 2
    assert drain(outbox) == [("m/events", bytes([i])) for i in (2, 3, 4)]


def test_resend_state_puts_every_retained_topic_first() -> None:
    outbox = Outbox()
    outbox.put(Message("m/info", b"i", Delivery.STATE))
    outbox.put(Message("m/energy", b"e", Delivery.STATE))
    outbox.put(Message("m/power", b"p", Delivery.LATEST))
    drain(outbox)
    outbox.put(Message("m/power", b"p2", Delivery.LATEST))
    outbox.resend_state()
    assert drain(outbox) == [("m/info", b"i"), ("m/energy", b"e"), ("m/power", b"p2")]
    assert drain(outbox) == []


def test_requeue_keeps_order_and_defers_to_newer_values() -> None:
    outbox = Outbox(max_events=2)
    outbox.put(Message("m/events", b"a", Delivery.EVENT))
    outbox.put(Message("m/events", b"b", Delivery.EVENT))
    first = outbox.pop()
    assert first is not None
    outbox.requeue(first)
    assert drain(outbox) == [("m/events", b"a"), ("m/events", b"b")]
    outbox.put(Message("m/energy", b"old", Delivery.STATE))
    stale = outbox.pop()
    assert stale is not None
    outbox.put(Message("m/energy", b"new", Delivery.STATE))
    outbox.requeue(stale)
    assert drain(outbox) == [("m/energy", b"new")]


def test_only_state_is_retained() -> None:
    assert Message("t", b"", Delivery.STATE).retain
    assert not Message("t", b"", Delivery.LATEST).retain
    assert not Message("t", b"", Delivery.EVENT).retain
