"""HallucinationFilter rules on constructed hypotheses (thresholds: the Settings defaults)."""

from __future__ import annotations

import pytest
from faster_whisper.transcribe import get_compression_ratio
from prometheus_client import REGISTRY

from babelroom.config import Settings
from babelroom.stt.base import Hypothesis
from babelroom.stt.hallucination import HallucinationFilter, normalize

#: Confidences of clear real speech (tiny.en on the test clips: avg_logprob ≥ -0.31, no_speech ≤ 0.05).
CONFIDENT = {"avg_logprob": -0.2, "no_speech_prob": 0.02}


def hyp(text: str, avg_logprob: float, no_speech_prob: float, compression_ratio: float | None = None):
    return Hypothesis(
        text=text,
        avg_logprob=avg_logprob,
        no_speech_prob=no_speech_prob,
        compression_ratio=get_compression_ratio(text) if compression_ratio is None else compression_ratio,
        audio_s=2.0,
        inference_s=0.2,
    )


@pytest.fixture
def check():
    return HallucinationFilter(Settings()).check


def test_normalize():
    assert normalize("Subtitles by the Amara.org community") == "subtitles by the amara org community"
    assert normalize("  Don't forget -- to LIKE & subscribe!! ") == "dont forget to like subscribe"


def test_whispers_no_speech_rule_needs_both_signals(check):
    assert check(hyp("I'm so", avg_logprob=-2.5, no_speech_prob=0.95)) == "no_speech"
    # a likely no-speech token but a confident decode: kept (Whisper's rule)
    assert check(hyp("Let's start the meeting.", avg_logprob=-0.4, no_speech_prob=0.9)) is None
    # an unsure decode of what is probably speech: kept
    assert check(hyp("Let's start the meeting.", avg_logprob=-1.5, no_speech_prob=0.3)) is None


def test_high_compression_ratio_is_dropped(check):
    assert check(hyp("Some text.", compression_ratio=2.5, **CONFIDENT)) == "compression"
    assert check(hyp("Some text.", compression_ratio=2.3, **CONFIDENT)) is None


@pytest.mark.parametrize(
    "text",
    [
        "I think that I think that I think that we should",
        "So we went. I'm going to the store. I'm going to the store. I'm going to the store.",
        "the the the the the",
        "Thank you. Thank you. Thank you.",
    ],
)
def test_repetitions_are_dropped(check, text):
    assert check(hyp(text, **CONFIDENT)) == "repetition"


@pytest.mark.parametrize(
    "text",
    [
        "No, no, no.",
        "No no no no.",
        "Thank you. Thank you.",
        "It is what it is, and that is that.",
        "We went to the store, then to the store next to the store.",  # not in a row
    ],
)
def test_ordinary_repetition_in_speech_is_kept(check, text):
    assert check(hyp(text, **CONFIDENT)) is None


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for watching!",
        "Thank you for watching.",
        "Thanks for watching! Thanks for watching!",
        "Subtitles by the Amara.org community",
        "Sous-titres réalisés par la communauté d'Amara.org",
        "ご視聴ありがとうございました",
    ],
)
def test_outros_and_subtitle_credits_are_dropped_even_when_confident(check, text):
    assert check(hyp(text, **CONFIDENT)) == "phantom"


@pytest.mark.parametrize("text", ["♪", "♪♪♪", "[MUSIC]", "(silence)", "[BLANK_AUDIO]", "...", "*applause*"])
def test_text_without_words_outside_annotations_is_dropped(check, text):
    assert check(hyp(text, **CONFIDENT)) == "phantom"


@pytest.mark.parametrize("text", ["Thank you.", "you", "Bye.", "Okay.", "Thank you very much."])
def test_short_common_phrases_are_kept_when_confident(check, text):
    assert check(hyp(text, **CONFIDENT)) is None


@pytest.mark.parametrize(
    ("text", "avg_logprob", "no_speech_prob"),
    [
        ("you", -0.614, 0.991),  # measured: tiny.en on 2 s of digital silence
        ("Thank you.", -0.3, 0.5),  # probably no speech
        ("Thank you.", -0.9, 0.1),  # unsure decode
        ("Bye. Bye.", -0.8, 0.2),
    ],
)
def test_short_common_phrases_are_dropped_when_unsure(check, text, avg_logprob, no_speech_prob):
    assert check(hyp(text, avg_logprob, no_speech_prob)) == "phantom"


def test_phantom_phrases_inside_real_speech_are_kept(check):
    assert check(hyp("Thank you for watching the demo, now questions.", **CONFIDENT)) is None
    assert check(hyp("Thank you, that was the budget.", avg_logprob=-0.9, no_speech_prob=0.3)) is None


def test_empty_text_is_not_a_hallucination(check):
    assert check(hyp("", avg_logprob=-0.5, no_speech_prob=0.99)) is None


def test_drops_are_counted_by_reason(check):
    def drops() -> float:
        return REGISTRY.get_sample_value(
            "babelroom_stt_hallucination_drops_total", {"reason": "phantom"}
        ) or 0.0

    before = drops()
    check(hyp("[MUSIC]", **CONFIDENT))
    check(hyp("Hello everyone.", **CONFIDENT))
    assert drops() == before + 1


def test_a_segment_the_vad_doubted_is_kept_only_if_whisper_is_sure(check):
    """Measured with Whisper base: the crowd after JFK's speech ("Yeah.", no_speech 0.43, avg_logprob
    -0.87) and white noise ("Die Klinik ist nicht so gut.", 0.60, -2.24, which Whisper's own rule lets
    through) against the German recording Silero doubts (0.07, -0.40)."""
    crowd = hyp("Yeah.", -0.87, 0.43)
    noise = hyp("Die Klinik ist nicht so gut.", -2.24, 0.60)
    german = hyp("Die Beamten gehen und verstärkt gegen illegale Straßenrenn vor.", -0.40, 0.07)
    assert [check(h) for h in (crowd, noise, german)] == [None, None, None]
    assert [check(h, doubtful=True) for h in (crowd, noise, german)] == ["no_speech", "no_speech", None]
