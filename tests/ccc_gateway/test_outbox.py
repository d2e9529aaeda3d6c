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


def test_series_keeps_every_register_update_in_order_and_retained() -> None:
    outbox = Outbox()
    outbox.put(Message("m/energy", b"1", Delivery.SERIES))
    outbox.put(Message("m/power", b"p", Delivery.LATEST))
    outbox.put(Message("m/energy", b"2", Delivery.SERIES))
    outbox.put(Message("m/energy", b"3", Delivery.SERIES))
    popped = outbox.pop()
    assert popped is not None
    assert popped.retain
    assert [(popped.topic, popped.payload), *drain(outbox)] == [
        ("m/energy", b"1"),
        ("m/power", b"p"),
        ("m/energy", b"2"),
        ("m/energy", b"3"),
    ]


def test_series_resent_as_latest_state_after_reconnect_only_when_none_is_queued() -> None:
    outbox = Outbox()
    outbox.put(Message("m/info", b"i", Delivery.STATE))
    outbox.put(Message("m/energy", b"1", Delivery.SERIES))
    drain(outbox)
    outbox.resend_state()
    assert drain(outbox) == [("m/info", b"i"), ("m/energy", b"1")]
    # While the broker was away two updates were queued: they go in order, and the latest is
    # not sent ahead of them (the retained value would go back and forth).
    outbox.put(Message("m/energy", b"2", Delivery.SERIES))
    outbox.put(Message("m/energy", b"3", Delivery.SERIES))
    outbox.resend_state()
    assert drain(outbox) == [("m/info", b"i"), ("m/energy", b"2"), ("m/energy", b"3")]


def test_series_share_the_event_bound_and_a_requeued_one_goes_first() -> None:
    outbox = Outbox(max_events=3)
    for i in range(4):
        outbox.put(Message("m/energy", bytes([i]), Delivery.SERIES))
    assert outbox.dropped_events == 1
    first = outbox.pop()
    assert first is not None
    assert first.payload == bytes([1])
    outbox.put(Message("m/events", b"e", Delivery.EVENT))
    outbox.requeue(first)  # its publication failed: first in line again, before newer ones
    assert drain(outbox) == [
        ("m/energy", bytes([1])),
        ("m/energy", bytes([2])),
        ("m/energy", bytes([3])),
        ("m/events", b"e"),
    ]
    # Everything was sent: after a reconnect the latest register state goes once more.
    outbox.resend_state()
    assert drain(outbox) == [("m/energy", bytes([3]))]
