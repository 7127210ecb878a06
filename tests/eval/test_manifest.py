"""The eval manifests: the repository's own parse, and broken ones fail with the file, line and reason."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from babelroom.cli import app
from babelroom.dev.eval_manifest import Clip, ManifestError, read_manifest

EVAL = Path(__file__).resolve().parents[1] / "data" / "eval"
HEADER = "audio\tlanguage\treference\ttranslation\n"


def test_the_repositorys_manifests_parse() -> None:
    by_language = {path.stem: read_manifest(path) for path in sorted(EVAL.glob("*.tsv"))}
    assert {lang: len(clips) for lang, clips in by_language.items()} == {
        "de": 8, "en": 11, "es": 4, "fr": 6, "pt": 8, "vi": 10}
    jfk = by_language["en"][0]
    assert jfk.audio.name == "jfk.flac" and jfk.audio.is_file() and jfk.language == "en"
    assert jfk.reference.startswith("And so, my fellow Americans") and jfk.translation == ""
    assert all(c.language == lang for lang, clips in by_language.items() for c in clips)


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "a.wav").write_bytes(b"")  # only its existence is checked here
    path = tmp_path / "m.tsv"
    path.write_text(text, encoding="utf-8")
    return path


def test_optional_translation_comments_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "# a comment\n" + HEADER + "a.wav\tes\tHola.\tHello.\n\na.wav\tes\tAdiós.\n")
    assert read_manifest(path) == [Clip(tmp_path / "a.wav", "es", "Hola.", "Hello."),
                                   Clip(tmp_path / "a.wav", "es", "Adiós.", "")]
    three = write(tmp_path, "audio\tlanguage\treference\na.wav\ten\tHi.\n")
    assert read_manifest(three) == [Clip(tmp_path / "a.wav", "en", "Hi.", "")]


@pytest.mark.parametrize(("text", "message"), [
    ("", r"m.tsv: empty manifest \(expected a header row: audio language reference translation"),
    ("file\tlang\ttext\n", r"m.tsv:1: the header must be audio / language / reference / translation"),
    (HEADER, "m.tsv: no clips after the header"),
    (HEADER + "a.wav\ten\n", r"m.tsv:2: 2 tab-separated cells, expected 4"),
    (HEADER + "a.wav\tEnglish\tHi.\t\n", "m.tsv:2: language 'English' is not an ISO 639-1 code"),
    (HEADER + "a.wav\ten\t \t\n", "m.tsv:2: empty reference for a.wav"),
    (HEADER + "a.wav\ten\tHi.\t\nmissing.wav\ten\tHi.\t\n", r"m.tsv:3: audio file missing.wav not found \(looked at "),
])
def test_broken_manifests_name_line_and_reason(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        read_manifest(write(tmp_path, text))


def test_missing_and_undecodable_files(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="nope.tsv: cannot read the manifest"):
        read_manifest(tmp_path / "nope.tsv")
    (tmp_path / "latin1.tsv").write_bytes(HEADER.encode() + "a.wav\tes\tAdi\xf3s\t\n".encode("latin-1"))
    with pytest.raises(ManifestError, match="latin1.tsv: cannot read the manifest"):
        read_manifest(tmp_path / "latin1.tsv")


def test_the_command_reports_a_broken_manifest_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "a.wav\tEnglish\tHi.\t\n")
    result = CliRunner().invoke(app, ["eval", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "babelroom eval: " in result.output and "language 'English' is not an ISO 639-1 code" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
