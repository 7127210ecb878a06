"""WhisperSTT on the real tiny.en model and real recordings (see conftest.py)."""

from __future__ import annotations

import json

import jiwer
import numpy as np
import pytest
from faster_whisper.feature_extractor import FeatureExtractor
from prometheus_client import REGISTRY

from babelroom.config import Settings
from babelroom.stt import whisper as whisper_module
from babelroom.stt.hallucination import HallucinationFilter
from babelroom.stt.local_agreement import LocalAgreement, word_key
from babelroom.stt.whisper import SAMPLE_RATE, WhisperSTT, log_mel

#: Corpus WER of tiny.en (int8, greedy, 15 s window) on tests/data/speech: measured 0.000
#: (jfk.flac and LJ001-0002.wav, 26 words); one error in 26 words would be 0.038.
MAX_WER = 0.04

WER_TRANSFORM = jiwer.Compose(
    [
        jiwer.ToLowerCase(),
        jiwer.RemovePunctuation(),
        jiwer.RemoveMultipleSpaces(),
        jiwer.Strip(),
        jiwer.ReduceToListOfListOfWords(),
    ]
)


def test_loads_the_configured_model_from_models_dir(whisper, stt_settings):
    """The session model is models_dir/faster-whisper-small (tiny.en linked there), English-only."""
    assert whisper.model_info.name == "small"
    assert whisper.model_info.path == stt_settings.models_dir / "faster-whisper-small"
    assert not whisper.model_info.fallback
    assert whisper.english_only
    assert whisper.supported_languages == ["en"]
    assert whisper.window_frames == 1500
    info = {"model": "small", "compute_type": "int8"}
    assert REGISTRY.get_sample_value("babelroom_stt_model_info", info) == 1


def test_wer_and_confidence_on_real_clips(whisper, clips):
    """Real speech within the window is transcribed accurately, with in-range confidences, and kept."""
    keep = HallucinationFilter(Settings())
    references, hypotheses = [], []
    for clip in clips.values():
        assert clip.seconds <= whisper.window_s
        h = whisper.transcribe(clip.audio, "en")
        references.append(clip.text)
        hypotheses.append(h.text)
        assert -1.0 < h.avg_logprob <= 0.0, (clip.name, h)
        assert 0.0 <= h.no_speech_prob < 0.2, (clip.name, h)
        assert 0.5 < h.compression_ratio < 2.4, (clip.name, h)
        assert h.audio_s == pytest.approx(clip.seconds)
        assert 0.0 < h.inference_s < 10.0
        assert keep.check(h) is None, (clip.name, h)
    wer = jiwer.wer(references, hypotheses, WER_TRANSFORM, WER_TRANSFORM)
    assert wer <= MAX_WER, list(zip(references, hypotheses, strict=True))


def test_audio_filling_the_window_exactly_is_decoded(whisper, clips):
    jfk = clips["jfk.flac"]
    window = np.zeros(int(whisper.window_s * SAMPLE_RATE), dtype=np.float32)
    window[: jfk.audio.size] = jfk.audio
    h = whisper.transcribe(window, "en")
    assert jiwer.wer(jfk.text, h.text, WER_TRANSFORM, WER_TRANSFORM) <= MAX_WER


def test_audio_longer_than_the_window_is_refused(whisper, clips):
    too_long = np.concatenate([clips["jfk.flac"].audio] * 2)  # 22 s > 15 s
    with pytest.raises(ValueError, match="longer than the 15.0 s window"):
        whisper.transcribe(too_long, "en")


@pytest.mark.parametrize("audio", [np.zeros(0, np.float32), np.zeros((2, 16_000), np.float32)])
def test_empty_or_multichannel_audio_is_refused(whisper, audio):
    with pytest.raises(ValueError, match="non-empty 1-D"):
        whisper.transcribe(audio, "en")


def test_english_only_model_rejects_other_languages(whisper, clips):
    with pytest.raises(ValueError, match="'es' is not supported.*English-only"):
        whisper.transcribe(clips["LJ001-0002.wav"].audio, "es")


def test_window_shorter_than_a_segment_or_longer_than_whisper_is_refused_before_loading():
    """A segment is at most ``vad_max_segment_s`` long, pre-speech pad included; 31 s > Whisper's window."""
    with pytest.raises(ValueError, match=r"stt_window_s=31.0 must be in \[5.0, 30.0\]"):
        WhisperSTT(Settings(stt_window_s=31.0, vad_max_segment_s=5.0))
    with pytest.raises(ValueError, match=r"stt_window_s=4.9 must be in \[5.0, 30.0\]"):
        WhisperSTT(Settings().model_copy(update={"stt_window_s": 4.9, "vad_max_segment_s": 5.0}))
    with pytest.raises(ValueError, match="vad_max_segment_s=15.5 must not exceed stt_window_s=15.0"):
        Settings(vad_max_segment_s=15.5)


