"""A Spanish speaker and an English listener in a browser call (browser_call.py: Chromium, Playwright,
the web app, Janus, captions), on the multilingual Whisper base model.

Browser A signs up, picks "I speak: Español" in the lobby (the choices come from ``GET /api/languages``),
creates a room and speaks a Spanish clip (Multilingual LibriSpeech, tests/data/speech-multi/); browser B
signs up, joins and reads captions in English. B must get English finals (translated from Spanish by
an installed route, not ``no_route``) whose originals are A's Spanish words (WER bound), and A's room
page must show the spoken language A chose in the lobby (remembered per user). The second test
changes the spoken language in the room instead (join again, call reconnected, tap replaced).

The stack's STT model is ``models/whisper-base`` (``babelroom models install --offline``); the test
skips when it is not installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jiwer
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from browser_call import (  # noqa: E402
    ROOT,
    call_stack,
    chromium_in,
    create_room,
    join_room,
    launch,
    normalise,
    page_finals,
    sign_up,
    silent_wav,
    speaking_wav,
    wait_for_finals,
)

from babelroom.audio.pcm import decode_file  # noqa: E402
from babelroom.dev.eval_manifest import read_manifest  # noqa: E402

SPEECH = ROOT / "tests" / "data" / "speech-multi"
EVAL = ROOT / "tests" / "data" / "eval"
CLIP = "es_mls_13697_11991_000000.flac"
WHISPER_BASE = ROOT / "models" / "whisper-base"


@pytest.fixture(scope="module")
def spanish_setup(tmp_path_factory):
    if not (WHISPER_BASE / "model.bin").exists():
        pytest.skip(f"{WHISPER_BASE} is missing: `babelroom models install --offline` assembles it")
    # The call sync at its default interval: a call reconnected within one round keeps its publisher id.
    env = {"BABELROOM_STT_MODEL": str(WHISPER_BASE), "BABELROOM_JANUS_SYNC_INTERVAL_S": "2.0"}
    with call_stack(tmp_path_factory.mktemp("browser-es"), env) as setup:
        yield setup


def test_spanish_speaker_english_listener(spanish_setup):
    from playwright.sync_api import expect, sync_playwright

    setup = spanish_setup
    work, url = setup["work"], setup["url"]
    speaking, speech_end_in_file_ms = speaking_wav(work, decode_file(SPEECH / CLIP))
    silent = silent_wav(work)
    wrapper = chromium_in(setup["pair"].client, work)

    with sync_playwright() as pw:
        ctx_a, a = launch(pw, work, wrapper, "a", speaking)
        ctx_b, b = launch(pw, work, wrapper, "b", silent)
        try:
            sign_up(a, url, "Ana")
            spoken = a.get_by_test_id("spoken-language-picker")
            expect(spoken.locator("option[value='auto']")).to_have_count(1, timeout=30_000)  # GET /api/languages
            offered = spoken.locator("option").evaluate_all("els => els.map(e => e.value)")
            assert offered[0] == "auto" and "es" in offered, offered
            spoken.select_option("es")
            room_id = create_room(a, "Llamada")
            assert a.get_by_test_id("room-spoken-language-picker").input_value() == "es"

            sign_up(b, url, "Ben")
            join_room(b, room_id)
            captions = b.get_by_test_id("language-picker")
            offered = captions.locator("option").evaluate_all("els => els.map(e => e.value)")
            assert "en" in offered and "es" in offered, offered
            captions.select_option("en")

            b.locator('[data-testid="video-tile"][data-local="false"][data-display="Ana"]').wait_for(timeout=45_000)
            capture_start = a.evaluate("window.__captureStart")
            assert capture_start, "A's page never got its microphone"
            wait_for_finals(b, "en", speech_end_in_file_ms, capture_start, timeout_s=180)
            finals = page_finals(b)
            b.screenshot(path=str(work / "room-b-es.png"))
        finally:
            ctx_a.close()
            ctx_b.close()

    check_english_from_spanish(finals, "Ana", setup)


def check_english_from_spanish(finals: list[dict], speaker: str, setup: dict) -> None:
    """English finals translated from the speaker's Spanish by an installed route, close to the clip."""
    en = [f for f in finals if f["lang"] == "en"]
    assert en, f"no English finals in the listener's page: {finals}\n{setup['janus'].log()[-2000:]}"
    assert all(f["speaker"] == speaker and f["original_lang"] == "es" for f in en), en
    assert all(f["backend"] not in ("no_route", "unavailable", "source") for f in en), en
    spanish = " ".join(f["original"] for f in en)
    clip = next(c for c in read_manifest(EVAL / "es.tsv") if c.audio.name == CLIP)
    error = jiwer.wer(normalise(clip.reference), normalise(spanish))
    english = " ".join(f["text"] for f in en)
    print(f"\nSpanish WER {error:.2f}: {spanish}\nEnglish: {english}")
    assert error < 0.45, spanish
    # "Carlos", whom the speaker addresses: Apertium keeps the name, Bergamot (es→pt→en) writes "Charles".
    assert "surprise" in english.lower() and ("carlos" in english.lower() or "charles" in english.lower()), english


def test_changing_the_spoken_language_in_the_room(spanish_setup):
    """A joins speaking English (the default), then picks Español in the room before speaking: the
    page joins again with it and reconnects the call, and the server's tap follows."""
    from playwright.sync_api import expect, sync_playwright

    setup = spanish_setup
    work, url = setup["work"], setup["url"]
    speaking, speech_end_in_file_ms = speaking_wav(work, decode_file(SPEECH / CLIP), "switch48k.wav", lead_s=12.0)
    silent = silent_wav(work)
    wrapper = chromium_in(setup["pair"].client, work)

    with sync_playwright() as pw:
        ctx_a, a = launch(pw, work, wrapper, "switch-a", speaking)
        ctx_b, b = launch(pw, work, wrapper, "switch-b", silent)
        try:
            sign_up(a, url, "Eva")
            expect(a.get_by_test_id("spoken-language-picker")).to_have_value("en", timeout=30_000)
            room_id = create_room(a, "Cambio")
            a.locator('[data-testid="video-tile"][data-local="true"][data-has-video="true"]').wait_for(timeout=30_000)
            a.get_by_test_id("room-spoken-language-picker").select_option("es")
            a.get_by_test_id("spoken-language-switching").wait_for(state="detached", timeout=15_000)
            assert a.get_by_test_id("room-spoken-language-picker").input_value() == "es"

            sign_up(b, url, "Leo")
            join_room(b, room_id)
            b.get_by_test_id("language-picker").select_option("en")
            capture_start = a.evaluate("window.__captureStart")
            wait_for_finals(b, "en", speech_end_in_file_ms, capture_start, timeout_s=180)
            finals = page_finals(b)
        finally:
            ctx_a.close()
            ctx_b.close()

    check_english_from_spanish(finals, "Eva", setup)
