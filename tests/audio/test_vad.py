"""WebRTC VAD and the Silero confirmer on real speech, digital silence and white noise."""

from __future__ import annotations

import numpy as np
import pytest

from babelroom.audio.pcm import decode_file
from babelroom.audio.vad import SileroConfirm, WebRtcVad, silero_model
from conftest import SPEECH

CLIPS = ["jfk.flac", "LJ001-0002.wav"]


def noise(rms: float, seconds: float = 3.0) -> np.ndarray:
    return (np.random.default_rng(7).standard_normal(int(16_000 * seconds)) * rms).astype(np.float32)


def voiced_fraction(vad: WebRtcVad, audio: np.ndarray) -> float:
    n = len(audio) // vad.frame_samples
    frames = audio[: n * vad.frame_samples].reshape(n, vad.frame_samples)
    return float(np.mean([vad.is_speech(f) for f in frames]))


@pytest.mark.parametrize("clip", CLIPS)
def test_webrtc_hears_speech_not_silence(clip):
    assert voiced_fraction(WebRtcVad(2, 30), decode_file(SPEECH / clip)) > 0.85
    assert voiced_fraction(WebRtcVad(2, 30), np.zeros(16_000, np.float32)) == 0.0


def test_webrtc_takes_white_noise_for_speech():
    """Why segments need a second opinion: WebRTC calls loud steady noise speech (and quieter noise
    too, once it has heard speech: it adapts its noise model)."""
    assert voiced_fraction(WebRtcVad(2, 30), noise(0.1)) > 0.9
    vad = WebRtcVad(2, 30)
    voiced_fraction(vad, decode_file(SPEECH / "LJ001-0002.wav"))
    assert voiced_fraction(vad, noise(0.03)) > 0.3


def test_webrtc_frame_checks():
    with pytest.raises(ValueError):
        WebRtcVad(2, 25)
    vad = WebRtcVad(3, 10)
    assert vad.frame_samples == 160
    with pytest.raises(ValueError):
        vad.is_speech(np.zeros(480, np.float32))


@pytest.mark.parametrize("clip", CLIPS)
def test_silero_confirms_real_speech(clip):
    audio = decode_file(SPEECH / clip)
    score = SileroConfirm(0.5).score(audio)
    assert score.max_prob > 0.9 and 0.4 < score.mean_prob <= score.max_prob
    assert SileroConfirm(0.5).confirms(audio)


@pytest.mark.parametrize("rms", [0.003, 0.01, 0.03, 0.1])
def test_silero_rejects_white_noise(rms):
    score = SileroConfirm(0.5).score(noise(rms))
    assert score.max_prob < 0.3
    assert not SileroConfirm(0.5).confirms(noise(rms))


def test_silero_rejects_silence_and_clicks():
    clicks = np.zeros(48_000, np.float32)
    clicks[::4_000] = 0.9
    for audio in (np.zeros(48_000, np.float32), clicks):
        assert SileroConfirm(0.5).score(audio).max_prob < 0.1


def test_silero_pads_any_length_and_leaves_input_alone():
    audio = decode_file(SPEECH / "LJ001-0002.wav")[:12_345]  # not a multiple of 512
    before = audio.copy()
    assert SileroConfirm(0.5).confirms(audio)
    np.testing.assert_array_equal(audio, before)
    with pytest.raises(ValueError):
        SileroConfirm(0.5).score(np.zeros(0, np.float32))


def test_silero_model_is_loaded_once():
    assert SileroConfirm(0.5)._model is SileroConfirm(0.9)._model is silero_model()
