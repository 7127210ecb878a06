"""A small circuit breaker for blocking calls to a remote backend.

States: **closed** (calls pass; ``failure_threshold`` consecutive failures open it) → **open** (calls fail
at once with :class:`CircuitOpen`, for ``reset_timeout_s``) → **half-open** (one trial call at a time
passes: success closes the breaker, failure opens it for another ``reset_timeout_s``).
``MT_CIRCUIT_OPEN{backend}`` is 1 from opening until the breaker closes again, 0 while closed.

Written here rather than taken from pybreaker (1.4.1, the maintained sync library on PyPI) because
pybreaker times the open state with the wall clock (``datetime.now``), which tests cannot inject and
which jumps with clock changes; this one takes any monotonic clock.

Source: M. Nygard, *Release It!* (2nd ed.), "Circuit Breaker"; https://martinfowler.com/bliki/CircuitBreaker.html
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

from babelroom.metrics import MT_CIRCUIT_OPEN
from babelroom.mt.base import TranslationError

T = TypeVar("T")


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(TranslationError):
    """The breaker refused the call without making it."""


class CircuitBreaker:
    """Guards calls to one backend; thread-safe.

    Args:
        name: the backend's name (the ``backend`` label of ``MT_CIRCUIT_OPEN``).
        failure_threshold: consecutive failures that open the breaker.
        reset_timeout_s: how long it stays open before a trial call is let through (s).
        clock: monotonic time in seconds (injectable for tests).
    """

    def __init__(
        self,
        name: str,
        failure_threshold: int = 5,
        reset_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        MT_CIRCUIT_OPEN.labels(name).set(0)

    @property
    def state(self) -> State:
        with self._lock:
            return self._state()

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` unless the breaker is open; any exception it raises counts as a failure.

        Raises:
            CircuitOpen: open, or half-open with a trial call already running.
            Exception: whatever ``fn`` raised, re-raised after counting it.
        """
        with self._lock:
            state = self._state()
            if state is State.OPEN or (state is State.HALF_OPEN and self._trial_running):
                raise CircuitOpen(f"{self.name}: circuit open after {self._failures} consecutive failures")
            self._trial_running = state is State.HALF_OPEN
        try:
            result = fn()
        except Exception:
            with self._lock:
                self._trial_running = False
                self._failures += 1
                if state is State.HALF_OPEN or self._failures >= self.failure_threshold:
                    self._opened_at = self._clock()
                    MT_CIRCUIT_OPEN.labels(self.name).set(1)
            raise
        with self._lock:
            self._trial_running = False
            self._failures = 0
            self._opened_at = None
            MT_CIRCUIT_OPEN.labels(self.name).set(0)
        return result

    def _state(self) -> State:
        if self._opened_at is None:
            return State.CLOSED
        if self._clock() - self._opened_at < self.reset_timeout_s:
            return State.OPEN
        return State.HALF_OPEN
