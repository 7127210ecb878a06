"""Speaker labels onto finals by time overlap."""

from __future__ import annotations

from collections import defaultdict

from babelroom.diarization.buffer import BufferedSegment
from babelroom.diarization.engine import SpeakerTurn


def label_segments(segments: tuple[BufferedSegment, ...], turns: tuple[SpeakerTurn, ...],
                   labels: dict[str, str]) -> dict[int, str]:
    """``seq`` → the label whose turns overlap that segment's stretch of the window most.

    A segment no turn overlaps gets no label. ``labels`` maps the turns' local speakers to stable ones.
    """
    out = {}
    for segment in segments:
        overlap: dict[str, float] = defaultdict(float)
        for turn in turns:
            shared = min(segment.window_end_s, turn.end_s) - max(segment.window_start_s, turn.start_s)
            if shared > 0:
                overlap[turn.speaker] += shared
        if overlap:
            out[segment.seq] = labels[max(overlap, key=lambda s: overlap[s])]
    return out
