"""Two real browsers in a call (browser_call.py: Chromium, Playwright, the web app, Janus, captions).

Browser A signs up, creates a room and speaks the bundled English clip; browser B signs up, joins the
room (silent capture) and picks Spanish. B must see A's video tile and Spanish finals whose originals
are A's words (WER bound). A screenshot of B is saved in the test's tmp dir (and copied to
docs/screenshot-room.png when that is missing or BABELROOM_UPDATE_SCREENSHOT is set).

Latency, as ``make bench`` defines it (final received minus end of the segment's speech): the fake
capture plays the file from when getUserMedia resolves (recorded in the page), so the clip's speech
ends at ``capture_start + speech_end_in_file``; the last English segment's final arrives in B's page
(a MutationObserver stamps it).
"""

from __future__ import annotations

import os
import shutil
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
    reference,
    sign_up,
    silent_wav,
    speaking_wav,
    wait_for_finals,
)

from babelroom.audio.pcm import decode_file  # noqa: E402

SPEECH = ROOT / "tests" / "data" / "speech"


@pytest.fixture(scope="module")
def browser_setup(tmp_path_factory):
    with call_stack(tmp_path_factory.mktemp("browser")) as setup:
        yield setup


def test_two_browsers_in_a_call_with_spanish_captions(browser_setup):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    setup = browser_setup
    work, url = setup["work"], setup["url"]
    speaking, speech_end_in_file_ms = speaking_wav(work, decode_file(SPEECH / "jfk.flac"))
    silent = silent_wav(work)
    wrapper = chromium_in(setup["pair"].client, work)

    with sync_playwright() as pw:
        ctx_a, a = launch(pw, work, wrapper, "a", speaking)
        ctx_b, b = launch(pw, work, wrapper, "b", silent)
        try:
            sign_up(a, url, "Alice")
            room_id = create_room(a, "Browser call")

            sign_up(b, url, "Bruno")
            join_room(b, room_id)
            b.get_by_test_id("language-picker").select_option("es")

            # B sees A's video (a remote tile with a playing video track).
            tile = b.locator('[data-testid="video-tile"][data-local="false"][data-display="Alice"]'
                             '[data-has-video="true"]')
            try:
                tile.wait_for(timeout=45_000)
            except PlaywrightTimeout as err:
                b.screenshot(path=str(work / "b-failed.png"))
                raise AssertionError(
                    "B never saw A's video: " + (b.get_by_test_id("media-status").text_content() or "")
                    + "\n" + setup["janus"].log()[-3000:]) from err
            capture_start = a.evaluate("window.__captureStart")
            assert capture_start, "A's page never got its microphone"

            # Wait until the clip's captions are in: Spanish finals, then 8 s without a new one.
            wait_for_finals(b, "es", speech_end_in_file_ms, capture_start)
            b.wait_for_timeout(500)
            finals = page_finals(b)
            shot = work / "room-b.png"
            b.screenshot(path=str(shot))
            docs_shot = ROOT / "docs" / "screenshot-room.png"
            if not docs_shot.exists() or os.environ.get("BABELROOM_UPDATE_SCREENSHOT"):
                shutil.copy(shot, docs_shot)  # the committed one stays unless asked
        finally:
            ctx_a.close()
            ctx_b.close()

    es = [f for f in finals if f["lang"] == "es"]
    assert es, f"no Spanish finals in B's page; janus log:\n{setup['janus'].log()[-2000:]}"
    assert all(f["speaker"] == "Alice" for f in es)
    english = " ".join(f["original"] for f in es)
    error = jiwer.wer(normalise(reference(SPEECH / "references.tsv", "jfk.flac", "text")), normalise(english))
    assert error < 0.3, english
    spanish = " ".join(f["text"] for f in es).lower()
    assert "país" in spanish or "pais" in spanish, spanish
    # Final latency (bench's definition) of the segment that ends with the clip's speech.
    last = max(es, key=lambda f: f["t"])
    latency_ms = last["t"] - (capture_start + speech_end_in_file_ms)
    print(f"\nbrowser final latency: {latency_ms:.0f} ms (last final at {last['t']}, speech end at "
          f"{capture_start + speech_end_in_file_ms:.0f}); WER {error:.2f}; screenshot {shot}")
    assert 0 < latency_ms < 30_000
