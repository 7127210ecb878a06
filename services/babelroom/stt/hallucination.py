"""Dropping Whisper hypotheses that are not speech.

Whisper was trained on subtitled web video, so on silence, noise or music it tends to "hear" what
subtitles say there ("Thanks for watching!", "Subtitles by the Amara.org community", "you"), and when
its decoder loses track it repeats itself. :class:`HallucinationFilter` applies, in order:

1. ``no_speech`` — Whisper's own rule (``transcribe.py`` of openai/whisper and faster-whisper): the
   no-speech probability exceeds ``stt_no_speech_threshold`` *and* the average log-probability is below
   ``stt_logprob_threshold``. A segment the VAD doubted (``doubtful``, see
   :mod:`babelroom.audio.segmenter`) is dropped as soon as the decode is unsure (as in rule 4:
   ``no_speech_prob`` above :data:`PHANTOM_NO_SPEECH_PROB` or ``avg_logprob`` below
   :data:`PHANTOM_AVG_LOGPROB`): Whisper base hears "Yeah." in the crowd after JFK's speech (0.43,
   -0.87) and sentences in white noise (-1.2 to -3.0), where the German recording Silero doubts decodes
   at 0.07, -0.40.
2. ``compression`` — the zlib compression ratio exceeds ``stt_compression_ratio_threshold`` (Whisper's
   signal of a looping decoder).
3. ``repetition`` — a looping decoder: a phrase of 2 or more words said 3 or more times in a row,
   or one word said 5 or more times in a row. "No, no, no." and "We went to the store, then to the
   store next to the store." are kept; "Thank you. Thank you. Thank you." is not.
4. ``phantom`` — the whole hypothesis is a known phantom:
   - it has no letters or digits once ``[…]``, ``(…)``, ``*…*`` and ``♪…♪`` annotations are removed
     (``♪``, ``[MUSIC]``, ``(silence)``, ``...``);
   - it is (possibly repeated) one of :data:`ALWAYS_PHANTOM` or starts with one of
     :data:`CREDIT_PREFIXES` (video outros and subtitle credits, which nobody says in a meeting);
   - it is (possibly repeated) one of :data:`LOW_CONFIDENCE_PHANTOM` — short things people really say
     ("Thank you.", "Bye.", "Okay.") — *and* the decode was unsure: ``no_speech_prob`` above
     :data:`PHANTOM_NO_SPEECH_PROB` or ``avg_logprob`` below :data:`PHANTOM_AVG_LOGPROB`. A clearly
     spoken "Thank you." is kept. On this project's measurements with tiny.en, the "you" Whisper
     writes for 2 s of digital silence had ``no_speech_prob`` 0.99 and ``avg_logprob`` -0.61, while
     real speech had ``no_speech_prob`` ≤ 0.05 and ``avg_logprob`` ≥ -0.31; the two thresholds sit
     between, and should be revisited with recordings of real meetings.

Phrases are matched after :func:`normalize`: case-folded, apostrophes removed, every other non-word
character turned into a space. An empty hypothesis is not a hallucination (there is nothing to drop);
callers skip empty text themselves.

Sources: openai/whisper discussion #679 ("A possible solution to Whisper hallucination");
Koenecke et al. 2024, "Careless Whisper: Speech-to-Text Hallucination Harms" (FAccT).
"""

from __future__ import annotations

import re

from babelroom.config import Settings
from babelroom.metrics import STT_DROPPED
from babelroom.stt.base import Hypothesis

#: Whole-hypothesis phrases never said in a meeting (normalised), dropped whatever the confidence.
ALWAYS_PHANTOM = frozenset(
    {
        "thanks for watching",
        "thank you for watching",
        "thank you so much for watching",
        "thank you for watching and see you next time",
        "thanks for watching and see you next time",
        "please subscribe",
        "please subscribe to my channel",
        "like and subscribe",
        "dont forget to like and subscribe",
        "ご視聴ありがとうございました",
        "gracias por ver",
        "merci davoir regardé",
    }
)

#: Normalised starts of subtitle-credit lines ("Subtitles by the Amara.org community" …).
CREDIT_PREFIXES = (
    "subtitles by",
    "subtitled by",
    "captions by",
    "captioning by",
    "transcription by",
    "transcribed by",
    "subtítulos realizados por",
    "subtítulos por",
    "sous titres réalisés",
    "sous titrage",
    "untertitel im auftrag",
    "untertitel der amara",
    "amara org",
)

