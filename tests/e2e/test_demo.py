"""`babelroom demo` end to end on the bundled clip: English and Spanish finals, SRT/VTT/JSON written,
and every final in the database afterwards (read back by the demo through the API, and here directly).

State directories are under the project's .state/ (the demo starts an embedded PostgreSQL there)."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import jiwer
import psutil
from tests.conftest import run_sql

from babelroom.db.embedded import embedded_database, stop_embedded

ROOT = Path(__file__).resolve().parents[2]


def test_demo_on_the_bundled_clip(tmp_path, project_state_dir):
    out = tmp_path / "out"
    state = project_state_dir("demo")  # the demo's PostgreSQL lives in state/demo/postgres
    result = subprocess.run(
        [sys.executable, "-m", "babelroom.cli", "demo", "--no-realtime", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
        env={"PATH": "/usr/bin:/bin", "BABELROOM_STATE_DIR": str(state), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    captions = json.loads((out / "captions.json").read_text())
    finals = [c for c in captions if c["type"] == "final"]
    assert len(finals) >= 8
    assert all(c["translation"]["language"] == "es" and c["translation"]["text"] for c in finals)
    assert all(c["final_latency_ms"] is not None for c in finals)
    reference = " ".join((ROOT / "assets" / "demo" / "demo_en.txt").read_text().split())
    normalise = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(),
                               jiwer.Strip()])
    hypothesis = " ".join(c["text"] for c in finals)
    assert jiwer.wer(normalise(reference), normalise(hypothesis)) < 0.25
    srt_es = (out / "captions.es.srt").read_text()
    vtt_en = (out / "captions.en.vtt").read_text()
    assert srt_es.startswith("1\n00:00:") and " --> " in srt_es
    assert vtt_en.startswith("WEBVTT") and "Speaker: " in vtt_en

    # the database: one row per final, with its Spanish translation, in the room the demo made
    assert "(0 finals missing)" in " ".join(result.stdout.split())  # rich wraps at 80 columns
    pgdata = (state / "demo" / "postgres").resolve()
    url = embedded_database(pgdata)
    try:
        rows = run_sql(url, "SELECT segment_id, text, translations, room_id FROM transcript_segments")
        rooms = run_sql(url, "SELECT r.id, u.email FROM rooms r JOIN users u ON u.id = r.owner_id")
    finally:
        stop_embedded(pgdata)
    assert {r["segment_id"] for r in rows} == {c["segment_id"] for c in finals}
    by_id = {c["segment_id"]: c for c in finals}
    assert all(r["text"] == by_id[r["segment_id"]]["text"] for r in rows)
    assert all(r["translations"]["es"] == by_id[r["segment_id"]]["translation"]["text"] for r in rows)
    assert len(rooms) == 1 and rooms[0]["email"].startswith("speaker-")
    assert {r["room_id"] for r in rows} == {rooms[0]["id"]}
    history = (out / "history.es.srt").read_text()
    assert history.count(" --> ") == len(finals)
    assert (out / "history.original.txt").read_text().count("\n") == len(finals)


def test_ctrl_c_stops_everything_the_demo_started(tmp_path, project_state_dir):
    state = project_state_dir("demo-ctrl-c")
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
