"""The speech clip the Janus media tests publish: its reference text and a WAV writer for the
publisher (``aiortc``'s ``MediaPlayer`` reads the file)."""

from __future__ import annotations

from pathlib import Path

import jiwer
import numpy as np

SPEECH = Path(__file__).resolve().parents[1] / "data" / "speech"
CLIP = SPEECH / "jfk.flac"


def reference() -> str:
    """The clip's reference transcript."""
    rows = [r.split("\t") for r in (SPEECH / "references.tsv").read_text().splitlines()[1:]]
    return {r[0]: r[-1] for r in rows}[CLIP.name]


def normalise(text: str) -> str:
    """Lower case, no punctuation: what the WER is computed on."""
    return jiwer.RemovePunctuation()(text.lower()).strip()


def write_wav(path: Path, audio: np.ndarray) -> None:
    """``audio`` (float32 mono, 16 kHz, [-1, 1]) as a 16-bit WAV file."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray((np.clip(audio, -1, 1) * 32767).astype("<i2").reshape(1, -1),
                                           format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
