"""Real PDF and DOCX uploads for the document tests: PDFs printed by headless Chromium from HTML (one with a text
layer, one a scanned page: only an image), a Word document written by python-docx (paragraphs, a table with a
merged cell and a nested table), and the damaged, encrypted and foreign variants the refusals need."""

from __future__ import annotations

import base64
import io
import subprocess
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader, PdfWriter

CHROMIUM = Path("/usr/bin/chromium")
#: Two pages of text: the terms of each page must reach extract_terms.
PRINTING_HTML = ("<html><body><h1>Printing history</h1><p>The Gutenberg Bible was printed in Mainz by Johann "
                 "Gutenberg with Peter Schoeffer and Johann Fust.</p><p style='page-break-before: always'>Later, "
                 "the woodcutters of the Netherlands produced block books in Haarlem.</p></body></html>")
DOCX_TERMS = {"Senninger", "Oberschenkelhalsbruch", "CTranslate2", "Haaland", "Schalke", "Bundesliga"}


@pytest.fixture(scope="session")
def print_pdf(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], bytes]:
    """``print_pdf(html)``: the PDF headless Chromium prints of ``html`` (no header or footer)."""
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium to print the test PDFs")
    workdir = tmp_path_factory.mktemp("pdfs")
    printed: dict[str, bytes] = {}

    def print_(html: str) -> bytes:
        if html not in printed:
            page, out = workdir / f"{len(printed)}.html", workdir / f"{len(printed)}.pdf"
            page.write_text(html)
            subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                            f"--user-data-dir={workdir / 'profile'}", f"--print-to-pdf={out}", page.as_uri()],
                           check=True, capture_output=True, timeout=120)
            printed[html] = out.read_bytes()
        return printed[html]
    return print_


@pytest.fixture(scope="session")
def printing_pdf(print_pdf: Callable[[str], bytes]) -> bytes:
    return print_pdf(PRINTING_HTML)


@pytest.fixture(scope="session")
def scanned_pdf(print_pdf: Callable[[str], bytes]) -> bytes:
    """A page that is only an image of words (as a scanner makes it): no text layer."""
    image = Image.new("RGB", (600, 200), "white")
    ImageDraw.Draw(image).text((20, 80), "The Gutenberg Bible was printed in Mainz.", fill="black")
    png = io.BytesIO()
    image.save(png, "PNG")
    return print_pdf(f"<html><body><img src='data:image/png;base64,{base64.b64encode(png.getvalue()).decode()}'>"
                     "</body></html>")


def encrypted(pdf: bytes, user_password: str) -> bytes:
    """``pdf`` encrypted (AES-256) with ``user_password`` ("" : anyone opens it, only the owner may edit)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="session")
def word_docx() -> bytes:
    """A Word document: two paragraphs, then a table with a merged cell and a nested table."""
    document = docx.Document()
    document.add_heading("Physio meeting", level=1)
    document.add_paragraph("Frau Senninger hatte einen Oberschenkelhalsbruch.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Whisper runs on CTranslate2."
    table.cell(0, 1).text = "Then a Bundesliga match."
    merged = table.cell(1, 0).merge(table.cell(1, 1))
    merged.text = "Later Haaland scored."
    merged.add_table(rows=1, cols=1).cell(0, 0).text = "Against Schalke, twice."
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def ooxml_zip(content_type: str, part: str) -> bytes:
    """A ZIP shaped like an Office file whose main part ``part`` has ``content_type`` (e.g. an XLSX)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.'
                         f'org/package/2006/content-types"><Override PartName="/{part}" ContentType="{content_type}"/>'
                         "</Types>")
        archive.writestr(part, "<workbook/>")
    return out.getvalue()


XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def handmade_pdf(content: bytes, flate: bool = False) -> bytes:
    """A one-page PDF whose page draws ``content`` (a content stream, deflated if ``flate``) with Helvetica as
    ``/F1``, written by hand (for what Chromium never prints: a NUL character code, a decompression bomb)."""
    stream = zlib.compress(content, 9) if flate else content
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< %s/Length %d >>\nstream\n%s\nendstream" % (b"/Filter /FlateDecode " * flate, len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
