"""Words repeated across a length-cap cut.

When the segmenter cuts a long utterance, the continuation's audio starts ``vad_overlap_s`` (0.5 s)
before the cut, so its transcript usually begins with the last word or two of the previous
segment's. :func:`strip_repeated_prefix` removes that repetition.
"""

from __future__ import annotations

from babelroom.stt.local_agreement import word_key

#: At most this many words are looked for (0.5 s of overlap holds one to three words).
MAX_OVERLAP_WORDS = 4


def strip_repeated_prefix(previous: str, text: str, max_words: int = MAX_OVERLAP_WORDS) -> str:
    """``text`` without its longest leading run of words that ends ``previous``.

    Words are compared case-folded and without punctuation.

    >>> strip_repeated_prefix("ask not what your country", "your country can do for you")
    'can do for you'
    >>> strip_repeated_prefix("and so my fellow Americans", "ask not")
    'ask not'
    """
    before, words = previous.split(), text.split()
    tail = [word_key(w) for w in before[-max_words:]]
    head = [word_key(w) for w in words[:max_words]]
    for k in range(min(len(tail), len(head)), 0, -1):
        if tail[-k:] == head[:k] and any(tail[-k:]):
            return " ".join(words[k:])
    return text
