"""Speech a prompted decode skipped: Whisper taking a segment's first words for the prompt's last ones.

Every decode is prompted with the speaker's previous final. When that text ends no sentence (Whisper
often leaves a pause-ended segment's full stop out), Whisper reads the new audio as the rest of that
sentence, and when the audio starts with words like the prompt's last ones it may start after them:
tiny.en, prompted with "what your country can do for you", hears "ask what you can do for your country"
(jfk.flac from 7.5 to 8.15 s) as "country" at 7 of 14 start times 50 ms apart; unprompted, right at all
14. The Janus media test lost "ask what you can do for your" this way, intermittently (the start time
is the VAD's). Closing the prompt with a full stop avoids it (0 of 14) but makes a mid-sentence
continuation start a new sentence: on the eval clips split at word gaps, the WER of head + continuation
went from 3.9% to 7.1% (English, tiny.en) and from 37.4% to 61.6% (French, base), against 4.3% and
37.9% unprompted ("à la réflexion" became "Je vous invite à la réflexion").

So a final whose prompt ends no sentence is also decoded unprompted (the decoder only: the encoder
output is shared; ``final`` of :meth:`~babelroom.stt.whisper.WhisperSTT.transcribe`), and the
unprompted text is kept when the prompted one is the unprompted one's tail with :data:`MIN_SKIPPED_WORDS`
or more words missing in front (:func:`skipped_words`). That pass costs 15–45% of a decode (tiny.en and
base, 2.7–9 s segments), so partials, re-decoded every second and replaced by the final, go without it.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from babelroom.stt.local_agreement import word_key

#: Fewest leading words the prompted text must lack to count as a skip (one may be a word the
#: prompt's context merges or drops: "as what" against "ask what").
MIN_SKIPPED_WORDS = 2
#: How alike (difflib ratio over the word keys) the prompted text and the unprompted one's tail must be.
MIN_TAIL_SIMILARITY = 0.75


def skipped_words(prompted: str, unprompted: str) -> int:
    """How many leading words of ``unprompted`` the ``prompted`` decode of the same audio left out, or 0.

    Non-zero only when ``prompted`` is not empty (an empty text is the hallucination filter's business:
    unprompted, Whisper hears "Thank you." in noise), is at least :data:`MIN_SKIPPED_WORDS` words shorter,
    and is (nearly) the tail of ``unprompted``. Words are compared by
    :func:`~babelroom.stt.local_agreement.word_key`.

    >>> skipped_words("country", "ask what you can do for your country")
    7
    >>> skipped_words("de grano medio", "de grano medio"), skipped_words("", "Thank you.")
    (0, 0)
    """
    p = [word_key(w) for w in prompted.split()]
    u = [word_key(w) for w in unprompted.split()]
    missing = len(u) - len(p)
    if not p or missing < MIN_SKIPPED_WORDS:
        return 0
    return missing if SequenceMatcher(None, p, u[missing:]).ratio() >= MIN_TAIL_SIMILARITY else 0
