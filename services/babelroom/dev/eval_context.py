"""``babelroom eval --context MANIFEST``: do a room's documents raise the recall of their terms in the captions?

Each manifest row is a clip, what was said, the meeting document that goes with it and the domain terms the
clip speaks that the document names (a TSV: ``audio  language  reference  document  terms``, paths relative to
the manifest, terms ``;``-separated; ``#`` lines skipped; see ``tests/data/context/terms.tsv``).

The document goes through what an upload goes through (:func:`~babelroom.context.document_text.read_document`,
:func:`~babelroom.context.terms.extract_terms` with ``document_max_terms``) and its terms are offered as the
STT worker offers them (the first ``context_max_terms``; retrieval only reorders longer lists). Each clip is then
decoded twice on the worker's decoding path (:class:`~babelroom.stt.per_language.PerLanguageSTT`, the model
serving its language: tiny.en for English, Whisper base otherwise, greedy, one final of the whole clip, no
previous text): without terms and with them.

A term is recalled when its words, normalised as WER normalises them (:mod:`babelroom.dev.eval_scoring`), occur
in the normalised caption. Reported per term (extracted from the document or not, recalled without / with) and
per language (term recall and WER, without / with). Writes ``context.json`` and ``context.md``.
"""

from __future__ import annotations

import csv
import json
import platform
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from faster_whisper import decode_audio

from babelroom.config import Settings
from babelroom.context.document_text import read_document
from babelroom.context.terms import extract_terms
from babelroom.dev.eval_scoring import normalize, word_error_rate
from babelroom.stt.per_language import PerLanguageSTT
from babelroom.stt.whisper import SAMPLE_RATE

COLUMNS = ["audio", "language", "reference", "document", "terms"]


@dataclass(frozen=True)
class TermRow:
    """One spoken term of one clip."""

    term: str
    language: str
    clip: str
    model: str
    extracted: bool
    without: bool
    with_document: bool


def read_rows(manifest: Path) -> list[dict[str, str]]:
    """The manifest's rows as dicts, paths resolved.

    Raises:
        ValueError: wrong header, or a missing audio or document file.
    """
    lines = [line for line in manifest.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not lines or lines[0].split("\t") != COLUMNS:
        raise ValueError(f"{manifest}: the header must be {' '.join(COLUMNS)} (tab-separated)")
    for row in rows:
        for column in ("audio", "document"):
            path = (manifest.parent / row[column]).resolve()
            if not path.is_file():
                raise ValueError(f"{manifest}: {column} {row[column]} does not exist")
            row[column] = str(path)
    return rows


def recalled(term: str, caption: str, language: str) -> bool:
    """Whether ``term``'s normalised words occur in the normalised ``caption`` (whole words)."""
    wanted = normalize(term, language)
    return bool(wanted) and re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", normalize(caption, language)) is not None


def run_context_eval(manifest: Path, out_dir: Path, settings: Settings) -> dict[str, object]:
    """Decode every clip without and with its document's terms; write and return the report."""
    rows = read_rows(manifest)
    engine = PerLanguageSTT(settings)
    offered: dict[str, list[str]] = {}
    terms: list[TermRow] = []
    captions: list[dict[str, str]] = []
    for row in rows:
        if row["document"] not in offered:
            text = read_document(Path(row["document"]).read_bytes()).text
            offered[row["document"]] = extract_terms(text, limit=settings.document_max_terms)[
                : settings.context_max_terms]
        language, document_terms = row["language"], offered[row["document"]]
        audio = decode_audio(row["audio"], sampling_rate=SAMPLE_RATE)[: int(settings.stt_window_s * SAMPLE_RATE)]
        without = engine.transcribe(audio, language, final=True).text
        with_document = engine.transcribe(audio, language, terms=document_terms, final=True).text
        model = engine.models()[language]
        captions.append({"clip": Path(row["audio"]).name, "language": language, "model": model,
                         "reference": row["reference"], "without": without, "with_document": with_document})
        folded = {t.casefold() for t in document_terms}
        for term in filter(None, (t.strip() for t in row["terms"].split(";"))):
            terms.append(TermRow(term, language, Path(row["audio"]).name, model, term.casefold() in folded,
                                 recalled(term, without, language), recalled(term, with_document, language)))
    languages = sorted({r["language"] for r in rows}, key=[r["language"] for r in rows].index)
    summary = []
    for language in languages:
        mine = [t for t in terms if t.language == language]
        clips = [c for c in captions if c["language"] == language]
        references = [c["reference"] for c in clips]
        summary.append({
            "language": language, "model": clips[0]["model"], "clips": len(clips), "terms": len(mine),
            "recall_without": sum(t.without for t in mine) / len(mine),
            "recall_with": sum(t.with_document for t in mine) / len(mine),
            "wer_without": word_error_rate(references, [c["without"] for c in clips], language),
            "wer_with": word_error_rate(references, [c["with_document"] for c in clips], language),
        })
    report: dict[str, object] = {
        "manifest": str(manifest), "machine": platform.machine(), "summary": summary,
        "terms": [asdict(t) for t in terms], "captions": captions, "offered_terms": offered,
        "settings": {"stt_context_tokens": settings.stt_context_tokens, "context_max_terms": settings.context_max_terms,
                     "stt_beam_size": settings.stt_beam_size, "stt_compute_type": settings.stt_compute_type},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "context.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    (out_dir / "context.md").write_text(markdown(summary, terms))
    return report


def markdown(summary: list[dict[str, object]], terms: list[TermRow]) -> str:
    """The two tables of the report: per language, then per term."""
    lines = ["| language | model | clips | terms | term recall without | with document | WER without | with |",
             "|---|---|---|---|---|---|---|---|"]
    for s in summary:
        lines.append(f"| {s['language']} | {s['model']} | {s['clips']} | {s['terms']} | {s['recall_without']:.2f} | "
                     f"{s['recall_with']:.2f} | {s['wer_without']:.3f} | {s['wer_with']:.3f} |")
    total = len(terms)
    if total:
        lines.append(f"| all | | | {total} | {sum(t.without for t in terms) / total:.2f} | "
                     f"{sum(t.with_document for t in terms) / total:.2f} | | |")
    lines += ["", "| term | language | clip | model | in the document's terms | without | with document |",
              "|---|---|---|---|---|---|---|"]
    mark = {True: "yes", False: "no"}
    for t in terms:
        lines.append(f"| {t.term} | {t.language} | {t.clip} | {t.model} | {mark[t.extracted]} | "
                     f"{mark[t.without]} | {mark[t.with_document]} |")
    return "\n".join(lines) + "\n"
