"""A document's text cut into overlapping chunks of words, for embedding and retrieval.

all-MiniLM-L6-v2 reads at most 256 word pieces (longer input is truncated), about 180 English words, so chunks
are ``size`` words (default ``document_chunk_words``) and each repeats the last ``overlap`` words of the one
before it, so that a sentence cut at a chunk boundary is whole in one of the two.
"""

from __future__ import annotations


def chunk_words(text: str, size: int, overlap: int) -> list[str]:
    """``text`` as chunks of at most ``size`` whitespace-separated words, consecutive ones sharing ``overlap``.

    Raises:
        ValueError: ``size`` < 1 or ``overlap`` not in ``[0, size)``.
    """
    if size < 1 or not 0 <= overlap < size:
        raise ValueError(f"need size ≥ 1 and 0 ≤ overlap < size, got size={size}, overlap={overlap}")
    words = text.split()
    step = size - overlap
    return [" ".join(words[start:start + size]) for start in range(0, max(len(words) - overlap, 1), step)
            if words[start:start + size]]
