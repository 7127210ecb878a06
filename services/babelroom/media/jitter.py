"""A small jitter buffer: puts one RTP stream back in sequence order, and says what was lost.

The buffer adds no delay to packets that arrive in order: the next expected packet is released the
moment it arrives. Only a gap holds packets back: those after it wait until the missing one arrives,
or until ``max_wait_s`` has passed since the oldest waiting packet arrived, or until more than
``max_packets`` are waiting; then the missing packet is declared lost and the waiting ones go out.
So the delay it adds is bounded by ``max_wait_s`` and is paid only on reordering or loss.

Sequence numbers are 16-bit and wrap (65535 → 0); they are extended to an unbounded counter as in
RFC 3550 §A.1. A jump of more than ``max_dropout`` (a sender restart) resets the buffer rather than
declaring thousands of packets lost.

Per packet the outcome is one of: released in order, ``reordered`` (arrived after a later one; still
released), ``duplicate`` (already held or released: dropped), ``late`` (its slot was already
declared lost: dropped).

Source: RFC 3550 §A.1 (sequence-number validation and extension), https://www.rfc-editor.org/rfc/rfc3550
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from babelroom.media.rtp import RtpPacket, seq_delta

MAX_DROPOUT = 3000
"""A jump this far ahead (or behind) is a restart of the sender's numbering, not loss:
the buffer restarts there once a second packet confirms the new numbering."""


@dataclass(frozen=True, slots=True)
class Slot:
    """One released sequence number: a packet, or a loss (``packet`` is None).

    Attributes:
        index: extended sequence number (keeps counting past 65535).
        packet: the packet, or None when it was declared lost.
        held_s: how long the packet waited in the buffer (0 for losses and in-order packets).
    """

    index: int
    packet: RtpPacket | None
    held_s: float = 0.0


@dataclass
class JitterStats:
    """Counters since the buffer was created."""

    received: int = 0
    released: int = 0
    reordered: int = 0
    duplicates: int = 0
    late: int = 0
    lost: int = 0
    resets: int = 0


@dataclass
class JitterBuffer:
    """Re-orders one SSRC's packets. Times (``now``) are monotonic seconds supplied by the caller.

    Args:
        max_wait_s: the longest a packet waits for a missing predecessor.
        max_packets: the most packets held behind a gap.
    """

    max_wait_s: float = 0.06
    max_packets: int = 50
    stats: JitterStats = field(default_factory=JitterStats)
    _next: int | None = None  # extended sequence number of the next slot to release
    _highest: int | None = None  # highest extended sequence number seen
    _held: dict[int, tuple[RtpPacket, float]] = field(default_factory=dict)
    _recent: deque[int] = field(default_factory=lambda: deque(maxlen=256))  # released packets
    _candidate: tuple[RtpPacket, float] | None = None  # first packet after a far jump

    def _extend(self, seq: int) -> int:
        if self._highest is None:
            return seq
        return self._highest + seq_delta(seq, self._highest & 0xFFFF)

    def push(self, packet: RtpPacket, now: float) -> list[Slot]:
        """Add one packet; return the slots that are now released, in order (maybe none)."""
        self.stats.received += 1
        index = self._extend(packet.sequence)
        out: list[Slot] = []
        if self._next is None or self._highest is None:
            self._next = self._highest = index
        elif abs(index - self._highest) > MAX_DROPOUT:
            # A far jump: a sender restart if the next packet follows it, else a stray packet.
            candidate, self._candidate = self._candidate, (packet, now)
            if candidate is None or (candidate[0].sequence + 1) & 0xFFFF != packet.sequence:
                self.stats.late += candidate is not None  # the previous candidate was a stray
                return out
            self._candidate = None
            self.stats.resets += 1
            out += self.flush(now)
            self._next = self._highest = index - 1
            self._recent.clear()
            self._held[index - 1] = candidate
        elif self._candidate is not None:  # the far packet was a stray after all
            self.stats.late += 1
            self._candidate = None
        if index < self._next:
            if index in self._recent:
                self.stats.duplicates += 1
            else:
                self.stats.late += 1
            return out
        if index in self._held:
            self.stats.duplicates += 1
            return out
        if index < self._highest:
            self.stats.reordered += 1
        self._highest = max(self._highest, index)
        self._held[index] = (packet, now)
        return out + self._release(now)

    def poll(self, now: float) -> list[Slot]:
        """Release what waited long enough (call at :meth:`deadline`, or on any tick)."""
        return self._release(now)

    def deadline(self) -> float | None:
        """When :meth:`poll` will next release something (monotonic s), or None if nothing waits."""
        if not self._held:
            return None
        return min(t for _, t in self._held.values()) + self.max_wait_s

    def flush(self, now: float) -> list[Slot]:
        """Release everything held, losses included, without waiting (end of stream)."""
        return self._release(now, force=True)

    @property
    def depth(self) -> int:
        """Packets held right now."""
        return len(self._held)

    def _release(self, now: float, force: bool = False) -> list[Slot]:
        out: list[Slot] = []
        if self._next is None:  # no packet yet, so nothing held
            return out
        while self._held:
            if self._next in self._held:
                packet, arrived = self._held.pop(self._next)
                out.append(Slot(self._next, packet, max(0.0, now - arrived)))
                self.stats.released += 1
                self._recent.append(self._next)
            else:
                oldest = min(t for _, t in self._held.values())
                waited_enough = now - oldest >= self.max_wait_s or len(self._held) > self.max_packets
                if not (force or waited_enough):
                    break
                out.append(Slot(self._next, None))
                self.stats.lost += 1
            self._next += 1
        return out
