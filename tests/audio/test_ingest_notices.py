"""The speaker's segment notices say how each segment ended (``cut``), on real speech and a real Redis."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from babelroom.audio.pcm import decode_file
from babelroom.bus.streams import AUDIO_STREAM, Publisher
from babelroom.ingest import SpeakerIngest

SPEECH = Path(__file__).resolve().parents[1] / "data" / "speech"


async def test_a_capped_segment_is_cut_and_a_pause_is_not(settings, aredis) -> None:
    """jfk.flac (11 s) under a 3 s cap: the capped segments say ``cut``; the one that ends at the pause
    after "…what your country can do for you" (7.65 s) does not."""
    settings = settings.model_copy(update={"vad_max_segment_s": 3.0})
    ingest = SpeakerIngest(room="r", speaker="s", speaker_name="S", language="en", settings=settings,
                           redis=aredis, publisher=Publisher.for_stream(aredis, AUDIO_STREAM, settings))
    audio = np.concatenate([decode_file(SPEECH / "jfk.flac"), np.zeros(16_000, np.float32)])
    notices = []
    for start in range(0, len(audio), 640):
        notices += await ingest.feed(audio[start : start + 640])
    notices += await ingest.flush()
    accepted = [n for n in notices if n.status == "accepted"]
    assert len(accepted) >= 4  # 11 s in pieces of at most 3 s
    assert [n.cut for n in accepted if n.audio_end_ms < 3_000] == [True]
    assert [n.cut for n in accepted if 7_000 < n.audio_end_ms < 8_000] == [False]
