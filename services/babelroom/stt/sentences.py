"""Sentence finals: where a growing segment's committed transcript completes a sentence.

The STT worker looks, in each partial, for a committed word that ends a sentence (two hypotheses
agreed on it) and is followed by another word (the speaker went on). It then
stores the cut time, in the speaker's timeline, under :func:`babelroom.bus.streams.cut_key`; the ingest polls that key,
cuts the open segment there (:meth:`babelroom.audio.segmenter.Segmenter.cut_at`) and the part before
the cut goes to STT as a final like any other. The audio after the cut stays in the growing segment,
which goes on under the next segment id.

Early end (``vad_sentence_end_silence_ms``, off by default): when a partial's hypothesis ends with a
sentence (:func:`ends_with_sentence`), the STT worker stores the speech end it covers under
:func:`babelroom.bus.streams.sentence_end_key`; if no speech follows, the ingest ends the segment after
``vad_sentence_end_silence_ms`` of silence instead of ``vad_trailing_silence_ms``
(:meth:`babelroom.audio.segmenter.Segmenter.end_sentence`). The segmenter's tail update, sent after a
short silence, gives STT all of the segment's speech for that. Off by default because Whisper ends
almost any stretch of speech followed by silence with a full stop: at a reader's comma pause too (on the
eval's English clips it split "Printing, then, for our purpose, | may be considered …" and moved the
WER from 1.6 to 3.6 %; docs/stt-models.md).

Fallback (speech with no sentence end, or a model that leaves the punctuation out): once the growing
segment is ``sentence_word_cut_s`` long, each partial is aligned too and the segment is cut at the
best committed word boundary of its second half (:func:`word_gap_cut_s`: the quietest pause between
two committed words, a clause end counting as a quieter one). Every cut goes to the quietest point
near its word boundary (:func:`quietest_s`), so that it splits no word. And when Whisper leaves the
end of a segment's audio out, the segment is cut after its last word (:func:`skipped_speech_cut_s`).
:func:`segment_cut_s` applies these rules in turn. Only when that has not happened by
``vad_max_segment_s`` does the segmenter cut blindly (quietest frame, with overlap).
"""

from __future__ import annotations

import re

import numpy as np

from babelroom.audio.pcm import SAMPLE_RATE

#: Closing quotes or brackets that may follow a word's final punctuation, up to the word's end.
_CLOSERS = r"[\"'”’»)\]]*$"
#: A word that ends a sentence: terminal punctuation, maybe followed by closing quotes or brackets.
_SENTENCE_END = re.compile(r"[.?!。？！…]" + _CLOSERS)
#: A word that ends a clause: a comma, semicolon, colon or dash.
_CLAUSE_END = re.compile(r"[,;:，、；：—–-]" + _CLOSERS)
#: A word that trails off: an ellipsis.
_ELLIPSIS = re.compile(r"(?:\.\.\.|…)" + _CLOSERS)
#: What a clause end adds to the quietness of the pause after it when :func:`word_gap_cut_s` ranks
#: word boundaries (dB).
CLAUSE_BONUS_DB = 6.0
#: Length of the quietest stretch looked for at a word boundary (s).
QUIET_WINDOW_S = 0.1
#: How far around a word boundary the quietest stretch is looked for (s): word times are ±0.1–0.2 s.
BOUNDARY_SLACK_S = 0.2
#: Audio after a hypothesis' last word that means Whisper left speech out (s); partials come every
#: second, so the last word of a hypothesis is normally less than one second from the audio's end.
SKIPPED_SPEECH_S = 2.0
#: Abbreviations whose full stop ends no sentence ("Mr.", "e.g.", "U.S.").
_ABBREVIATION = re.compile(r"^(?:mr|mrs|ms|dr|prof|st|sr|jr|vs|etc|e\.g|i\.e|(?:[a-z]\.)+[a-z])\.$", re.I)


def ends_sentence(word: str) -> bool:
    """Whether ``word`` (as Whisper wrote it, punctuation attached) ends a sentence.

    >>> [ends_sentence(w) for w in ("modern.", "you?", "Mr.", "country,", '"Go!"')]
    [True, True, False, False, True]
    """
    return bool(_SENTENCE_END.search(word)) and not _ABBREVIATION.match(word)


def ends_with_sentence(words: list[str]) -> bool:
    """Whether a hypothesis ends with a complete sentence: its last word ends one and is no ellipsis
    (Whisper writes "..." where the speech trails off, and the speaker may go on).

    >>> [ends_with_sentence(w.split()) for w in ("It works.", "It works", "And then...", "Really?\u201d", "")]
    [True, False, False, True, False]
    """
    return bool(words) and ends_sentence(words[-1]) and not _ELLIPSIS.search(words[-1])


def has_sentence_end(words: list[str]) -> bool:
    """Whether a sentence ends in ``words``: the next hypothesis may commit it, with a word after it."""
    return any(ends_sentence(w) for w in words)


def segment_cut_s(
    words: list[str], committed: int, times: tuple[tuple[float, float], ...], audio: np.ndarray,
    word_cut_s: float,
) -> float | None:
    """Where to cut a growing segment after this partial (s from the start of its audio), or None.

    The first committed sentence end (:func:`sentence_cut_s`), else after speech Whisper left out
    (:func:`skipped_speech_cut_s`), else, once the audio is ``word_cut_s`` long
    (``sentence_word_cut_s``), the best committed word gap of its second half (:func:`word_gap_cut_s`).

    Args:
        words, committed, times, audio: as :func:`sentence_cut_s`.
        word_cut_s: length (s) from which the word-gap fallback applies.
    """
    cut = sentence_cut_s(words, committed, times, audio)
    if cut is None:
        cut = skipped_speech_cut_s(words, times, audio)
    audio_s = audio.size / SAMPLE_RATE
    if cut is None and audio_s >= word_cut_s:
        cut = word_gap_cut_s(words, committed, times, audio, after_s=audio_s / 2)
    return cut


