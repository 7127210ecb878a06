"""What a document yields: its text (type judged by content, Markdown markup dropped), its domain terms,
and its chunks."""

from __future__ import annotations

import pytest

from babelroom.context.chunks import chunk_words
from babelroom.context.document_text import DocumentRefused, read_document
from babelroom.context.terms import extract_terms, terms_in


def test_markdown_is_told_by_its_content_and_its_markup_dropped():
    read = read_document("\ufeff# Notes\n\n- see [the **Gutenberg** Bible](https://example.org/x)\n".encode())
    assert read.content_type == "text/markdown"
    assert read.text.split() == ["Notes", "see", "the", "Gutenberg", "Bible"]
    assert read_document(b"Plain words, nothing more.").content_type == "text/plain"
    assert read_document("\ufeffUTF-16 Wörter".encode("utf-16")).text == "UTF-16 Wörter"


@pytest.mark.parametrize(("data", "reason"), [
    (b"%PDF-1.4 ...", "unsupported_type"), (b"PK\x03\x04...", "unsupported_type"),
    (b"text\x00with nul", "unsupported_type"), (b"text \x1b[31m escape", "unsupported_type"),
(b"caf\xe9", "undecodable"), (b"", "empty"), (b"1, 2, 3 !", "empty"),
])
def test_refusals(data, reason):
    with pytest.raises(DocumentRefused) as refused:
        read_document(data)
    assert refused.value.reason == reason and refused.value.status == (415 if reason == "unsupported_type" else 422)


def test_terms_are_names_acronyms_and_rare_words_most_salient_first():
    text = ("Printing is old. The Gutenberg Bible was printed in Mainz; Gutenberg worked with Fust. The NTREX set "
            "runs on CTranslate2. Woodcutters of the Netherlands made block books. Their letterpress was "
            "well-known. The book was bound. Frau Senninger hatte einen Oberschenkelhalsbruch. Voilà l'archipel "
            "de l'Exposition.")
    terms = extract_terms(text)
    assert terms[0] == "Gutenberg"  # a name, twice
    for expected in ("Mainz", "Fust", "NTREX", "CTranslate2", "Netherlands", "Senninger", "Oberschenkelhalsbruch",
                     "letterpress", "well-known", "woodcutters", "Exposition"):
        assert expected in terms, expected
    for common in ("Printing", "The", "Their", "book", "bound", "block", "archipel", "l'Exposition"):
        assert common not in terms, common
    names = terms.index("Mainz")
    assert all(terms.index(rare) > names for rare in ("letterpress", "well-known"))
    assert extract_terms(text, limit=3) == terms[:3]


def test_terms_in_matches_whole_words_case_insensitively():
    assert terms_in("the GUTENBERG bible, not Mainzer", ["Gutenberg", "Mainz", "Bible"]) == ["Gutenberg", "Bible"]


def test_chunks_overlap_and_cover_every_word():
    words = [f"w{i}" for i in range(25)]
    chunks = chunk_words(" ".join(words), 10, 3)
    assert [c.split()[0] for c in chunks] == ["w0", "w7", "w14", "w21"]
    assert chunks[-1].split()[-1] == "w24" and all(len(c.split()) <= 10 for c in chunks)
    assert chunk_words("a few words", 10, 3) == ["a few words"]
    with pytest.raises(ValueError):
        chunk_words("x", 5, 5)


def test_a_wrapped_line_goes_on_the_sentence_and_a_blank_line_ends_it():
    assert extract_terms("Sous le\nConsulat il devient conservateur.") == ["Consulat", "conservateur"]
    assert extract_terms("Title\n\nConsulat et consulat.") == []
    assert extract_terms("Glossary:\n- Koppel\n- Senninger") == ["Senninger", "Koppel"]  # ties: longer first


def test_the_first_word_after_leading_space_starts_a_sentence():
    """A capital at the start of the text (after blank lines) is a sentence start, not a name; a capital inside
    a sentence is. The start is found once per text: a slice of the text before every word was quadratic
    (32 s for 832 kB in the gateway's upload handler)."""
    text = "\n\n  Meetings about Gutenberg. Meetings again with Gutenberg."
    assert extract_terms(text) == ["Gutenberg"]
    # seen only at a sentence start: judged in lower case (a long word), with or without leading space
    assert extract_terms("\n  Gutenberg printed.") == extract_terms("Gutenberg printed.") == ["gutenberg"]
