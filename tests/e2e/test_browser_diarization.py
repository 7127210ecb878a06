"""Speaker labels in a real browser (browser_call.py: Chromium, Playwright, the web app, Janus, captions).

A Pro user ticks "Label speakers sharing a microphone" in the lobby, creates the room and speaks the
shared two-speaker sample (tests/data/diarization, two people on one microphone) through Chromium's fake
capture; the real Celery diarization worker runs beside the stack. The page's caption lines must carry
two distinct speaker labels ("Speaker 1:", "Speaker 2:") after the participant's name, and the
transcript the page downloads must name both.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from browser_call import ROOT, call_stack, chromium_in, create_room, launch, set_tier, sign_up, speaking_wav  # noqa: E402

from babelroom.dev.eval_diarization import read_audio  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "diarization" / "pyannote_sample.wav"
LABELS = """Array.from(document.querySelectorAll('[data-testid="caption-line"][data-type="final"]'))
  .map((el) => ({segment: el.dataset.segmentId, label: el.dataset.speakerLabel || null,
                 shown: el.querySelector('[data-testid="caption-speaker-label"]')?.textContent || null}))"""


@pytest.fixture(scope="module")
def browser_setup(tmp_path_factory):
    with call_stack(tmp_path_factory.mktemp("browser-diar"), jobs_queues="diarization",
                    env={"BABELROOM_DIARIZATION_JOB_EXPIRES_S": "120"}) as setup:
        yield setup


def test_a_pro_room_shows_two_speaker_labels_in_captions_and_the_download(browser_setup):
    from playwright.sync_api import sync_playwright

    setup = browser_setup
    work, url, stack = setup["work"], setup["url"], setup["stack"]
    # a long silent tail: Chromium's fake microphone loops the file, and a looped sample in one diarization
    # window split it into a dozen speakers (a full-suite run where the job came late)
    speaking, _ = speaking_wav(work, read_audio(SAMPLE), name="two-speakers48k.wav", tail_s=240.0)
    wrapper = chromium_in(setup["pair"].client, work)

    with sync_playwright() as pw:
        context, page = launch(pw, work, wrapper, "ana", speaking)
        try:
            sign_up(page, url, "Ana")
            set_tier(stack.database_url, "Ana", "pro")
            page.reload()  # the lobby reads the plan again: the choice is offered
            choice = page.get_by_test_id("create-room-diarization")
            choice.wait_for(timeout=30_000)
            assert choice.is_enabled()
            choice.check()
            create_room(page, "Two on one mic")
            assert page.get_by_test_id("room-diarization").is_visible()

            deadline, lines = time.time() + 240, []
            while time.time() < deadline:
                lines = page.evaluate(LABELS)
                if len({line["label"] for line in lines if line["label"]}) >= 2:
                    break
                time.sleep(1)
            page.screenshot(path=str(work / "diarization.png"))
            labels = {line["label"] for line in lines if line["label"]}
            assert labels == {"Speaker 1", "Speaker 2"}, lines
            assert all(line["shown"] == f"{line['label']}:" for line in lines if line["label"]), lines

            page.get_by_test_id("transcript-format").select_option("txt")
            with page.expect_download(timeout=30_000) as download:
                page.get_by_test_id("download-transcript").click()
            text = Path(download.value.path()).read_text()
            assert "Ana (Speaker 1):" in text and "Ana (Speaker 2):" in text, text
        finally:
            context.close()
