"""``babelroom eval --context``: two real LJ Speech clips and the repository's English meeting document, through
the CLI; tiny.en misspells two of the terms without the document and gets them with it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from babelroom.cli import app
from babelroom.dev.eval_context import read_rows

CONTEXT = Path(__file__).resolve().parents[1] / "data" / "context"


def test_the_repositorys_manifest_parses():
    rows = read_rows(CONTEXT / "terms.tsv")
    assert {r["language"] for r in rows} == {"en", "es", "de", "pt", "fr"} and len(rows) == 23
    assert all(Path(r["audio"]).is_file() and Path(r["document"]).is_file() and r["terms"] for r in rows)


def test_eval_context_reports_term_recall_without_and_with_the_document(tmp_path, monkeypatch):
    manifest = tmp_path / "terms.tsv"
    rows = (CONTEXT / "terms.tsv").read_text(encoding="utf-8").splitlines()
    header = next(r for r in rows if r.startswith("audio\t"))
    clips = [r.replace("../speech/", f"{CONTEXT.parent / 'speech'}/").replace("\ten.md\t", f"\t{CONTEXT / 'en.md'}\t")
             for r in rows if "LJ001-0003" in r or "LJ001-0007" in r]
    manifest.write_text("\n".join([header, *clips]) + "\n", encoding="utf-8")
    monkeypatch.setenv("BABELROOM_STT_MODEL", "tiny.en")
    result = CliRunner().invoke(app, ["eval", "--context", str(manifest), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "context.json").read_text())
    by_term = {t["term"]: (t["without"], t["with_document"]) for t in report["terms"]}
    assert by_term["Gutenberg"] == (False, True) and by_term["woodcutters"] == (False, True)  # Guttenberg, wood cutters
    assert by_term["Netherlands"] == (True, True)
    (en,) = report["summary"]
    assert en["recall_with"] == 1.0 and en["recall_without"] < 1.0 and en["wer_with"] <= en["wer_without"]
    assert "| Gutenberg | en | LJ001-0007.wav |" in result.output