def test_log_mel_equals_faster_whisper_features_cut_to_the_window(whisper, clips):
    """Padding one window of zeros instead of 30 s changes no value in the frames kept."""
    extractor = FeatureExtractor()  # tiny.en has no preprocessor_config.json: the defaults
    audio = clips["jfk.flac"].audio
    ours = log_mel(extractor, audio, whisper.window_frames)
    reference = extractor(audio, padding=extractor.n_samples)[:, : whisper.window_frames]
    assert ours.shape == (80, 1500)
    assert ours.flags.c_contiguous
    np.testing.assert_array_equal(ours, reference)


def test_silence_and_noise_give_empty_text_or_a_dropped_hypothesis(whisper):
    rng = np.random.default_rng(0)
    cases = {
        "silence": np.zeros(2 * SAMPLE_RATE, np.float32),
        "quiet white noise": (0.05 * rng.standard_normal(2 * SAMPLE_RATE)).astype(np.float32),
        "loud white noise": (0.3 * rng.standard_normal(4 * SAMPLE_RATE)).astype(np.float32),
    }
    drop = HallucinationFilter(Settings())
    for name, audio in cases.items():
        h = whisper.transcribe(audio, "en")
        assert h.no_speech_prob > 0.6, (name, h)
        assert h.text == "" or drop.check(h) is not None, (name, h)


def test_generation_is_capped_in_proportion_to_the_audio(whisper, clips, monkeypatch):
    """The max_length guard against loops: with a budget of 5 new tokens, 5 tokens come out."""
    full = whisper.transcribe(clips["jfk.flac"].audio, "en").text
    monkeypatch.setattr(whisper_module, "NEW_TOKENS_PER_SECOND", 0)
    monkeypatch.setattr(whisper_module, "MIN_NEW_TOKENS", 5)
    capped = whisper.transcribe(clips["jfk.flac"].audio, "en").text
    assert capped == "And so my fellow Americans"  # 5 tokens
    assert full.startswith(capped) and len(full) > len(capped)


def test_prompt_is_truncated_to_half_the_decoder_context(whisper, clips):
    """A prompt far over 448 tokens is cut to its last 223 tokens, and the decode is still right."""
    clip = clips["LJ001-0002.wav"]
    h = whisper.transcribe(clip.audio, "en", prompt="The history of printing. " * 200)
    assert jiwer.wer(clip.text, h.text, WER_TRANSFORM, WER_TRANSFORM) <= MAX_WER


def test_a_segment_prompted_with_an_unpunctuated_final_keeps_its_first_words(whisper, clips):
    """The Janus media test's intermittent "...can do for you country": the previous final had no full
    stop, and the next segment, "ask what you can do for your country", came out as "country" at 7 of
    these 14 start times (Whisper took its first words for the prompt's last ones; stt/prompt_skip.py).
    Every start time the VAD may pick keeps them."""
    continuation = "ask what you can do for your country"
    audio = clips["jfk.flac"].audio
    heard = {
        start_s: whisper.transcribe(audio[round(start_s * SAMPLE_RATE) :], "en",
                                    prompt="what your country can do for you", final=True).text
        for start_s in [round(7.5 + 0.05 * k, 2) for k in range(14)]
    }
    wrong = {s: text for s, text in heard.items() if jiwer.wer(continuation, text, WER_TRANSFORM, WER_TRANSFORM) > 0.15}
    assert not wrong, wrong


def test_local_agreement_on_partials_of_a_real_segment(whisper, clips):
    """Partials every 1 s of a 5 s segment (the segmenter's cap), each by a 'different worker'.

    The LocalAgreement state travels as JSON between partials, as through Redis. Committed words only
    grow, and end as a prefix of the final decode of the whole segment.
    """
    segment = clips["jfk.flac"].audio[: 5 * SAMPLE_RATE]
    state = LocalAgreement().state()
    history = []
    for end_s in range(1, 6):
        partial = whisper.transcribe(segment[: end_s * SAMPLE_RATE], "en")
        agreement = LocalAgreement.from_state(json.loads(json.dumps(state)))
        words = partial.text.split()
        committed, unstable = agreement.update(words)
        assert words[len(words) - len(unstable) :] == unstable
        state = agreement.state()
        history.append(committed)
    for earlier, later in zip(history, history[1:], strict=False):
        assert later[: len(earlier)] == earlier
    final = whisper.transcribe(segment, "en").text.split()
    committed_keys = [word_key(w) for w in history[-1]]
    assert len(committed_keys) >= 3
    assert [word_key(w) for w in final[: len(committed_keys)]] == committed_keys
