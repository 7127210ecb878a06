"""When a prompted decode counts as having skipped the audio's first words (stt/prompt_skip.py)."""

from __future__ import annotations

import pytest

from babelroom.stt.prompt_skip import skipped_words


@pytest.mark.parametrize(("prompted", "unprompted", "skipped"), [
    ("country", "ask what you can do for your country", 7),  # the Janus media test's loss
    ("country.", "Ask what you can do for your country!", 7),  # case and punctuation ignored
    ("Javi Martinez y Nacho Monreal.", "con dos futuros internacionales, Javi Martínez y Nacho Monreal.", 4),
    ("as what you can do for your country", "ask what you can do for your country", 0),  # a word, not a skip
    ("what you can do for your country", "ask what you can do for your country", 0),  # one word: not enough
    ("de grano medio y tiene muy poca asistencia", "grano medio y tiene muy poca asistencia", 0),  # longer
    ("", "Thank you.", 0),  # nothing prompted: the hallucination filter's business
    ("la Ligue nationale", "le meilleur lanceur de relève de la Ligue nationale", 6),
    ("assez proche", "un cercle de plusieurs archipels assez proches géographiquement", 0),  # not its tail
])
def test_skipped_words(prompted, unprompted, skipped):
    assert skipped_words(prompted, unprompted) == skipped
