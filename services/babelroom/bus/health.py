"""What a stage's consume loop is doing, as its ops server reports it (``/healthz``, ``/readyz``).

:func:`babelroom.bus.stage.run_stage` moves a :class:`StageHealth` through its states:

- ``starting``: the model is loading or the consumer group is not set up yet;
- ``consuming``: XREADGROUP rounds succeed;
- ``reconnecting``: Redis is unreachable or lost the stream/group; the loop retries with back-off;
- ``waiting``: a dependency of the handler (the database …) is down; the batch is held and retried;
- ``dead``: the loop ended with an unexpected exception (the worker process then exits with 70).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

State = Literal["starting", "consuming", "reconnecting", "waiting", "dead"]


class StageHealth:
    """The state of one consume loop and when it last made progress.

    Args:
        block_s: the XREADGROUP block time (s); an idle loop completes a round at least this often.
        stale_rounds: read rounds that may be missed before the loop counts as stalled.
        handler_stall_s: how long one handler call may run before the loop counts as stalled (s).
        clock: monotonic time in seconds.
    """

    def __init__(
        self,
        block_s: float = 1.0,
        *,
        stale_rounds: int = 3,
        handler_stall_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state: State = "starting"
        self.block_s = block_s
        self.stale_rounds = stale_rounds
        self.handler_stall_s = handler_stall_s
        self._clock = clock
        self.last_read = clock()
        self.busy_since: float | None = None
        self.reason = ""

    def set(self, state: State, reason: str = "") -> None:
        """Enter ``state`` (``reason``: why, for ``reconnecting``, ``waiting`` and ``dead``)."""
        self.state, self.reason = state, reason

    def read_ok(self) -> None:
        """An XREADGROUP round succeeded."""
        self.state, self.reason, self.last_read = "consuming", "", self._clock()

    def handling(self, busy: bool) -> None:
        """The handler started (``busy``) or finished a batch; a finished batch counts as progress."""
        now = self._clock()
        self.busy_since = now if busy else None
        if not busy:
            self.last_read = now

    def stalled(self) -> bool:
        """A handler call runs longer than ``handler_stall_s``, or no read round for ``stale_rounds``."""
        now = self._clock()
        if self.busy_since is not None:
            return now - self.busy_since > self.handler_stall_s
        return now - self.last_read > self.stale_rounds * self.block_s + 1.0

    def consuming(self) -> bool:
        """Readiness: the loop reads its stream and is not stalled."""
        return self.state == "consuming" and not self.stalled()

    def alive(self) -> bool:
        """Liveness: the loop has not died and, when consuming, is not stalled (retrying is alive)."""
        if self.state == "dead":
            return False
        return not (self.state == "consuming" and self.stalled())
