"""Sentence finals: where a growing segment's committed transcript completes a sentence.

The STT worker looks, in each partial, for a committed word that ends a sentence (two hypotheses
agreed on it) and is followed by another word (the speaker went on). It then
stores the cut time, in the speaker's timeline, under :func:`cut_key`; the ingest polls that key,
cuts the open segment there (:meth:`babelroom.audio.segmenter.Segmenter.cut_at`) and the part before
the cut goes to STT as a final like any other. The audio after the cut stays in the growing segment,
which goes on under the next segment id.
"""

from __future__ import annotations

import re

#: A word that ends a sentence: terminal punctuation, maybe followed by closing quotes or brackets.
_SENTENCE_END = re.compile(r"[.?!。？！…][\"'”’»)\]]*$")
#: Abbreviations whose full stop ends no sentence ("Mr.", "e.g.", "U.S.").
_ABBREVIATION = re.compile(r"^(?:mr|mrs|ms|dr|prof|st|sr|jr|vs|etc|e\.g|i\.e|(?:[a-z]\.)+[a-z])\.$", re.I)


def cut_key(segment_id: str) -> str:
    """Redis key holding the sentence cut (ms in the speaker's timeline) STT found in ``segment_id``."""
    return f"stt:cut:{segment_id}"


def ends_sentence(word: str) -> bool:
    """Whether ``word`` (as Whisper wrote it, punctuation attached) ends a sentence.

    >>> [ends_sentence(w) for w in ("modern.", "you?", "Mr.", "country,", '"Go!"')]
    [True, True, False, False, True]
    """
    return bool(_SENTENCE_END.search(word)) and not _ABBREVIATION.match(word)


def has_sentence_end(words: list[str]) -> bool:
    """Whether a sentence ends in ``words``: the next hypothesis may commit it, with a word after it."""
    return any(ends_sentence(w) for w in words)


def sentence_cut_s(words: list[str], committed: int, times: tuple[tuple[float, float], ...]) -> float | None:
    """Where to cut after the first complete sentence of a hypothesis (s from the start of its audio).

    Args:
        words: the hypothesis, split on whitespace.
        committed: how many leading ``words`` LocalAgreement has committed.
        times: ``(start_s, end_s)`` per word (:attr:`babelroom.stt.base.Hypothesis.words`).

    Returns:
        Halfway between the end of the first committed sentence-ending word that has a word after
        it and the start of that next word; None when there is none or no word times.
    """
    if len(times) != len(words):
        return None
    for k in range(min(committed, len(words) - 1)):
        if ends_sentence(words[k]):
            end, next_start = times[k][1], times[k + 1][0]
            return (end + max(end, next_start)) / 2
    return None
