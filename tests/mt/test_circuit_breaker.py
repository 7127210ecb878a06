"""CircuitBreaker state transitions on an injected clock, and its MT_CIRCUIT_OPEN gauge."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from babelroom.mt.circuit_breaker import CircuitBreaker, CircuitOpen, State


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail() -> None:
    raise ConnectionError("down")


def ok() -> str:
    return "ok"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker("test-breaker", failure_threshold=3, reset_timeout_s=10.0, clock=clock)


def fail_times(breaker: CircuitBreaker, n: int) -> None:
    for _ in range(n):
        with pytest.raises(ConnectionError):
            breaker.call(fail)


def test_opens_after_consecutive_failures_only(breaker: CircuitBreaker, metric: Callable[..., float]) -> None:
    fail_times(breaker, 2)
    assert breaker.call(ok) == "ok"  # a success resets the count
    fail_times(breaker, 2)
    assert breaker.state is State.CLOSED
    assert metric("babelroom_mt_circuit_open", backend="test-breaker") == 0
    fail_times(breaker, 1)
    assert breaker.state is State.OPEN
    assert metric("babelroom_mt_circuit_open", backend="test-breaker") == 1


def test_open_breaker_refuses_without_calling(breaker: CircuitBreaker, clock: Clock) -> None:
    fail_times(breaker, 3)
    calls = []
    clock.now += 9.9
    with pytest.raises(CircuitOpen):
        breaker.call(lambda: calls.append(1))
    assert calls == []


def test_half_open_trial_success_closes(
    breaker: CircuitBreaker, clock: Clock, metric: Callable[..., float]
) -> None:
    fail_times(breaker, 3)
    clock.now += 10.0
    assert breaker.state is State.HALF_OPEN
    assert metric("babelroom_mt_circuit_open", backend="test-breaker") == 1
    assert breaker.call(ok) == "ok"
    assert breaker.state is State.CLOSED
    assert metric("babelroom_mt_circuit_open", backend="test-breaker") == 0
    fail_times(breaker, 2)  # the count starts again from zero
    assert breaker.state is State.CLOSED


def test_half_open_trial_failure_reopens_for_a_full_timeout(breaker: CircuitBreaker, clock: Clock) -> None:
    fail_times(breaker, 3)
    clock.now += 10.0
    fail_times(breaker, 1)
    assert breaker.state is State.OPEN
    clock.now += 9.9
    assert breaker.state is State.OPEN
    clock.now += 0.1
    assert breaker.state is State.HALF_OPEN


def test_half_open_lets_one_trial_through_at_a_time(breaker: CircuitBreaker, clock: Clock) -> None:
    fail_times(breaker, 3)
    clock.now += 10.0
    inner: list[str] = []

    def trial() -> str:
        with pytest.raises(CircuitOpen):
            breaker.call(ok)  # a concurrent call while the trial runs
        inner.append("refused")
        return "trial"

    assert breaker.call(trial) == "trial"
    assert inner == ["refused"]
    assert breaker.state is State.CLOSED
