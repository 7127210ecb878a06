"""Clause-sized chunks of a sentence, so the first audio leaves before the whole sentence is spoken.

A neural voice costs compute in proportion to the speech it makes (Kokoro about one CPU second per
second of speech on one loaded core): a 4 s sentence spoken whole reaches the listener ~4 s after its
text. Spoken in chunks, the first chunk is published as soon as it is ready and the listener plays it
while the next one is synthesised, so the wait is that of the first chunk only.

Chunks end where a speaker pauses anyway: after ``, ; : . ! ? …`` and dashes followed by a space.
The first chunk is kept short (at most ``first_chars`` characters, when a clause boundary allows);
later chunks gather clauses up to ``max_chars``. A clause longer than its limit is cut at the last
word boundary before the limit (never inside a word, and not to leave a tail under
:data:`MIN_TAIL_CHARS`). ``"".join`` with single spaces gives the text
back (whitespace normalised).
"""

from __future__ import annotations

import re

#: A clause ends after one of these marks when a space follows.
_CLAUSE_END = re.compile(r"(?<=[,;:.!?…—–])\s+|\s+(?=[—–]\s)")


#: A cut that would leave fewer characters than this after it is not made (a lone word sounds odd).
MIN_TAIL_CHARS = 20


def _cut(clause: str, limit: int) -> tuple[str, str]:
    """``clause`` as (at most ``limit`` characters ending at a word boundary, the rest); whole when the
    rest would be shorter than :data:`MIN_TAIL_CHARS`."""
    if len(clause) <= limit + MIN_TAIL_CHARS:
        return clause, ""
    space = clause.rfind(" ", 0, limit + 1)
    if space <= 0:  # one word longer than the limit: keep it whole
        space = clause.find(" ")
        if space < 0:
            return clause, ""
    return clause[:space], clause[space + 1:]


def clauses(text: str, first_chars: int, max_chars: int) -> list[str]:
    """``text`` as chunks to speak in order.

    Args:
        text: one sentence or more.
        first_chars: the first chunk's length budget (characters); 0 turns chunking off.
        max_chars: every later chunk's budget (characters); at least ``first_chars``.

    Returns:
        Non-empty chunks; ``[text]`` (stripped) when chunking is off or the text fits ``first_chars``;
        ``[]`` for a blank text.
    """
    text = " ".join(text.split())
    if not text:
        return []
    if first_chars <= 0 or len(text) <= first_chars:
        return [text]
    pieces = [piece for piece in _CLAUSE_END.split(text) if piece]
    chunks: list[str] = []
    current = ""
    while pieces:
        limit = first_chars if not chunks else max(max_chars, first_chars)
        piece = pieces.pop(0)
        joined = f"{current} {piece}" if current else piece
        if len(joined) <= limit:
            current = joined
            continue
        if current:  # close the chunk at the last clause boundary; the piece starts the next one
            chunks.append(current)
            current = ""
            pieces.insert(0, piece)
            continue
        head, rest = _cut(piece, limit)  # one clause longer than the limit
        chunks.append(head)
        if rest:
            pieces.insert(0, rest)
    if current:
        chunks.append(current)
    return chunks
