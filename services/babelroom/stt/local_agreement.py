"""LocalAgreement-2: which words of a growing segment's partial transcripts are stable.

A segment that is still being spoken is re-decoded from its start every ``partial_interval_ms``.
Each decode may rewrite its last words; a word is *committed* once two consecutive hypotheses agree on
it, i.e. the committed prefix grows by the longest common prefix of the last two hypotheses
(beyond what is already committed). Committed words never change; the rest of the latest hypothesis
is *unstable* and is shown as such.

Words are compared through :func:`word_key` (case and punctuation ignored, so "country" and
"country," agree); the committed words keep the spelling of the latest hypothesis.

Whisper may also rewrite words already committed ("wood cutters" → "woodcutters", "asked" → "ask").
The committed part of such a hypothesis is then located by edit distance: it is the shortest run of
leading words whose letters are closest (Levenshtein) to the committed words' letters. Only what follows
is compared and shown, so committed text is never duplicated or changed.

Consecutive partials of one segment may be decoded by different STT workers, so the whole state is a
small JSON-able dict (:meth:`LocalAgreement.state`, :meth:`LocalAgreement.from_state`).

Source: Macháček, Dabre & Bojar 2023, "Turning Whisper into Real-Time Transcription System",
IJCNLP-AACL system demonstrations (the LocalAgreement-n policy, with n = 2).
"""

from __future__ import annotations

import unicodedata
from typing import Any, Self, TypeGuard


def word_key(word: str) -> str:
    """``word`` case-folded, without punctuation (Unicode category P*): the comparison key."""
    return "".join(ch for ch in word.casefold() if not unicodedata.category(ch).startswith("P"))


class LocalAgreement:
    """LocalAgreement-2 over the word lists of successive decodes of ONE growing segment. Pure Python."""

    def __init__(self) -> None:
        self._committed: list[str] = []
        self._previous: list[str] | None = None

    def update(self, hypothesis_words: list[str]) -> tuple[list[str], list[str]]:
        """Take the next hypothesis of the segment (its text split on whitespace).

        Returns:
            ``(committed, unstable)``: every committed word so far (a prefix of every later
            ``committed``), and the words of ``hypothesis_words`` after the committed ones.
        """
        words = list(hypothesis_words)
        tail = words[self._aligned_end(words) :]
        if self._previous is not None:
            previous_tail = self._previous[self._aligned_end(self._previous) :]
            agreed = _common_prefix_length(previous_tail, tail)
            self._committed.extend(tail[:agreed])
            tail = tail[agreed:]
        self._previous = words
        return list(self._committed), tail

    @property
    def previous(self) -> list[str] | None:
        """The words of the last hypothesis taken, or None before the first."""
        return None if self._previous is None else list(self._previous)

    def state(self) -> dict[str, Any]:
        """``{"committed": [...], "previous": [...] | None}``, JSON-serialisable."""
        return {"committed": list(self._committed), "previous": self._previous}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        """Restore what :meth:`state` returned.

        Raises:
            ValueError: ``state`` is not of that shape.
        """
        committed = state.get("committed")
        previous = state.get("previous")
        if not _is_word_list(committed) or not (previous is None or _is_word_list(previous)):
            raise ValueError(f"not a LocalAgreement state: {state!r}")
        agreement = cls()
        agreement._committed = list(committed)
        agreement._previous = None if previous is None else list(previous)
        return agreement

    def _aligned_end(self, words: list[str]) -> int:
        """Number of leading ``words`` that correspond to the committed words."""
        keys = [word_key(w) for w in words]
        committed = [word_key(w) for w in self._committed]
        if keys[: len(committed)] == committed:
            return len(committed)
        distances = _prefix_edit_distances("".join(committed), "".join(keys))
        boundaries = [0]
        for key in keys:
            boundaries.append(boundaries[-1] + len(key))
        return min(range(len(words) + 1), key=lambda n: distances[boundaries[n]])


def _common_prefix_length(a: list[str], b: list[str]) -> int:
    """Number of leading words of ``a`` and ``b`` with equal :func:`word_key`."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if word_key(x) != word_key(y):
            break
        n += 1
    return n


def _is_word_list(value: Any) -> TypeGuard[list[str]]:
    """Whether ``value`` is a list of strings."""
    return isinstance(value, list) and all(isinstance(w, str) for w in value)


def _prefix_edit_distances(target: str, text: str) -> list[int]:
    """``d[c]`` = Levenshtein distance between ``target`` and ``text[:c]``, for c in 0..len(text).

    One pass of the Wagner–Fischer dynamic programme, O(len(target) · len(text)).
    """
    row = list(range(len(text) + 1))  # distances from target[:0]
    for i, t in enumerate(target, start=1):
        previous_row, row = row, [i]
        for c, x in enumerate(text, start=1):
            row.append(min(previous_row[c] + 1, row[c - 1] + 1, previous_row[c - 1] + (t != x)))
    return row