def sentence_cut_s(
    words: list[str], committed: int, times: tuple[tuple[float, float], ...], audio: np.ndarray
) -> float | None:
    """Where to cut after the first complete sentence of a hypothesis (s from the start of its audio).

    Args:
        words: the hypothesis, split on whitespace.
        committed: how many leading ``words`` LocalAgreement has committed.
        times: ``(start_s, end_s)`` per word (:attr:`babelroom.stt.base.Hypothesis.words`).
        audio: the decoded audio, ``(n,) float32`` at 16 kHz.

    Returns:
        The quietest point (:func:`quietest_s`) between the first committed sentence-ending word that
        has a word after it and that next word; None when there is none or no word times.
    """
    if len(times) != len(words):
        return None
    for k in range(min(committed, len(words) - 1)):
        if ends_sentence(words[k]):
            return quietest_s(audio, times[k], times[k + 1])[0]
    return None


def word_gap_cut_s(
    words: list[str], committed: int, times: tuple[tuple[float, float], ...], audio: np.ndarray, after_s: float
) -> float | None:
    """Where to cut a long hypothesis that holds no committed sentence end (s from the start of its audio).

    Whisper's word times glue most words together (a pause goes into the word before it), so each
    committed word boundary is scored by the audio: how far the quietest :data:`QUIET_WINDOW_S` near
    it lies below the segment's median energy (dB), plus :data:`CLAUSE_BONUS_DB` after a clause end.

    Args:
        words, committed, times, audio: as :func:`sentence_cut_s`.
        after_s: the cut must lie after this (s): the head should not be a scrap.

    Returns:
        The quietest point of the best boundary (the latest of equals) after a committed word with a
        word after it; None when no such boundary lies after ``after_s`` or there are no word times.
    """
    if len(times) != len(words):
        return None
    best: tuple[float, float] | None = None  # (score, cut)
    for k in range(min(committed, len(words) - 1)):
        cut, quiet_db = quietest_s(audio, times[k], times[k + 1])
        score = quiet_db + (CLAUSE_BONUS_DB if _CLAUSE_END.search(words[k]) else 0.0)
        if cut > after_s and (best is None or score >= best[0]):
            best = (score, cut)
    return None if best is None else best[1]


def skipped_speech_cut_s(
    words: list[str], times: tuple[tuple[float, float], ...], audio: np.ndarray
) -> float | None:
    """Where to cut when Whisper left the end of the audio out (s from the start of its audio).

    Whisper may close a sentence and never transcribe the speech that follows, in the partials as in
    the final (Whisper base on two Spanish sentences with no pause: the second, 7 s, was lost). Those
    hypotheses disagree on their words, so nothing need be committed: when the hypothesis ends with a
    sentence end and the audio goes on :data:`SKIPPED_SPEECH_S` past it, the segment is cut after it,
    so that the rest gets a decode of its own.

    Args:
        words, times, audio: as :func:`sentence_cut_s`.

    Returns:
        The quietest point just after the last word, or None.
    """
    if not words or len(times) != len(words) or not ends_sentence(words[-1]):
        return None
    end = times[-1][1]
    if audio.size / SAMPLE_RATE - end < SKIPPED_SPEECH_S:
        return None
    return quietest_s(audio, times[-1], (end + BOUNDARY_SLACK_S, end + 2 * BOUNDARY_SLACK_S))[0]


def quietest_s(
    audio: np.ndarray, word: tuple[float, float], next_word: tuple[float, float]
) -> tuple[float, float]:
    """The quietest point between two words: ``(centre_s, dB below the audio's median energy)``.

    Args:
        audio: ``(n,) float32`` at 16 kHz.
        word, next_word: ``(start_s, end_s)`` of two consecutive words.

    Looks at the :data:`QUIET_WINDOW_S` windows (10 ms steps) whose centres lie from
    :data:`BOUNDARY_SLACK_S` before the end of ``word`` to as long after the start of ``next_word``, but
    not before the middle of ``word`` nor after the middle of ``next_word``.

    >>> tone = np.sin(np.arange(32_000) / 3).astype(np.float32)
    >>> tone[15_000:17_000] = 0  # a pause at 0.94-1.06 s
    >>> centre, quiet = quietest_s(tone, (0.5, 0.8), (0.8, 1.5))
    >>> round(centre, 2), quiet > 40
    (1.0, True)
    """
    hop, width = SAMPLE_RATE // 100, round(QUIET_WINDOW_S * SAMPLE_RATE)
    if audio.size < width:
        return word[1], 0.0
    power = np.convolve(audio.astype(np.float64) ** 2, np.ones(width) / width, mode="valid")[::hop]
    centres = (np.arange(power.size) * hop + width / 2) / SAMPLE_RATE
    end_s, next_start_s = word[1], max(word[1], next_word[0])
    low = max(end_s - BOUNDARY_SLACK_S, sum(word) / 2)
    high = min(next_start_s + BOUNDARY_SLACK_S, max(next_start_s, sum(next_word) / 2))
    near = np.flatnonzero((centres >= low) & (centres <= high))
    if near.size == 0:
        return end_s, 0.0
    floor = 1e-10
    quietest = near[power[near] <= power[near].min() * 1.01 + floor]  # a silent stretch: its middle
    i = int(quietest[len(quietest) // 2])
    return float(centres[i]), float(10 * np.log10((np.median(power) + floor) / (power[i] + floor)))
