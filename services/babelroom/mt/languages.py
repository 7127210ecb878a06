"""ISO 639-1 language codes (our API) → the codes each translation backend uses.

* FLORES-200 codes (``eng_Latn``) name NLLB-200's language tokens: ISO 639-3 code + ISO 15924 script.
  Where ISO 639-1 names a macrolanguage, FLORES-200 uses the individual language NLLB was trained on
  (``ar`` → ``arb_Arab`` Modern Standard Arabic, ``fa`` → ``pes_Arab`` Western Persian, ``ms`` → ``zsm_Latn``
  Standard Malay, ``sw`` → ``swh_Latn``, ``zh`` → ``zho_Hans`` Simplified Chinese …).
* Apertium names its pairs with ISO 639-3 codes (``eng-spa``), macrolanguage codes where it has them;
  older pairs keep their ISO 639-1 names (Debian's ``apertium-fr-es`` installs ``fr-es.mode``,
  ``apertium-es-pt`` ``es-pt.mode``).

Sources: the FLORES-200 language list (https://github.com/facebookresearch/flores/blob/main/flores200/README.md,
the same 202 codes as ``FAIRSEQ_LANGUAGE_CODES`` in transformers' NLLB tokenizer), the ISO 639-2/3 code tables
(https://iso639-3.sil.org/code_tables/639/data) and Apertium's pair names (https://wiki.apertium.org/wiki/List_of_language_pairs).
"""

from __future__ import annotations

from babelroom.mt.base import UnsupportedLanguagePair


class UnknownLanguage(UnsupportedLanguagePair):
    """A language code that this module has no mapping for (not ISO 639-1, or no such backend language)."""


FLORES200: dict[str, str] = {
    "af": "afr_Latn", "ak": "aka_Latn", "am": "amh_Ethi", "ar": "arb_Arab", "as": "asm_Beng",
    "az": "azj_Latn", "ba": "bak_Cyrl", "be": "bel_Cyrl", "bg": "bul_Cyrl", "bm": "bam_Latn",
    "bn": "ben_Beng", "bo": "bod_Tibt", "bs": "bos_Latn", "ca": "cat_Latn", "cs": "ces_Latn",
    "cy": "cym_Latn", "da": "dan_Latn", "de": "deu_Latn", "dz": "dzo_Tibt", "ee": "ewe_Latn",
    "el": "ell_Grek", "en": "eng_Latn", "eo": "epo_Latn", "es": "spa_Latn", "et": "est_Latn",
    "eu": "eus_Latn", "fa": "pes_Arab", "ff": "fuv_Latn", "fi": "fin_Latn", "fj": "fij_Latn",
    "fo": "fao_Latn", "fr": "fra_Latn", "ga": "gle_Latn", "gd": "gla_Latn", "gl": "glg_Latn",
    "gn": "grn_Latn", "gu": "guj_Gujr", "ha": "hau_Latn", "he": "heb_Hebr", "hi": "hin_Deva",
    "hr": "hrv_Latn", "ht": "hat_Latn", "hu": "hun_Latn", "hy": "hye_Armn", "id": "ind_Latn",
    "ig": "ibo_Latn", "is": "isl_Latn", "it": "ita_Latn", "ja": "jpn_Jpan", "jv": "jav_Latn",
    "ka": "kat_Geor", "kg": "kon_Latn", "ki": "kik_Latn", "kk": "kaz_Cyrl", "km": "khm_Khmr",
    "kn": "kan_Knda", "ko": "kor_Hang", "ks": "kas_Arab", "ku": "kmr_Latn", "ky": "kir_Cyrl",
    "lb": "ltz_Latn", "lg": "lug_Latn", "li": "lim_Latn", "ln": "lin_Latn", "lo": "lao_Laoo",
    "lt": "lit_Latn", "lv": "lvs_Latn", "mg": "plt_Latn", "mi": "mri_Latn", "mk": "mkd_Cyrl",
    "ml": "mal_Mlym", "mn": "khk_Cyrl", "mr": "mar_Deva", "ms": "zsm_Latn", "mt": "mlt_Latn",
    "my": "mya_Mymr", "nb": "nob_Latn", "ne": "npi_Deva", "nl": "nld_Latn", "nn": "nno_Latn",
    "no": "nob_Latn", "ny": "nya_Latn", "oc": "oci_Latn", "om": "gaz_Latn", "or": "ory_Orya",
    "pa": "pan_Guru", "pl": "pol_Latn", "ps": "pbt_Arab", "pt": "por_Latn", "qu": "quy_Latn",
    "rn": "run_Latn", "ro": "ron_Latn", "ru": "rus_Cyrl", "rw": "kin_Latn", "sa": "san_Deva",
    "sc": "srd_Latn", "sd": "snd_Arab", "sg": "sag_Latn", "si": "sin_Sinh", "sk": "slk_Latn",
    "sl": "slv_Latn", "sm": "smo_Latn", "sn": "sna_Latn", "so": "som_Latn", "sq": "als_Latn",
    "sr": "srp_Cyrl", "ss": "ssw_Latn", "st": "sot_Latn", "su": "sun_Latn", "sv": "swe_Latn",
    "sw": "swh_Latn", "ta": "tam_Taml", "te": "tel_Telu", "tg": "tgk_Cyrl", "th": "tha_Thai",
    "ti": "tir_Ethi", "tk": "tuk_Latn", "tl": "tgl_Latn", "tn": "tsn_Latn", "tr": "tur_Latn",
    "ts": "tso_Latn", "tt": "tat_Cyrl", "tw": "twi_Latn", "ug": "uig_Arab", "uk": "ukr_Cyrl",
    "ur": "urd_Arab", "uz": "uzn_Latn", "vi": "vie_Latn", "wo": "wol_Latn", "xh": "xho_Latn",
    "yi": "ydd_Hebr", "yo": "yor_Latn", "zh": "zho_Hans", "zu": "zul_Latn",
}  # fmt: skip

