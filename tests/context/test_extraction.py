"""What a document yields: its text (type judged by content: PDF, DOCX, Markdown with its markup dropped, plain
text), its domain terms, and its chunks; the PDF and DOCX refusals (encrypted, truncated, scanned, another ZIP,
too many pages or too much text, a decompression bomb)."""

from __future__ import annotations

import io
import zipfile

import pytest
from tests.context.conftest import DOCX_TERMS, XLSX_MAIN, encrypted, handmade_pdf, ooxml_zip

from babelroom.context.chunks import chunk_words
from babelroom.context.document_text import DOCX, PDF, read_document
from babelroom.context.refusal import DocumentRefused
from babelroom.context.terms import extract_terms, terms_in


def test_markdown_is_told_by_its_content_and_its_markup_dropped():
    read = read_document("\ufeff# Notes\n\n- see [the **Gutenberg** Bible](https://example.org/x)\n".encode())
    assert read.content_type == "text/markdown"
    assert read.text.split() == ["Notes", "see", "the", "Gutenberg", "Bible"]
    assert read_document(b"Plain words, nothing more.").content_type == "text/plain"
    assert read_document("\ufeffUTF-16 Wörter".encode("utf-16")).text == "UTF-16 Wörter"


@pytest.mark.parametrize(("data", "reason"), [
    (b"%PDF-1.4 ...", "corrupt"), (b"PK\x03\x04...", "corrupt"), (b"\xd0\xcf\x11\xe0 a DOC", "unsupported_type"),
    (b"text\x00with nul", "unsupported_type"), (b"text \x1b[31m escape", "unsupported_type"),
(b"caf\xe9", "undecodable"), (b"", "empty"), (b"1, 2, 3 !", "empty"),
])
def test_refusals(data, reason):
    with pytest.raises(DocumentRefused) as refused:
        read_document(data)
    assert refused.value.reason == reason and refused.value.status == (415 if reason == "unsupported_type" else 422)


def refusal(data: bytes, **limits: int) -> DocumentRefused:
    with pytest.raises(DocumentRefused) as refused:
        read_document(data, **limits)
    return refused.value


def test_a_pdfs_pages_are_read_and_their_terms_found(printing_pdf):
    read = read_document(printing_pdf)
    assert read.content_type == PDF == "application/pdf"
    assert "Gutenberg Bible was printed in Mainz" in read.text and "woodcutters of the Netherlands" in read.text
    assert {"Gutenberg", "Mainz", "Schoeffer", "Fust", "Netherlands", "Haarlem"} <= set(extract_terms(read.text))


def test_a_docx_paragraphs_and_table_cells_are_read_and_their_terms_found(word_docx):
    read = read_document(word_docx)
    assert read.content_type == DOCX == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert read.text.split("\n\n") == [
        "Physio meeting", "Frau Senninger hatte einen Oberschenkelhalsbruch.", "Whisper runs on CTranslate2.",
        "Then a Bundesliga match.", "Later Haaland scored.", "Against Schalke, twice."]  # the merged cell once
    assert set(extract_terms(read.text)) >= DOCX_TERMS


def test_a_pdf_encrypted_with_a_password_is_refused_one_anyone_opens_is_read(printing_pdf):
    refused = refusal(encrypted(printing_pdf, "secret"))
    assert (refused.reason, refused.status) == ("encrypted", 422) and "password" in refused.detail
    assert "Gutenberg" in read_document(encrypted(printing_pdf, "")).text  # owner password only: restrictions


