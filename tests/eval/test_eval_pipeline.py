"""`babelroom eval` end to end: two short real English clips through a real local stack (Redis, gateway,
STT on the bundled tiny.en, MT on Apertium) in real time, offline WER with the same model, and text MT
on NTREX lines; the JSON and Markdown it writes. Each clip runs twice (leads of 0 and 110 ms of silence),
and the runs outlast one pair of accounts."""

import json
from pathlib import Path

import pytest

from babelroom.config import Settings
from babelroom.dev import eval_speech
from babelroom.dev.eval import run_eval

DATA = Path(__file__).resolve().parents[1] / "data"


def test_two_english_clips_and_ntrex(project_state_dir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eval_speech, "RUNS_PER_ACCOUNT", 3)  # the 4th run streams from new accounts
    manifest = tmp_path / "en.tsv"
    manifest.write_text(
        "audio\tlanguage\treference\ttranslation\n"
        f"{DATA / 'speech' / 'LJ001-0002.wav'}\ten\tin being comparatively modern.\ten ser comparativamente moderno.\n"
        f"{DATA / 'speech' / 'LJ001-0008.wav'}\ten\thas never been surpassed.\tnunca ha sido superado.\n",
        encoding="utf-8")
    settings = Settings(state_dir=project_state_dir("eval"), models_dir=tmp_path / "models", mt_backends="apertium")
    languages, pairs = run_eval(manifests=[manifest], out_dir=tmp_path / "out", settings=settings,
                                stt_models={None: "tiny.en"}, target=None, speed=1.0, mt_dir=DATA / "mt",
                                mt_pairs=[("en", "es")], mt_lines=20, leads_ms=[0, 110])

    (en,) = languages
    assert (en.language, en.model, en.target, en.clips, en.runs) == ("en", "tiny.en", "es", 2, 4)
    assert en.missing_finals == 0
    assert en.offline_wer == 0.0 and en.streaming_wer <= 0.25  # tiny.en hears both clips right offline
    assert en.finals >= 4 and en.sentence_or_pause_share == 1.0  # each clip ends in silence: a pause
    assert 0 < en.final_latency_ms["p50"] < 10_000
    assert en.chrf is not None and en.chrf > 30 and en.bleu is not None
    (pair,) = pairs
    assert (pair.source, pair.target, pair.route, pair.lines) == ("en", "es", "apertium", 20)
    assert 35 < pair.chrf < 65  # Apertium en→es: 47.4 on all 603 lines

    report = json.loads((tmp_path / "out" / "eval.json").read_text())
    assert [(c["language"], c["lead_ms"]) for c in report["clips"]] == [("en", 0), ("en", 0), ("en", 110), ("en", 110)]
    assert report["leads_ms"] == [0, 110]
    assert all(c["streamed"] and c["offline"] and c["translated"] for c in report["clips"])
    assert report["languages"][0]["streaming_wer"] == en.streaming_wer and report["mt"][0]["route"] == "apertium"
    table = (tmp_path / "out" / "eval.md").read_text()
    assert "| en | tiny.en | 2 | 4 |" in table and "Each clip ran 2 times, after 0, 110 ms of silence" in table
    assert "| en→es | apertium | 20 |" in table
