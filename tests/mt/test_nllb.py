"""NllbTranslator on a tiny random NLLB converted by CTranslate2: loading, batching, tokenisation, errors.

Random weights translate into nonsense, so these tests check shapes, types and behaviour, never content.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from transformers import NllbTokenizer

from babelroom.mt.base import UnsupportedLanguagePair
from babelroom.mt.languages import FLORES200
from babelroom.mt.nllb import SP_MODEL, NllbTranslator, read_vocabulary


@pytest.fixture(scope="module")
def nllb(tiny_nllb_dir: Path) -> Iterator[NllbTranslator]:
    translator = NllbTranslator(tiny_nllb_dir, beam_size=2, batch_size=2, intra_threads=1)
    yield translator
    translator.close()


@pytest.fixture
def five(ntrex: dict[str, list[str]]) -> list[str]:
    return ntrex["en"][:5]


def test_translates_a_batch_into_one_string_per_sentence(nllb: NllbTranslator, five: list[str]) -> None:
    translations = nllb.translate_batch(five, "en", "es")
    assert len(translations) == len(five)
    assert all(isinstance(text, str) for text in translations)
    # The forced target token and other model-only tokens are not part of the text.
    assert not any(code in text for text in translations for code in FLORES200.values())
    assert nllb.translate_batch([], "en", "es") == []


def test_calls_the_model_once_per_batch_size_chunk(
    nllb: NllbTranslator, five: list[str], metric: Callable[..., float]
) -> None:
    calls = metric("babelroom_mt_inference_seconds_count", backend="nllb")
    sentences = metric("babelroom_mt_sentences_total", backend="nllb")
    nllb.translate_batch(five, "en", "es")  # 5 sentences, batch_size 2 → 3 calls
    assert metric("babelroom_mt_inference_seconds_count", backend="nllb") - calls == 3
    assert metric("babelroom_mt_sentences_total", backend="nllb") - sentences == 5


@pytest.mark.parametrize(
    ("line", "src"),
    [(("en", 1), "en"), (("es", 2), "es"), ("  Hello   world, again!", "en"), ("Ünïcödé ☃ 😀", "de")],
)
def test_source_tokens_are_the_ids_nllb_tokenizer_gives(
    nllb: NllbTranslator,
    tiny_nllb_dir: Path,
    tiny_nllb_hf_dir: Path,
    ntrex: dict[str, list[str]],
    line: str | tuple[str, int],
    src: str,
) -> None:
    # Not with trailing whitespace: transformers' tokenizers port then ends with a lone "▁" that
    # SentencePiece itself (what NLLB was trained with) never produces.
    text = line if isinstance(line, str) else ntrex[line[0]][line[1]]
    tokenizer = NllbTokenizer.from_pretrained(str(tiny_nllb_hf_dir), src_lang=FLORES200[src])
    vocabulary = {token: index for index, token in enumerate(read_vocabulary(tiny_nllb_dir))}
    ours = [vocabulary.get(token, vocabulary["<unk>"]) for token in nllb.encode(text, src)]
    assert ours == tokenizer(text).input_ids
    assert ours[0] == vocabulary[FLORES200[src]] and ours[-1] == vocabulary["</s>"]


def test_language_support_follows_the_model_vocabulary(nllb: NllbTranslator) -> None:
    assert nllb.supports("en", "es") and nllb.supports("zh", "vi")
    assert not nllb.supports("en", "xx")
    with pytest.raises(UnsupportedLanguagePair, match="xx"):
        nllb.translate_batch(["Hello"], "xx", "es")


def test_a_missing_model_names_the_missing_file(tiny_nllb_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"model\.bin"):
        NllbTranslator(tmp_path / "absent")
    partial = tmp_path / "partial"
    shutil.copytree(tiny_nllb_dir, partial)
    (partial / SP_MODEL).unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(SP_MODEL)):
        NllbTranslator(partial)