def test_a_truncated_or_damaged_pdf_is_corrupt(printing_pdf):
    for damaged in (printing_pdf[: len(printing_pdf) // 2], printing_pdf[:200] + b"\n%%EOF\n"):
        refused = refusal(damaged)
        assert (refused.reason, refused.status) == ("corrupt", 422), refused.detail


def test_a_damaged_deflate_stream_or_an_unknown_filter_is_corrupt(word_docx):
    """zipfile raises zlib.error on a damaged deflate stream, pypdf NotImplementedError on a filter it does not
    know (a garbled name): both found by mutating real files; both answered 500 before."""
    with zipfile.ZipFile(io.BytesIO(word_docx)) as source:
        info = source.getinfo("word/document.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)  # the local header's size
    damaged = word_docx[:start] + b"\xff" + word_docx[start + 1:]  # deflate block type 3: reserved, invalid
    unknown = handmade_pdf(b"BT /F1 12 Tf 72 720 Td (Gutenberg) Tj ET").replace(b"<< /Length", b"<< /Filter /Fla\x16e "
                                                                                   b"/Length")
    for data in (damaged, unknown):
        refused = refusal(data)
        assert (refused.reason, refused.status) == ("corrupt", 422), refused.detail


def test_a_scanned_pdf_has_no_text_layer(scanned_pdf):
    refused = refusal(scanned_pdf)
    assert (refused.reason, refused.status) == ("empty", 422) and "no text layer" in refused.detail


def test_a_truncated_or_damaged_docx_is_corrupt(word_docx):
    with zipfile.ZipFile(io.BytesIO(word_docx)) as source:
        files: dict[str, str | bytes] = {name: source.read(name) for name in source.namelist()}
    for damaged in (word_docx[: len(word_docx) // 2], zipped({**files, "word/document.xml": b"<w:document"})):
        refused = refusal(damaged)
        assert (refused.reason, refused.status) == ("corrupt", 422), refused.detail


@pytest.mark.parametrize(("make", "named"), [
    (lambda: ooxml_zip(XLSX_MAIN, "xl/workbook.xml"), "XLSX"),
    (lambda: ooxml_zip("application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
                       "ppt/presentation.xml"), "PPTX"),
    (lambda: zipped({"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<x/>"}), "OpenDocument"),
    (lambda: zipped({"notes.txt": "Gutenberg printed in Mainz."}), "ZIP archive"),
])
def test_a_zip_that_is_no_word_document_is_refused_by_name(make, named):
    refused = refusal(make())
    assert (refused.reason, refused.status) == ("unsupported_type", 415) and named in refused.detail


def zipped(files: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_pages_and_text_are_capped(printing_pdf, word_docx):
    assert refusal(printing_pdf, max_pages=1).reason == "too_large"  # two pages
    assert read_document(printing_pdf, max_pages=2).content_type == PDF
    for data in (printing_pdf, word_docx):
        refused = refusal(data, max_chars=60)
        assert (refused.reason, refused.status) == ("too_large", 413), refused.detail


def test_a_docx_decompression_bomb_is_refused_unread(word_docx):
    """A DOCX whose parts inflate past INFLATE_FACTOR × max_chars bytes (here 40 MB of zeros, 40 kB deflated)."""
    with zipfile.ZipFile(io.BytesIO(word_docx)) as source:
        files: dict[str, str | bytes] = {name: source.read(name) for name in source.namelist()}
    bomb = zipped({**files, "word/media/zeros.bin": bytes(40 * 2**20)})
    assert len(bomb) < 200_000
    refused = refusal(bomb, max_chars=10 * 2**20)
    assert (refused.reason, refused.status) == ("too_large", 413) and "inflates" in refused.detail
    assert read_document(zipped(files)).content_type == DOCX  # the same DOCX without the bomb


def test_a_pdf_decompression_bomb_is_refused():
    """80 MB of spaces in one page's content stream, 80 kB deflated: pypdf stops at its 75 MB stream limit."""
    bomb = handmade_pdf(b"BT /F1 12 Tf 72 720 Td (Gutenberg) Tj ET\n" + b" " * (80 * 2**20), flate=True)
    assert len(bomb) < 200_000
    refused = refusal(bomb)
    assert (refused.reason, refused.status) == ("too_large", 413) and "limit" in refused.detail
    assert "Gutenberg" in read_document(handmade_pdf(b"BT /F1 12 Tf 72 720 Td (Gutenberg) Tj ET", flate=True)).text


def test_a_pdfs_stray_nul_never_reaches_the_text():
    """pypdf passes a NUL character code through, and PostgreSQL's text refuses NUL: control characters of a
    text layer become spaces."""
    read = read_document(handmade_pdf(b"BT /F1 12 Tf 72 720 Td (Gutenberg\\000printed in Mainz\\001) Tj ET"))
    assert read.text == "Gutenberg printed in Mainz "


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
