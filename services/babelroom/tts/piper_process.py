# SPDX-License-Identifier: GPL-3.0-or-later
"""A separate program that speaks with Piper (``piper-tts``, GPL-3.0-or-later) for
:class:`babelroom.tts.piper.PiperTextToSpeech`.

Babelroom never imports Piper: this program does, in its own process, and talks to the service only
through a pipe (FSF GPL FAQ, "mere aggregation": pipes and command-line arguments between separate
programs). Because it imports Piper, this file alone is GPL-3.0-or-later.

Usage: ``python -m babelroom.tts.piper_process MODEL.onnx [THREADS]`` (the voice config is
``MODEL.onnx.json``). Protocol, one request at a time:

- stdin: one JSON line ``{"text": "..."}`` per request;
- stdout: one JSON line ``{"sample_rate": 22050, "bytes": N}`` then N bytes of mono s16le PCM, or one
  JSON line ``{"error": "..."}``. On start it writes ``{"ready": true, "sample_rate": …}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig
    from piper.voice import ESPEAK_DATA_DIR

    model = Path(argv[0])
    threads = int(argv[1]) if len(argv) > 1 else 1
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    config = json.loads(Path(f"{model}.json").read_text(encoding="utf-8"))
    voice = PiperVoice(
        config=PiperConfig.from_dict(config),
        session=onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"]),
        espeak_data_dir=Path(ESPEAK_DATA_DIR),
    )
    out = sys.stdout.buffer

    def reply(header: dict[str, object], payload: bytes = b"") -> None:
        out.write(json.dumps(header).encode() + b"\n" + payload)
        out.flush()

    reply({"ready": True, "sample_rate": voice.config.sample_rate})
    for line in sys.stdin.buffer:
        try:
            text = str(json.loads(line)["text"])
            pcm = b"".join(chunk.audio_int16_bytes for chunk in voice.synthesize(text))
        except (KeyError, ValueError, RuntimeError, OSError) as exc:  # reported; the program goes on
            reply({"error": f"{type(exc).__name__}: {exc}"})
            continue
        reply({"sample_rate": voice.config.sample_rate, "bytes": len(pcm)}, pcm)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
