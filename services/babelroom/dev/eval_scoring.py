"""Scores of ``babelroom eval``: text normalisation, word error rate, chrF/BLEU, sentence ends.

Normalisation follows the field's conventions (see the shared data README, "Scoring conventions"):

- English: Whisper's ``EnglishTextNormalizer`` (Radford et al. 2022, appendix C; PyPI
  ``whisper-normalizer``, OpenAI's code with its British→American spelling map): lower case, numbers
  and currencies standardised ("twenty-five percent" → "25%"), contractions expanded, punctuation
  and filler words removed.
- Other languages: NFKC, lower case, apostrophes deleted (``l'assemblée`` → ``lassemblée``, as the
  Common Voice French references write it), every other Unicode punctuation mark (category P) and
  symbol (category S) replaced by a space, whitespace collapsed.

WER is corpus WER (jiwer: edits summed over every clip, over reference words summed); chrF and BLEU
are sacrebleu's corpus scores (chrF: character 6-grams, β = 2; BLEU: 13a tokenisation; Vietnamese
needs no other tokeniser since it writes spaces between syllables).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import cast

import jiwer
import sacrebleu

#: Characters that end a sentence, in the languages the platform offers and a few more (CJK full
#: stops and marks, Arabic question mark, Devanagari danda, ellipsis).
SENTENCE_END = frozenset(".?!…。？！؟।")
#: Closing quotes and brackets that may follow a sentence end ("He said: 'go.'").
_CLOSERS = "\"'”’»)]}›」』"
_APOSTROPHES = re.compile("['’ʼ`´]")
_SPACES = re.compile(r"\s+")


@functools.cache
def _english_normalizer() -> Callable[[str], str]:
    from whisper_normalizer.english import EnglishTextNormalizer

    return cast(Callable[[str], str], EnglishTextNormalizer())


def normalize(text: str, language: str) -> str:
    """``text`` as it is scored: see the module docstring. ``language`` is ISO 639-1."""
    if language == "en":
        return _SPACES.sub(" ", _english_normalizer()(text)).strip()
    text = _APOSTROPHES.sub("", unicodedata.normalize("NFKC", text).lower())
    text = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    return _SPACES.sub(" ", text).strip()


def word_error_rate(references: list[str], hypotheses: list[str], language: str) -> float:
    """Corpus WER of ``hypotheses`` against ``references`` (one per clip, same order), normalised.

    Raises:
        ValueError: the lists differ in length, or a reference is empty after normalisation.
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    refs = [normalize(r, language) for r in references]
    if not all(refs):
        raise ValueError("a reference is empty after normalisation")
    return float(jiwer.wer(refs, [normalize(h, language) for h in hypotheses]))


def chrf_bleu(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """``{"chrf": …, "bleu": …}``: sacrebleu corpus scores (0–100) of detokenised ``hypotheses``."""
    return {
        "chrf": round(sacrebleu.corpus_chrf(hypotheses, [references]).score, 1),
        "bleu": round(sacrebleu.corpus_bleu(hypotheses, [references]).score, 1),
    }


def ends_sentence(text: str) -> bool:
    """Whether ``text`` ends with a sentence end mark (:data:`SENTENCE_END`), closing quotes allowed."""
    stripped = text.rstrip().rstrip(_CLOSERS).rstrip()
    return bool(stripped) and stripped[-1] in SENTENCE_END
