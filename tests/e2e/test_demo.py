"""`babelroom demo` end to end on the bundled clip: English and Spanish finals, SRT/VTT/JSON written."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import jiwer
import psutil

ROOT = Path(__file__).resolve().parents[2]


def test_demo_on_the_bundled_clip(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "babelroom.cli", "demo", "--no-realtime", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
        env={"PATH": "/usr/bin:/bin", "BABELROOM_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    captions = json.loads((out / "captions.json").read_text())
    finals = [c for c in captions if c["type"] == "final"]
    assert len(finals) >= 8
    assert all(c["translation"]["language"] == "es" and c["translation"]["text"] for c in finals)
    assert all(c["final_latency_ms"] is not None for c in finals)
    reference = " ".join((ROOT / "assets" / "demo" / "demo_en.txt").read_text().split())
    normalise = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(), jiwer.Strip()])
    hypothesis = " ".join(c["text"] for c in finals)
    assert jiwer.wer(normalise(reference), normalise(hypothesis)) < 0.25
    srt_es = (out / "captions.es.srt").read_text()
    vtt_en = (out / "captions.en.vtt").read_text()
    assert srt_es.startswith("1\n00:00:") and " --> " in srt_es
    assert vtt_en.startswith("WEBVTT") and "Speaker: " in vtt_en


def test_ctrl_c_stops_everything_the_demo_started(tmp_path):
    state = tmp_path / "state"
    demo = subprocess.Popen(
        [sys.executable, "-m", "babelroom.cli", "demo", "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={"PATH": "/usr/bin:/bin", "BABELROOM_STATE_DIR": str(state), "HOME": str(tmp_path)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal
    )
    for line in demo.stdout:
        if line.startswith("Ready: gateway"):
            break
    time.sleep(3)  # mid-stream
    children = psutil.Process(demo.pid).children(recursive=True)
    names = {" ".join(c.cmdline()).split("babelroom.cli ")[-1].split()[0] for c in children}
    assert {"gateway", "stt", "mt", "/usr/bin/redis-server"} <= names
    demo.send_signal(signal.SIGINT)
    assert demo.wait(30) != 0
    _, alive = psutil.wait_procs(children, timeout=15)
    assert alive == []
