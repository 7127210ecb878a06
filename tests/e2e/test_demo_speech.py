"""`babelroom demo --speak`: the stack runs `babelroom tts`, the Spanish listener is in audio mode, and
`speech.es.wav` (the spoken translations on the call's timeline) is written and transcribed back by
Whisper base close to the Spanish captions. A short real clip (JFK, 11 s) keeps it quick."""

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "tests" / "data" / "speech" / "jfk.flac"  # see its ATTRIBUTION.md


def test_demo_speak_writes_the_spanish_speech_on_the_timeline(tmp_path, project_state_dir):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "babelroom.cli", "demo", "--speak", "--audio", str(CLIP), "--out", str(out)],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "BABELROOM_STATE_DIR": str(project_state_dir("demo-speak")),
             "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1",
             # a busy test machine may speak slower than real time: keep late speech rather than drop it
             "BABELROOM_TTS_MAX_AGE_S": "300", "BABELROOM_WS_SPEECH_MAX_AGE_S": "300",
             # a worktree's own code, another models directory
             **{k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "BABELROOM_MODELS_DIR")}},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    finals = [c for c in json.loads((out / "captions.json").read_text()) if c["type"] == "final"]
    assert finals and all(c["translation"]["language"] == "es" for c in finals)
    with wave.open(str(out / "speech.es.wav")) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (48_000, 1, 2)
        seconds = wav.getnframes() / 48_000
    assert seconds > 2.0  # the speech starts after the first final and lasts a sentence or more
    printed = " ".join(result.stdout.split())
    assert "0 finals unspoken" in printed
    wer = float(printed.split("WER ")[1].split()[0])
    assert wer < 0.5, printed[-2000:]
    heard = (out / "speech.es.txt").read_text().lower()
    assert "país" in heard or "pais" in heard, heard