#: Whole-hypothesis phrases people do say, dropped only when the decode was unsure (normalised).
LOW_CONFIDENCE_PHANTOM = frozenset(
    {
        "you",
        "thank you",
        "thank you very much",
        "thank you so much",
        "thanks",
        "bye",
        "bye bye",
        "goodbye",
        "see you next time",
        "okay",
        "so",
        "oh",
        "uh",
        "um",
        "hmm",
    }
)
#: A low-confidence phantom is dropped when ``no_speech_prob`` is above this …
PHANTOM_NO_SPEECH_PROB = 0.4
#: … or ``avg_logprob`` is below this.
PHANTOM_AVG_LOGPROB = -0.7

#: Repetition rule: a phrase of 2+ words said this many times in a row …
MIN_PHRASE_REPEATS = 3
#: … or a single word said this many times in a row.
MIN_WORD_REPEATS = 5

_ANNOTATION = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|♪[^♪]*♪")
_APOSTROPHES = re.compile(r"['’`]")
_NON_WORD = re.compile(r"[\W_]+")


def normalize(text: str) -> str:
    """``text`` case-folded, without apostrophes, other non-word characters as single spaces."""
    return _NON_WORD.sub(" ", _APOSTROPHES.sub("", text.casefold())).strip()


class HallucinationFilter:
    """Decides whether a :class:`~babelroom.stt.base.Hypothesis` is dropped (see the module docstring).

    Thresholds ``stt_no_speech_threshold``, ``stt_logprob_threshold`` and
    ``stt_compression_ratio_threshold`` come from the settings. Stateless and thread-safe.
    """

    def __init__(self, settings: Settings) -> None:
        self._no_speech_threshold = settings.stt_no_speech_threshold
        self._logprob_threshold = settings.stt_logprob_threshold
        self._compression_ratio_threshold = settings.stt_compression_ratio_threshold

    def check(self, hypothesis: Hypothesis, doubtful: bool = False) -> str | None:
        """The reason to drop ``hypothesis`` (``no_speech``, ``compression``, ``repetition``,
        ``phantom``), counted in ``babelroom_stt_hallucination_drops_total``; None to keep it.
        ``doubtful``: the VAD doubted the segment is speech (rule 1 of the module docstring)."""
        reason = self._reason(hypothesis, doubtful)
        if reason is not None:
            STT_DROPPED.labels(reason=reason).inc()
        return reason

    def _reason(self, h: Hypothesis, doubtful: bool) -> str | None:
        if not h.text.strip():
            return None
        unsure = h.no_speech_prob > PHANTOM_NO_SPEECH_PROB or h.avg_logprob < PHANTOM_AVG_LOGPROB
        if doubtful and unsure:
            return "no_speech"
        if h.no_speech_prob > self._no_speech_threshold and h.avg_logprob < self._logprob_threshold:
            return "no_speech"
        if h.compression_ratio > self._compression_ratio_threshold:
            return "compression"
        words = normalize(h.text).split()
        if _is_repetitive(words):
            return "repetition"
        if not normalize(_ANNOTATION.sub(" ", h.text)):
            return "phantom"
        phrase = " ".join(_repeated_unit(words))
        if phrase in ALWAYS_PHANTOM or phrase.startswith(CREDIT_PREFIXES):
            return "phantom"
        if phrase in LOW_CONFIDENCE_PHANTOM and unsure:
            return "phantom"
        return None


def _is_repetitive(words: list[str]) -> bool:
    """Rule 3 of the module docstring on normalised ``words``: a tandem repeat anywhere in them."""
    n = len(words)
    for size in range(1, n // MIN_PHRASE_REPEATS + 1):
        needed = MIN_WORD_REPEATS if size == 1 else MIN_PHRASE_REPEATS
        for start in range(n - needed * size + 1):
            unit = words[start : start + size]
            if all(
                words[start + k * size : start + (k + 1) * size] == unit for k in range(1, needed)
            ):
                return True
    return False


def _repeated_unit(words: list[str]) -> list[str]:
    """The shortest ``unit`` with ``words == unit * k`` (``words`` itself when it does not repeat)."""
    n = len(words)
    for size in range(1, n // 2 + 1):
        if n % size == 0 and words == words[:size] * (n // size):
            return words[:size]
    return words
