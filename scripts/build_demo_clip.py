"""Build the demo clip ``assets/demo/demo_en.wav`` from real public-domain speech.

Joins JFK's inaugural-address excerpt and the first LJSpeech clips, in that order, with
:data:`PAUSE_S` of digital silence between them (and :data:`LEAD_S` / :data:`PAUSE_S` before and after),
as 16 kHz mono s16 WAV. Writes beside it ``demo_en.txt`` (the reference transcript, one line per
source clip, in clip order) and ``ATTRIBUTION.md``.

A development tool: it reads ``tests/data/speech`` (the repository's copy of the shared speech set, with
its ``ATTRIBUTION.md``) by default; the project itself uses only the committed output.

Usage: ``python scripts/build_demo_clip.py [--src DIR] [--out DIR]``
"""

from __future__ import annotations

import argparse
import csv
import wave
from pathlib import Path

import numpy as np

from babelroom.audio.pcm import SAMPLE_RATE, decode_file, float_to_s16le

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ["jfk.flac"] + [f"LJ001-000{i}.wav" for i in range(1, 7)]
LEAD_S = 0.5
PAUSE_S = 1.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT / "tests" / "data" / "speech")
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "demo")
    args = parser.parse_args()

    with open(args.src / "references.tsv", newline="") as f:
        refs = {row["file"]: row for row in csv.DictReader(f, delimiter="\t")}

    pause = np.zeros(round(PAUSE_S * SAMPLE_RATE), np.float32)
    parts = [np.zeros(round(LEAD_S * SAMPLE_RATE), np.float32)]
    for name in CLIPS:
        parts += [decode_file(args.src / name), pause]
    audio = np.concatenate(parts)

    args.out.mkdir(parents=True, exist_ok=True)
    with wave.open(str(args.out / "demo_en.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(float_to_s16le(audio))
    (args.out / "demo_en.txt").write_text("".join(refs[n]["text"] + "\n" for n in CLIPS))

    seconds = len(audio) / SAMPLE_RATE
    lines = [
        "# Demo clip: sources and licences",
        "",
        f"`demo_en.wav` ({seconds:.1f} s, 16 kHz mono 16-bit) joins these recordings, in this order, "
        f"with {PAUSE_S} s of silence between them ({LEAD_S} s before the first). They were resampled "
        "to 16 kHz and down-mixed to mono, nothing else. `demo_en.txt` holds their reference "
        "transcripts, one line per clip. Built by `scripts/build_demo_clip.py`.",
        "",
        "| clip | source | licence |",
        "|---|---|---|",
        *(f"| {n} | {refs[n]['source']} | {refs[n]['license']} |" for n in CLIPS),
        "",
        "LJSpeech 1.1 (Keith Ito, https://keithito.com/LJ-Speech-Dataset/) is in the public domain; "
        "the clips came through coqui-ai/TTS's test fixtures, the transcripts (LJSpeech's normalized "
        "text, numbers spelled out) through NVIDIA/tacotron2's file lists. The JFK excerpt is from the "
        "1961 inaugural address, a work of the US federal government, as shipped in "
        "SYSTRAN/faster-whisper's `tests/data/jfk.flac`.",
        "",
    ]
    (args.out / "ATTRIBUTION.md").write_text("\n".join(lines))
    print(f"wrote {args.out / 'demo_en.wav'}: {seconds:.2f} s, {len(CLIPS)} clips")


if __name__ == "__main__":
    main()
