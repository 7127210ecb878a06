"""Checks on an audio socket's stream: is audio arriving at (nearly) real time, and is a stereo stream stereo.

:class:`RateWatchdog` (issue 8, D12): a socket that sends no frame for ``idle_timeout_s``, or less
than ``min_ratio`` seconds of audio per wall-clock second over the last ``window_s``, holds a speaking
slot without speaking; the audio socket closes it with 4408.

:class:`StereoCheck` (issue 8, D13b): a header claiming two channels over mono data (a mono signal's
samples interleaved as if they were left/right pairs) plays at half speed and garbles the captions.
Over the first ``check_s`` seconds of non-silent audio it compares, on the interleaved samples ``y``
(each channel scaled to unit RMS), the differences inside a claimed pair (``y[2n+1] - y[2n]``, left
to right) with those across pairs (``y[2n+2] - y[2n+1]``), and the correlation of neighbouring
samples across pairs. Real stereo pairs are simultaneous, so the inside differences are clearly
smaller than the across ones (the same source on both channels) or neighbours are uncorrelated
(independent channels); mono data makes both kinds of neighbours alike and strongly correlated.
A heuristic: the result is counted
(``babelroom_ingest_channel_checks_total{result}``) and logged, the stream is not refused.
"""

from __future__ import annotations

from collections import deque

import numpy as np

#: Below this RMS (of full scale) a frame is silence and tells nothing about its channels.
SILENCE_RMS = 0.003
#: Inside/across difference energy ratio above which the pairing looks arbitrary.
PAIRING_RATIO = 0.7
#: Correlation of neighbouring samples across pairs above which the data is one smooth signal.
NEIGHBOUR_CORRELATION = 0.5


class RateWatchdog:
    """Tracks when audio arrived; :meth:`verdict` says why the stream is too slow, if it is.

    Args:
        idle_timeout_s: longest time without a frame (s).
        window_s: window of the rate check (s); the check starts once the stream is this old.
        min_ratio: least audio seconds per wall-clock second over the window.
        started: the stream's start, on the caller's monotonic clock (s).
    """

    def __init__(self, *, idle_timeout_s: float, window_s: float, min_ratio: float, started: float) -> None:
        self.idle_timeout_s, self.window_s, self.min_ratio = idle_timeout_s, window_s, min_ratio
        self.started = self.last_frame = started
        self._frames: deque[tuple[float, float]] = deque()  # (arrival, audio seconds)

    def frame(self, now: float, audio_s: float) -> None:
        """Record a frame of ``audio_s`` seconds arriving at ``now``."""
        self.last_frame = now
        self._frames.append((now, audio_s))
        while self._frames and self._frames[0][0] < now - self.window_s:
            self._frames.popleft()

    def next_check(self) -> float:
        """The latest time to call :meth:`verdict` again (the idle deadline)."""
        return self.last_frame + self.idle_timeout_s

    def verdict(self, now: float) -> tuple[str, str] | None:
        """``(metric reason, close reason)`` when the stream is idle or too slow at ``now``, else None."""
        if now - self.last_frame >= self.idle_timeout_s:
            return "idle", f"idle: no audio for {self.idle_timeout_s:g} s"
        if now - self.started < self.window_s:
            return None
        audio = sum(s for t, s in self._frames if t >= now - self.window_s)
        if audio < self.min_ratio * self.window_s:
            return "too_slow", (f"too slow: {audio:.1f} s of audio in the last {self.window_s:g} s "
                                f"(at least {self.min_ratio * self.window_s:g} s expected)")
        return None


class StereoCheck:
    """Decides once, from the first ``check_s`` seconds of non-silent stereo audio, whether it is stereo.

    Feed every frame's interleaved samples to :meth:`feed`; it returns ``"consistent"`` or
    ``"mono_as_stereo"`` once (when decided), else None.
    """

    def __init__(self, sample_rate: int, check_s: float) -> None:
        self._needed = int(sample_rate * check_s)
        self._pairs = 0
        self._inside = self._across = 0.0
        self._xy = self._xx = self._yy = 0.0
        self.result: str | None = None

    def feed(self, interleaved: np.ndarray) -> str | None:
        """Account one frame, ``(2k,) int16`` interleaved left/right."""
        if self.result is not None or interleaved.size < 4:
            return None
        y = interleaved.astype(np.float64) / 32768.0
        if np.sqrt(np.mean(y * y)) < SILENCE_RMS:
            return None
        left, right = y[0::2], y[1::2]
        left_rms, right_rms = np.sqrt(np.mean(left * left)), np.sqrt(np.mean(right * right))
        if min(left_rms, right_rms) < SILENCE_RMS:
            return None
        left, right = left / left_rms, right / right_rms  # a level difference is not a difference in time
        nxt = left[1:]
        self._inside += float(np.sum((right - left) ** 2))
        self._across += float(np.sum((nxt - right[:-1]) ** 2))
        a, b = right[:-1] - right[:-1].mean(), nxt - nxt.mean()
        self._xy += float(np.sum(a * b))
        self._xx += float(np.sum(a * a))
        self._yy += float(np.sum(b * b))
        self._pairs += left.size
        if self._pairs < self._needed:
            return None
        correlation = self._xy / np.sqrt(self._xx * self._yy) if self._xx and self._yy else 0.0
        pairing = self._inside / self._across if self._across else 0.0
        mono = correlation > NEIGHBOUR_CORRELATION and pairing > PAIRING_RATIO
        self.result = "mono_as_stereo" if mono else "consistent"
        return self.result
