"""Sentence finals: sentence ends, cut times from real word timestamps (tiny.en), the prompt, the cap."""

from __future__ import annotations

import numpy as np
import pytest
from faster_whisper.tokenizer import Tokenizer
from streaming import demo_clips

from babelroom.config import Settings
from babelroom.stt.sentences import ends_sentence, ends_with_sentence, quietest_s, sentence_cut_s, word_gap_cut_s
from babelroom.stt.whisper import SAMPLE_RATE


def test_sentence_ends():
    assert [ends_sentence(w) for w in ("modern.", "you?", "Mr.", "U.S.", "country,", '"Go!"')] == [
        True, True, False, False, False, True]


def test_a_hypothesis_that_ends_with_a_sentence():
    """The early end's test: the last word ends a sentence and trails off in no ellipsis."""
    hyps = ("It works.", "Does it?", "It works", "Mr.", "And then...", "And then…", 'He said "go."', "")
    assert [ends_with_sentence(h.split()) for h in hyps] == [True, True, False, False, False, False, True, False]


def test_word_timestamps_of_a_real_clip(whisper, clips):
    clip = clips["jfk.flac"]
    h = whisper.transcribe(clip.audio, "en", word_timestamps=True)
    assert len(h.words) == len(h.text.split())
    starts = [s for s, _ in h.words]
    assert starts == sorted(starts) and all(s <= e for s, e in h.words)
    assert 0 <= h.words[0][0] < 1.0 and clip.seconds - 1.5 < h.words[-1][1] <= clip.seconds
    assert whisper.transcribe(clip.audio, "en").words == ()


def test_cut_between_two_real_sentences(whisper, clips):
    """Two recordings joined by 0.2 s (no pause for the VAD): the cut falls in the join."""
    first, second = demo_clips()[1:3]  # LJ001-0002, LJ001-0003
    join_s = first.size / SAMPLE_RATE
    audio = np.concatenate([first, np.zeros(SAMPLE_RATE // 5, np.float32), second[: 4 * SAMPLE_RATE]])
    h = whisper.transcribe(audio, "en", word_timestamps=True)
    words = h.text.split()
    assert ends_sentence(words[3]), h.text  # "in being comparatively modern. For although …"
    cut = sentence_cut_s(words, len(words), h.words, audio)
    assert cut is not None and join_s - 0.4 <= cut <= join_s + 0.5, (cut, join_s, h.words[:6])
    assert sentence_cut_s(words, 3, h.words, audio) is None  # the sentence end is not committed yet


def test_word_gap_cut_falls_in_the_quiet_join(whisper):
    """LJ001-0004 then 0.15 s of silence (too short for the VAD) then LJ001-0005: with every word
    committed, the word-gap fallback cuts inside the silence, whatever Whisper's word times say."""
    first, second = demo_clips()[3:5]
    audio = np.concatenate([first, np.zeros(SAMPLE_RATE * 15 // 100, np.float32), second[: 4 * SAMPLE_RATE]])
    h = whisper.transcribe(audio, "en", word_timestamps=True)
    words = h.text.split()
    cut = word_gap_cut_s(words, len(words), h.words, audio, after_s=1.0)
    join_s = first.size / SAMPLE_RATE
    assert cut is not None and join_s <= cut <= join_s + 0.15, (cut, join_s, list(zip(words, h.words, strict=True)))
    assert word_gap_cut_s(words, len(words), h.words, audio, after_s=audio.size / SAMPLE_RATE) is None


def test_quietest_point_stays_between_the_two_words():
    """A pause inside the next word (past its middle) is not taken: the cut would split that word."""
    tone = np.sin(np.arange(3 * SAMPLE_RATE) / 3).astype(np.float32)
    tone[SAMPLE_RATE * 9 // 10 : SAMPLE_RATE] = 0  # 0.9-1.0 s, between "a" (0-0.95) and "b" (0.95-1.5)
    tone[SAMPLE_RATE * 14 // 10 : SAMPLE_RATE * 3 // 2] = 0  # 1.4-1.5 s, late in "b"
    centre, quiet_db = quietest_s(tone, (0.0, 0.95), (0.95, 1.5))
    assert 0.9 <= centre <= 1.0 and quiet_db > 40
    centre, _ = quietest_s(tone, (0.0, 0.8), (0.8, 1.6))  # the words overlap the pause: still found
    assert 0.9 <= centre <= 1.0


def test_prompt_carries_the_last_prompt_tokens_of_the_previous_final(whisper, clips):
    tokenizer = Tokenizer(whisper._model.hf_tokenizer, False, task="transcribe", language="en")
    previous = "The history of printing. " * 50
    tokens = whisper._prompt_tokens(tokenizer, previous, 100)
    assert tokens[0] == tokenizer.sot_prev and len(tokens) == 1 + 100 + len(tokenizer.sot_sequence) + 1
    assert tokenizer.decode(tokens[1:101]).strip().endswith("The history of printing.")
    clip = clips["LJ001-0002.wav"]
    h = whisper.transcribe(clip.audio, "en", prompt="Printing, in the only sense with which we are concerned.")
    assert "comparatively modern" in h.text.lower()


def test_the_hard_cap_is_the_encoder_window():
    """BABELROOM_VAD_MAX_SEGMENT_S=15 once kept the STT worker from getting ready (15 s plus the 0.3 s
    pre-speech pad was taken to exceed the 15 s window). The pad is inside the segment: no segment or
    update is longer than the cap, so the default cap is the window itself, and a larger cap is refused
    when the settings load, in every service."""
    assert Settings().vad_max_segment_s == Settings().stt_window_s == 15.0
    with pytest.raises(ValueError, match="must not exceed stt_window_s"):
        Settings(vad_max_segment_s=16.0)
