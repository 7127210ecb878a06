"""ApertiumTranslator on Debian's real apertium-eng-spa, apertium-fr-es and apertium-es-pt: translations,
resident pipelines, recovery, quality."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sacrebleu

from babelroom.mt.apertium import ApertiumTranslator, deformat, installed_pairs, reformat
from babelroom.mt.base import TranslationError, UnsupportedLanguagePair

# Measured on the first 50 NTREX-128 sentences: en→es 49.1, es→en 51.3 (apertium-eng-spa 0.8.1); fr→es 43.8,
# es→fr 43.3 (apertium-fr-es 0.9.4); es→pt 50.5, pt→es 53.1 (apertium-es-pt 1.1.6).
CHRF_FLOOR = {("en", "es"): 45.0, ("es", "en"): 47.0, ("fr", "es"): 40.5, ("es", "fr"): 40.0, ("es", "pt"): 47.0,
              ("pt", "es"): 50.0}
#: Debian's older pairs: ISO 639-1 mode names, and (es-pt) a transfer stage that reads its bilingual
#: dictionary itself, which ``apertium-wblank-mode -z`` splits into ``lt-proc -b`` and ``apertium-transfer -b``.
OLDER_PAIRS = [("fr", "es"), ("es", "fr"), ("es", "pt"), ("pt", "es")]


@pytest.fixture
def own_apertium() -> Iterator[ApertiumTranslator]:
    """A translator of its own, for tests that kill or stop its pipelines."""
    translator = ApertiumTranslator(timeout_s=1.0)
    yield translator
    translator.close()


def test_finds_the_installed_pairs() -> None:
    pairs = installed_pairs()
    assert {("en", "es"), ("es", "en"), *OLDER_PAIRS} <= pairs.keys()
    assert pairs[("en", "es")].name == "eng-spa.mode" and pairs[("fr", "es")].name == "fr-es.mode"


def test_reads_iso_639_1_mode_names_and_skips_variants(tmp_path: Path) -> None:
    """The modes directory with apertium-eng-spa, -fr-es and -es-pt: older pairs name their modes
    ``fr-es``; variants (``es-pt_BR``, ``spa-eng_US``) and sub-domain modes (``eco-fr-es``) are skipped."""
    names = ("eng-spa", "spa-eng", "spa-eng_US", "fr-es", "es-fr", "eco-fr-es", "eco-es-fr", "es-pt", "es-pt_BR",
             "pt-es")
    for name in names:
        (tmp_path / f"{name}.mode").write_text("lt-proc x.bin\n")
    pairs = installed_pairs(tmp_path)
    assert {pair: mode.stem for pair, mode in pairs.items()} == {
        ("en", "es"): "eng-spa", ("es", "en"): "spa-eng", ("fr", "es"): "fr-es", ("es", "fr"): "es-fr",
        ("es", "pt"): "es-pt", ("pt", "es"): "pt-es",
    }


def test_translates_english_to_spanish_and_back(apertium: ApertiumTranslator) -> None:
    hello, cat = apertium.translate_batch(["Hello", "The cat is on the table."], "en", "es")
    assert "Hola" in hello
    assert "gato" in cat and "mesa" in cat and cat.endswith(".")
    assert apertium.translate_batch(["La casa es roja."], "es", "en") == ["The house is red."]


def test_keeps_reserved_characters_and_unknown_words_unmarked(apertium: ApertiumTranslator) -> None:
    [text] = apertium.translate_batch(["It costs $5 [approx] for a/b <tag> @home {x} \\ Zorblax"], "en", "es")
    for kept in ("$5", "[", "]", "/", "<", ">", "@", "{", "}", "\\", "Zorblax"):
        assert kept in text
    assert "*" not in text


def test_inputs_are_single_records(apertium: ApertiumTranslator) -> None:
    """A NUL or newline inside an input cannot split it into two records and shift later outputs."""
    translations = apertium.translate_batch(["Good\0morning", "Good\nnight", "", "Thank you"], "en", "es")
    assert len(translations) == 4
    assert translations[2] == ""
    assert "Gracias" in translations[3]


@pytest.mark.parametrize(("src", "tgt"), OLDER_PAIRS)
def test_older_pairs_run_resident_and_match_the_apertium_command(
    apertium: ApertiumTranslator, ntrex: dict[str, list[str]], src: str, tgt: str
) -> None:
    """The resident null-flush pipeline of fr-es / es-pt gives what ``apertium -u`` gives, line for line."""
    lines = ntrex[src][:8]
    resident = apertium.translate_batch(lines, src, tgt)
    assert apertium.pipeline(src, tgt).pids  # still running after the batch
    command = [" ".join(subprocess.run(["apertium", "-u", f"{src}-{tgt}"], input=line, capture_output=True,
                                       text=True, check=True, timeout=30).stdout.split()) for line in lines]
    assert resident == command


def test_translates_french_spanish_and_portuguese(apertium: ApertiumTranslator) -> None:
    assert apertium.translate_batch(["Le chat est sur la table."], "fr", "es") == ["El gato es sobre la mesa."]
    assert apertium.translate_batch(["El gato está sobre la mesa."], "es", "fr") == ["Le chat est sur la table."]
    assert apertium.translate_batch(["El gato está sobre la mesa."], "es", "pt") == ["O gato está sobre a mesa."]
    assert apertium.translate_batch(["O gato está na mesa."], "pt", "es") == ["El gato está en la mesa."]


def test_deformat_and_reformat_are_inverse() -> None:
    text = "a [b] ^c$ <d> @e /f {g} \\h"
    assert reformat(deformat(text).rstrip(b"\0")) == text


def test_reuses_one_pipeline_per_pair(apertium: ApertiumTranslator) -> None:
    apertium.translate_batch(["One."], "en", "es")
    pids = apertium.pipeline("en", "es").pids
    assert len(pids) > 5  # a dozen stages for eng-spa
    for text in ("Two.", "Three.", "Four."):
        apertium.translate_batch([text], "en", "es")
    assert apertium.pipeline("en", "es").pids == pids
    assert not set(apertium.pipeline("es", "en").pids) & set(pids)


def test_restarts_a_pipeline_whose_stage_was_killed(own_apertium: ApertiumTranslator) -> None:
    pipeline = own_apertium.pipeline("en", "es")
    own_apertium.translate_batch(["Hello"], "en", "es")
    pids = pipeline.pids
    os.kill(pids[2], signal.SIGKILL)  # the tagger
    deadline = time.monotonic() + 5
    while pipeline.pids and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "Hola" in own_apertium.translate_batch(["Hello"], "en", "es")[0]
    assert pipeline.pids and not set(pipeline.pids) & set(pids)


def test_a_hung_pipeline_times_out_then_recovers(own_apertium: ApertiumTranslator) -> None:
    pipeline = own_apertium.pipeline("en", "es")
    own_apertium.translate_batch(["Hello"], "en", "es")
    pids = pipeline.pids
    os.kill(pids[-1], signal.SIGSTOP)  # the last stage stops answering
    started = time.monotonic()
    with pytest.raises(TranslationError, match="Timeout"):
        own_apertium.translate_batch(["Hello again"], "en", "es")
    assert time.monotonic() - started < 2 * pipeline.timeout_s
    assert "Hola" in own_apertium.translate_batch(["Hello"], "en", "es")[0]
    assert not set(pipeline.pids) & set(pids)


def test_concurrent_callers_get_their_own_translations(apertium: ApertiumTranslator) -> None:
    texts = [f"The {n} dogs are in the garden." for n in range(2, 10)]
    expected = apertium.translate_batch(texts, "en", "es")
    results: dict[int, list[str]] = {}

    def worker(index: int) -> None:
        results[index] = [apertium.translate_batch([text], "en", "es")[0] for text in texts]

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {index: expected for index in range(4)}


def test_unsupported_pairs(apertium: ApertiumTranslator) -> None:
    assert apertium.supports("en", "es") and not apertium.supports("en", "de")
    with pytest.raises(UnsupportedLanguagePair):
        apertium.translate_batch(["Hello"], "en", "de")
    assert apertium.translate_batch([], "en", "es") == []


@pytest.mark.parametrize(("src", "tgt"), sorted(CHRF_FLOOR))
def test_chrf_on_ntrex(apertium: ApertiumTranslator, ntrex: dict[str, list[str]], src: str, tgt: str) -> None:
    hypotheses = apertium.translate_batch(ntrex[src][:50], src, tgt)
    chrf = sacrebleu.corpus_chrf(hypotheses, [ntrex[tgt][:50]]).score
    assert chrf > CHRF_FLOOR[(src, tgt)]
