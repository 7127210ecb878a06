"""The "My voice" page in a real browser: Debian's Chromium (Playwright) on the web app served by the local
stack's gateway, with a real Celery worker on the ``voice`` queue (the one-speaker check, CAM++).

A free user reaches "My voice" from the lobby and sees that their plan lacks voice cloning. Made premium,
they choose tests/data/speech/jfk.flac with the file picker, cannot upload until the consent box is ticked,
upload it, see it listed ``pending`` and then ``passed`` (the worker's check, polled by the page). Then they
record a sample through Chromium's fake microphone (the same speech, MediaRecorder's WebM Opus: the server
must decode it), listen to it, upload it, see its check leave ``pending``, and delete it after confirming.
The page's screenshot is docs/screenshots/web-voice.png (copied when missing or BABELROOM_UPDATE_SCREENSHOT is set).
No Janus and no network namespaces: nothing here is WebRTC.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.conftest import run_sql

sys.path.insert(0, str(Path(__file__).parent))

from browser_call import CHROMIUM, FRONTEND, ROOT, ensure_web_app, launch, set_tier, sign_up, speaking_wav  # noqa: E402

from babelroom.audio.pcm import decode_file  # noqa: E402
from babelroom.dev.devstack import LocalStack  # noqa: E402

JFK = ROOT / "tests" / "data" / "speech" / "jfk.flac"
CHECK_TIMEOUT_MS = 150_000  # CAM++ loads on the first check (1-13 s), the page polls at 3 s growing to 30 s


@pytest.fixture(scope="module")
def voice_stack(tmp_path_factory):
    ensure_web_app()
    work = tmp_path_factory.mktemp("browser-voice")
    env = {"BABELROOM_LOG_LEVEL": "INFO", "BABELROOM_FRONTEND_DIR": str(FRONTEND / "dist"),
           "BABELROOM_VOICE_SAMPLE_DIR": str(work / "voice-samples")}
    with LocalStack(state_dir=work / "stack", env=env, stt_workers=0, mt_workers=0, jobs_queues="voice") as stack:
        yield stack, work


def test_a_premium_user_uploads_and_records_a_voice_sample_and_sees_its_check(voice_stack):
    from playwright.sync_api import expect, sync_playwright

    stack, work = voice_stack
    microphone, _ = speaking_wav(work, decode_file(JFK), name="jfk48k.wav", lead_s=0.5, tail_s=5.0)

    with sync_playwright() as pw:
        context, page = launch(pw, work, Path(CHROMIUM), "vera", microphone)
        try:
            sign_up(page, stack.gateway_url + "/", "Vera")
            page.get_by_test_id("my-voice-link").click()
            expect(page.get_by_test_id("voice-locked")).to_contain_text("not part of the free plan")
            expect(page.get_by_test_id("voice-locked")).to_contain_text("premium")
            assert page.get_by_test_id("voice-file").count() == 0

            set_tier(stack.database_url, "Vera", "premium")
            page.reload()
            # a file, with the consent box
            page.get_by_test_id("voice-file").set_input_files(str(JFK))
            expect(page.get_by_test_id("voice-clip-ready")).to_contain_text("jfk.flac")
            expect(page.get_by_test_id("voice-clip-ready")).to_contain_text("11.0 s")
            expect(page.get_by_test_id("voice-name")).to_have_value("jfk")
            expect(page.get_by_test_id("voice-language")).not_to_have_value("")
            expect(page.get_by_test_id("voice-upload")).to_be_disabled()
            expect(page.get_by_test_id("voice-upload-blocker")).to_have_text("Tick the consent box to upload.")
            page.get_by_test_id("voice-consent").check()
            page.get_by_test_id("voice-upload").click()
            row = page.locator('[data-testid="voice-sample"]', has_text="jfk")
            expect(row).to_have_count(1, timeout=30_000)
            assert row.get_attribute("data-status") in ("pending", "passed"), row.inner_text()
            expect(row).to_have_attribute("data-status", "passed", timeout=CHECK_TIMEOUT_MS)
            expect(row).to_contain_text("11.0 s")
            expect(page.get_by_test_id("voice-announce")).to_contain_text("“jfk” passed the check")
            expect(page.get_by_test_id("voice-consent")).not_to_be_checked()  # consent is asked per sample

            # a recording through the fake microphone (WebM Opus)
            page.get_by_test_id("voice-record-start").click()
            elapsed = page.get_by_test_id("voice-elapsed")
            page.wait_for_function(
                "() => Number(document.querySelector('[data-testid=\"voice-elapsed\"]')?.dataset.seconds) >= 13",
                timeout=30_000)
            assert float(elapsed.get_attribute("data-seconds")) >= 13
            assert float(page.get_by_test_id("voice-level").get_attribute("value") or 0) >= 0
            page.get_by_test_id("voice-record-stop").click()
            ready = page.get_by_test_id("voice-clip-ready")
            expect(ready).to_have_attribute("data-source", "recording")
            expect(page.get_by_test_id("voice-playback")).to_have_attribute("src", re.compile(r"^blob:"))
            page.get_by_test_id("voice-name").fill("Recorded")
            page.get_by_test_id("voice-consent").check()
            page.get_by_test_id("voice-upload").click()
            recorded = page.locator('[data-testid="voice-sample"]', has_text="Recorded")
            expect(recorded).to_have_count(1, timeout=30_000)
            expect(recorded).not_to_have_attribute("data-status", "pending", timeout=CHECK_TIMEOUT_MS)
            status = recorded.get_attribute("data-status")
            listed = stack_samples(stack.database_url)
            assert listed["Recorded"]["format"] == "webm" and 11 <= listed["Recorded"]["duration_s"] <= 16, listed

            # delete, after confirming
            recorded.get_by_test_id("voice-sample-delete").click()
            recorded.get_by_test_id("voice-sample-delete-confirm").click()
            expect(recorded).to_have_count(0)
            expect(page.get_by_test_id("voice-sample")).to_have_count(1)
            assert set(stack_samples(stack.database_url)) == {"jfk"}
            page.screenshot(path=str(work / "voice.png"), full_page=True)
            docs_shot = ROOT / "docs" / "screenshots" / "web-voice.png"
            if not docs_shot.exists() or os.environ.get("BABELROOM_UPDATE_SCREENSHOT"):
                shutil.copy(work / "voice.png", docs_shot)  # the committed one stays unless asked
        finally:
            context.close()
    print(f"\nrecorded sample's check: {status}; screenshot {work / 'voice.png'}")


def stack_samples(database_url: str) -> dict[str, dict]:
    with ThreadPoolExecutor(1) as pool:
        rows = pool.submit(run_sql, database_url,
                           "SELECT name, format, duration_s, speaker_check FROM voice_samples").result()
    return {r["name"]: r for r in rows}
