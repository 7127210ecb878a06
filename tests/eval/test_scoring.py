"""The scores of `babelroom eval` on real sentences of the test sets (tests/data/eval, tests/data/mt)."""

from pathlib import Path

import pytest

from babelroom.dev.eval_scoring import chrf_bleu, ends_sentence, normalize, word_error_rate

DATA = Path(__file__).resolve().parents[1] / "data"


def test_english_uses_whispers_normaliser() -> None:
    # LJ001-0007's reference: numbers become digits, the hyphen and the quotes go, "colour" is spelled "color"
    assert normalize('the Gutenberg, or "forty-two line Bible" of about fourteen fifty-five,', "en") \
        == "the gutenberg or 42 line bible of about 1455"
    assert normalize("Mr. Smith's colour isn't twenty-five percent.", "en") == "mister smith is color is not 25%"


def test_other_languages_lower_case_nfkc_no_punctuation() -> None:
    # Common Voice French references drop apostrophes: the normaliser does the same to Whisper's output
    assert normalize("J'ai donc l'expérience des années passées, j'en dirai un mot tout à l'heure.", "fr") \
        == "jai donc lexpérience des années passées jen dirai un mot tout à lheure"
    assert normalize("¿Un homenaje a Cabré era más que necesario?", "es") == "un homenaje a cabré era más que necesario"
    assert normalize("Nestor Pestana, 266 — região central!", "pt") == "nestor pestana 266 região central"
    assert normalize("ﬁn ｆｕｌｌ", "de") == "fin full"  # NFKC: ligature and full-width letters
    assert normalize("Chỉ bằng cách luôn nỗ lực…", "vi") == "chỉ bằng cách luôn nỗ lực"


def test_wer_is_corpus_wer_after_normalisation() -> None:
    references = ["En ese equipo contó con dos futuros internacionales Javi Martínez y nacho Monreal.",
                  "Las arenas son blanquecinas de grano medio y tiene muy poca asistencia"]
    hypotheses = ["En ese equipo contó con dos futuros internacionales, Javi Martínez y Nacho Monreal.",
                  "Las arenas son blanquecinas de grano medio y tienen muy poca consistencia."]
    # 2 substitutions over 13 + 12 reference words; case and punctuation are not errors
    assert word_error_rate(references, hypotheses, "es") == pytest.approx(2 / 25)
    assert word_error_rate(["And so, my fellow Americans"], ["and so my fellow americans"], "en") == 0.0
    with pytest.raises(ValueError, match="2 references but 1"):
        word_error_rate(references, hypotheses[:1], "es")
    with pytest.raises(ValueError, match="empty after normalisation"):
        word_error_rate(["?!"], ["hola"], "es")


def test_chrf_and_bleu_on_ntrex() -> None:
    spa = (DATA / "mt" / "ntrex128-dev.spa.txt").read_text().splitlines()[:20]
    assert chrf_bleu(spa, spa) == {"chrf": 100.0, "bleu": 100.0}
    eng = (DATA / "mt" / "ntrex128-dev.eng.txt").read_text().splitlines()[:20]
    scores = chrf_bleu(eng, spa)  # English "translations" of Spanish: names and numbers match, little else
    assert 10 < scores["chrf"] < 35 and scores["bleu"] < 10


@pytest.mark.parametrize(("text", "ends"), [
    ("And so, my fellow Americans, ask not what your country can do for you.", True),
    ("¿Qué hora es?", True),
    ("Il récompense le meilleur lanceur de relève de la ligue nationale!", True),
    ('He said "go."', True),
    ("Printing, in the only sense with which we are at present concerned,", False),
    ("it was not", False),
    ("", False),
])
def test_sentence_end(text: str, ends: bool) -> None:
    assert ends_sentence(text) is ends
