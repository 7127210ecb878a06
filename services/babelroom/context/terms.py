"""Domain terms of a text: the words Whisper is likely to get wrong without being told them.

No word-frequency list is installed here (``wordfreq`` is not in the environment), so rarity is judged from
the word's form:

- acronyms and mixed-case or digit-bearing names (``NTREX``, ``pgvector``… only with an inner capital or a
  digit: ``CTranslate2``, ``PostgreSQL``);
- capitalised words that stand inside a sentence at least once (names: ``Gutenberg``, ``Wentworth``; every
  German noun);
- long words (≥ :data:`LONG_WORD` letters: ``woodcutters``, ``Oberschenkelhalsbruch``) and hyphenated compounds.

Terms are ranked by salience: names and acronyms first, then by count in the text, then by length.
"""

from __future__ import annotations

import re
from collections import Counter

#: Letters from which a lower-case word counts as rare.
LONG_WORD = 9
_WORD = re.compile(r"[^\W\d_](?:[\w'’-]*\w)?", re.UNICODE)
#: French and Italian elided articles and pronouns before an apostrophe (l', d', qu', dell'…).
_ELISION = re.compile(r"^(?:[cdjlmnst]|qu|dell|nell|all|dall|sull)['’](?=[^\W\d_])", re.IGNORECASE)
#: What ends a sentence before a word: a full stop, question or exclamation mark, colon or semicolon (closing quotes
#: or brackets allowed after it), or a blank line (a heading, a new paragraph). A single line break does not: a
#: wrapped paragraph goes on, and a list item's first word counts as inside a sentence (glossaries are lists).
_SENTENCE_END = re.compile(r"(?:[.!?:;…][\"'”’»)\]]*\s*|\n[ \t]*\n\s*)$")


def _kind(word: str, initial: bool, capitalised_inside: set[str]) -> int | None:
    """0: a name or acronym; 1: a long or compound word; None: not a term."""
    letters = [c for c in word if c.isalpha()]
    if len(letters) < 2:
        return None
    inner_capital = any(c.isupper() for c in word[1:])
    if inner_capital or any(c.isdigit() for c in word):
        return 0 if len(letters) >= 2 and (word.isupper() or inner_capital) else None
    if word[0].isupper() and (not initial or word in capitalised_inside):
        return 0 if len(letters) >= 3 else None
    if "-" in word.strip("-") or len(letters) >= LONG_WORD:  # sentence-initial capitals are judged as lower case
        return 1
    return None


def extract_terms(text: str, limit: int | None = None) -> list[str]:
    """The domain terms of ``text``, most salient first, each once (as first written; a rare word seen first at a
    sentence start in lower case), at most ``limit``."""
    words: list[tuple[str, bool]] = []
    lead = len(text) - len(text.lstrip())  # the first word starts the text (a slice per word was quadratic)
    for match in _WORD.finditer(text):
        initial = match.start() <= lead or bool(_SENTENCE_END.search(text[max(0, match.start() - 12):
                                                                           match.start()]))
        word = _ELISION.sub("", match.group()).strip("'’-")  # l'archipel → archipel
        words.append((word, initial))
    capitalised_inside = {w for w, initial in words if not initial and w[:1].isupper()}
    counts: Counter[str] = Counter()
    kinds: dict[str, int] = {}
    first: dict[str, str] = {}
    for word, initial in words:
        kind = _kind(word, initial, capitalised_inside)
        if kind is None:
            continue
        key = word.lower() if kind == 1 else word
        counts[key] += 1
        kinds[key] = min(kinds.get(key, kind), kind)
        first.setdefault(key, word.lower() if kind == 1 and initial else word)  # "Woodcutters of…" → woodcutters
    ranked = sorted(counts, key=lambda k: (kinds[k], -counts[k], -len(k), k))
    return [first[k] for k in ranked][:limit]


def terms_in(text: str, terms: list[str]) -> list[str]:
    """Those of ``terms`` that occur in ``text`` as whole words (case-insensitive), in ``terms``' order."""
    folded = text.casefold()
    return [t for t in terms if re.search(rf"(?<!\w){re.escape(t.casefold())}(?!\w)", folded)]
