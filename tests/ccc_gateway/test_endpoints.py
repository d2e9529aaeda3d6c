"""Broker endpoints: in order at start, the next one at once on loss, backoff per failed round."""

from __future__ import annotations

import pytest

from ccc_gateway.mqtt.endpoints import Endpoint, EndpointRotation

A, B, C = Endpoint("a", 1883), Endpoint("b", 1883), Endpoint("::1", 1884)


def delays(round_: int) -> float:
    """1, 2, 4, … s: distinct so a test sees which round's wait was asked for."""
    return float(2**round_)


def attempts(rotation: EndpointRotation, outcomes: str) -> list[tuple[Endpoint, float]]:
    """Drive *rotation*: f = the attempt failed, c = it connected, l = connected, then lost."""
    seen = []
    for outcome in outcomes:
        attempt = rotation.next_attempt()
        seen.append((attempt.endpoint, attempt.delay))
        if outcome == "f":
            rotation.failed()
        elif outcome == "c":
            rotation.connected()
        else:
            rotation.connected()
            rotation.lost()
    return seen


def test_start_tries_the_list_in_order_and_backs_off_only_after_a_whole_round() -> None:
    rotation = EndpointRotation([A, B, C], delays)
    assert attempts(rotation, "fffffff") == [
        (A, 0.0),
        (B, 0.0),
        (C, 0.0),
        (A, 1.0),
        (B, 0.0),
        (C, 0.0),
        (A, 2.0),
    ]


def test_a_lost_node_is_followed_at_once_by_the_next_round_robin() -> None:
    rotation = EndpointRotation([A, B, C], delays)
    # Connected to A, lost: B at once; B lost too: C at once; C lost: back to A.
    assert attempts(rotation, "llll") == [(A, 0.0), (B, 0.0), (C, 0.0), (A, 0.0)]


def test_after_a_loss_the_lost_node_comes_last_and_the_backoff_starts_over() -> None:
    rotation = EndpointRotation([A, B, C], delays)
    attempts(rotation, "fff")  # a round failed: the next wait would be 1 s
    assert attempts(rotation, "lffff") == [(A, 1.0), (B, 0.0), (C, 0.0), (A, 0.0), (B, 1.0)]


def test_one_endpoint_waits_the_backoff_as_a_single_broker_always_did() -> None:
    rotation = EndpointRotation([A], delays)
    assert attempts(rotation, "fflff") == [(A, 0.0), (A, 1.0), (A, 2.0), (A, 1.0), (A, 2.0)]


def test_no_endpoint_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        EndpointRotation([], delays)


def test_ipv6_endpoints_print_with_brackets() -> None:
    assert str(C) == "[::1]:1884"
    assert str(Endpoint("broker.local", 8883)) == "broker.local:8883"