APERTIUM: dict[str, str] = {
    "af": "afr", "an": "arg", "ar": "ara", "be": "bel", "bg": "bul", "br": "bre", "ca": "cat",
    "cs": "ces", "cy": "cym", "da": "dan", "de": "deu", "en": "eng", "eo": "epo", "es": "spa",
    "et": "est", "eu": "eus", "fi": "fin", "fr": "fra", "ga": "gle", "gd": "gla", "gl": "glg",
    "he": "heb", "hi": "hin", "hu": "hun", "id": "ind", "is": "isl", "it": "ita", "kk": "kaz",
    "ky": "kir", "lt": "lit", "lv": "lav", "mk": "mkd", "ms": "msa", "mt": "mlt", "nb": "nob",
    "nl": "nld", "nn": "nno", "oc": "oci", "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus",
    "sc": "srd", "se": "sme", "sk": "slk", "sl": "slv", "sq": "sqi", "sv": "swe", "tr": "tur",
    "tt": "tat", "uk": "ukr", "ur": "urd",
}  # fmt: skip

_ISO_FROM_APERTIUM = {apertium: iso for iso, apertium in APERTIUM.items()}


def to_flores(code: str) -> str:
    """The FLORES-200 code (``eng_Latn``) of an ISO 639-1 code (``en``).

    Raises:
        UnknownLanguage: no FLORES-200 language for ``code``.
    """
    try:
        return FLORES200[code]
    except KeyError:
        raise UnknownLanguage(f"no FLORES-200 (NLLB) code for language {code!r}") from None


def to_apertium(code: str) -> str:
    """The Apertium code (``eng``) of an ISO 639-1 code (``en``).

    Raises:
        UnknownLanguage: no Apertium language for ``code``.
    """
    try:
        return APERTIUM[code]
    except KeyError:
        raise UnknownLanguage(f"no Apertium code for language {code!r}") from None


def from_apertium(code: str) -> str:
    """The ISO 639-1 code (``en``) of an Apertium code as found in installed mode names: ISO 639-3
    (``eng``) or, in older pairs, ISO 639-1 itself (``fr``).

    Raises:
        UnknownLanguage: ``code`` is neither a value nor a key of :data:`APERTIUM`.
    """
    if code in APERTIUM:
        return code
    try:
        return _ISO_FROM_APERTIUM[code]
    except KeyError:
        raise UnknownLanguage(f"no ISO 639-1 code for Apertium language {code!r}") from None
