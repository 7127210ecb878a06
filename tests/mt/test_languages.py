"""The ISO 639-1 → FLORES-200 / Apertium code tables."""

from __future__ import annotations

import pytest
from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

from babelroom.mt.base import UnsupportedLanguagePair
from babelroom.mt.languages import APERTIUM, FLORES200, UnknownLanguage, from_apertium, to_apertium, to_flores


def test_every_flores_code_is_an_nllb_language_token() -> None:
    assert set(FLORES200.values()) <= set(FAIRSEQ_LANGUAGE_CODES)
    assert all(len(code) == 2 and code.islower() for code in FLORES200 | APERTIUM)


@pytest.mark.parametrize(
    ("iso", "flores"),
    [("en", "eng_Latn"), ("es", "spa_Latn"), ("de", "deu_Latn"), ("fr", "fra_Latn"), ("vi", "vie_Latn"),
     ("zh", "zho_Hans"), ("ar", "arb_Arab"), ("uk", "ukr_Cyrl"), ("ja", "jpn_Jpan"), ("ko", "kor_Hang")],
)
def test_to_flores(iso: str, flores: str) -> None:
    assert to_flores(iso) == flores


def test_apertium_codes_round_trip() -> None:
    assert to_apertium("en") == "eng" and to_apertium("es") == "spa"
    assert all(from_apertium(to_apertium(iso)) == iso for iso in APERTIUM)


def test_older_apertium_pairs_keep_iso_639_1_codes() -> None:
    """Debian's apertium-fr-es and apertium-es-pt install ``fr-es.mode`` and ``es-pt.mode``."""
    assert [from_apertium(code) for code in ("fr", "es", "pt", "fra", "por")] == ["fr", "es", "pt", "fr", "pt"]


@pytest.mark.parametrize("convert", [to_flores, to_apertium, from_apertium])
def test_unknown_codes_raise_a_clear_error(convert) -> None:
    with pytest.raises(UnknownLanguage, match="'xx'") as error:
        convert("xx")
    assert isinstance(error.value, UnsupportedLanguagePair)
