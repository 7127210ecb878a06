"""Whisper speech-to-text on CTranslate2, decoding one short segment per call.

Built from faster-whisper's public pieces (``WhisperModel`` for loading, ``FeatureExtractor``,
``Tokenizer``, ``get_compression_ratio``, ``get_suppressed_tokens``) but calling the CTranslate2 model
directly instead of ``WhisperModel.transcribe()``:

- ``transcribe()`` always pads the log-Mel features to Whisper's native 30 s window (3000 frames),
  so every decode of tiny.en costs ~400 ms on the 2-core target whatever the segment length. Our
  segments are ≤ 15 s (``vad_max_segment_s``), so the features are cut to ``stt_window_s`` (15 s,
  1500 frames) and the encoder runs on half the frames. Measured on the 11 clips of the shared speech
  set (1.8–11 s) with tiny.en, int8, greedy, 2 threads: WER 0.054 at 15 s vs 0.070 at 30 s (lower-case,
  punctuation removed), median decode 200 ms vs 402 ms (180 ms vs 376 ms on 5 s cuts); faster-whisper's
  ``transcribe()`` gave WER 0.059 in 453 ms. A 10 s window (1000 frames) produced repetition loops: the
  models were trained on 30 s windows only, so do not shorten the window much below 15 s.
- finals may take another window (``stt_final_window_s``, default ``stt_window_s``). Whisper base's finals on
  the native 30 s lower its WER a little (docs/stt-models.md: streaming WER fr 17.8 → 12.3%, pt, vi and
  es 1.3–2.4 points lower, de 2.7 higher, on the 36 eval clips) but cost twice the encoder (a 5 s final:
  568 ms instead of 263 ms), on every final, where the STT worker is the bottleneck. So the default keeps
  15 s, and only a final that loops there (compression ratio above ``stt_compression_ratio_threshold``,
  the trigger of faster-whisper's ``generate_with_fallback``) is decoded once more on the native window,
  where greedy Whisper base reads the Picovoice Spanish clip it looped on at 15 s ("Uno de las las las
  …"), instead of being dropped as a hallucination. That costs one more encoder pass on those finals only.
- one greedy (by default) decode without timestamps and without temperature fallback: a partial is
  re-decoded every second anyway, and hallucinations are dropped by
  :class:`babelroom.stt.hallucination.HallucinationFilter` instead of being re-sampled.

Sources: faster-whisper 1.2.1 ``faster_whisper/transcribe.py`` (``get_prompt``,
``generate_with_fallback``); Radford et al. 2022, "Robust Speech Recognition via Large-Scale Weak
Supervision" (prompt format, 448-token decoder context).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Sequence

import ctranslate2
import numpy as np
import structlog
from faster_whisper import WhisperModel
from faster_whisper.feature_extractor import FeatureExtractor
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

from babelroom.config import Settings
from babelroom.metrics import STT_MODEL_INFO, STT_PROMPT_SKIPS, STT_WINDOW_FALLBACKS
from babelroom.stt.base import Hypothesis, SpeechToText
from babelroom.stt.models import ResolvedModel, resolve_model
from babelroom.stt.prompt_skip import skipped_words
from babelroom.stt.sentences import ends_sentence

log = structlog.get_logger(__name__)

SAMPLE_RATE = 16_000
#: The window every Whisper model was trained on (s); ``stt_window_s`` may only shorten it.
WHISPER_WINDOW_S = 30.0
#: Whisper's decoder context (tokens), prompt included.
DECODER_CONTEXT = 448
#: Most previous-text tokens the prompt can hold, as faster-whisper's ``get_prompt`` (``max_length // 2 - 1``);
#: ``stt_prompt_tokens`` may only lower it.
MAX_PROMPT_TOKENS = DECODER_CONTEXT // 2 - 1
#: Upper bound of generated tokens: half the context, the other half being the prompt.
MAX_NEW_TOKENS = DECODER_CONTEXT // 2
#: Generated tokens allowed per second of audio, plus a floor for very short segments. Fast English
#: speech is ~4 words/s ≈ 6 tokens/s with punctuation; the cap stops a repetition loop early.
NEW_TOKENS_PER_SECOND = 10
MIN_NEW_TOKENS = 16


class WhisperSTT(SpeechToText):
    """Whisper on CPU through CTranslate2, for segments no longer than ``settings.stt_window_s``.

    Load once per process; :meth:`transcribe` is blocking and may be called from several threads
    (CTranslate2 runs them one at a time on its single replica). The model sets
    ``babelroom_stt_model_info``; per-decode metrics are the caller's (it knows partial from final,
    see :mod:`babelroom.stt.worker`), from :attr:`Hypothesis.inference_s` and :attr:`Hypothesis.audio_s`.

    Raises (constructor):
        ValueError: ``stt_window_s`` is shorter than the longest segment the segmenter can send
            (``vad_max_segment_s``, pre-speech pad included) or longer than Whisper's 30 s.
        FileNotFoundError: see :func:`babelroom.stt.models.resolve_model`.

    ``model``: the directory to load (a worker loads one per model of its language map); default:
    :func:`~babelroom.stt.models.resolve_model` of ``settings``.
    """

    name = "whisper"

    def __init__(self, settings: Settings, model: ResolvedModel | None = None) -> None:
        if not settings.vad_max_segment_s <= settings.stt_window_s <= WHISPER_WINDOW_S:
            raise ValueError(
                f"stt_window_s={settings.stt_window_s} must be in [{settings.vad_max_segment_s}, "
                f"{WHISPER_WINDOW_S}] s: at least the longest segment (vad_max_segment_s) and at most "
                "Whisper's window"
            )
        self.window_s = settings.stt_window_s
        self.model_info: ResolvedModel = model or resolve_model(settings)
        self._model = WhisperModel(
            str(self.model_info.path),
            device="cpu",
            compute_type=settings.stt_compute_type,
            cpu_threads=settings.stt_cpu_threads,
        )
        self._features = self._model.feature_extractor
        #: Encoder window of finals (s): ``stt_final_window_s``, else ``stt_window_s`` (see the module docstring).
        self.final_window_s = settings.stt_final_window_s or self.window_s
        #: Encoder input length of partials, of finals and of a looping final's second decode (log-Mel frames,
        #: 10 ms each).
        self.window_frames = self._frames(self.window_s)
        self.final_window_frames = self._frames(self.final_window_s)
        self.native_window_frames = self._frames(WHISPER_WINDOW_S)
        self._compression_limit = settings.stt_compression_ratio_threshold
        self._beam_size = settings.stt_beam_size
        self._prompt_tokens_kept = min(settings.stt_prompt_tokens, MAX_PROMPT_TOKENS)
        self._term_tokens = min(settings.stt_context_tokens, MAX_PROMPT_TOKENS)
        self._tokenizers: dict[str, Tokenizer] = {}
        self._suppress_tokens = list(get_suppressed_tokens(self._tokenizer("en"), [-1]))
        STT_MODEL_INFO.labels(model=self.model_info.name, compute_type=settings.stt_compute_type).set(1)
        log.info(
            "stt_model_loaded",
            model=self.model_info.name,
            path=str(self.model_info.path),
            fallback=self.model_info.fallback,
            english_only=self.english_only,
            compute_type=settings.stt_compute_type,
            cpu_threads=settings.stt_cpu_threads,
            beam_size=self._beam_size,
            window_s=self.window_s,
            final_window_s=self.final_window_s,
        )

    def _frames(self, window_s: float) -> int:
        """Log-Mel frames (10 ms each) of a ``window_s`` encoder window."""
        return round(window_s * self._features.sampling_rate / self._features.hop_length)

    @property
    def english_only(self) -> bool:
        """Whether the loaded model only transcribes English (the ``*.en`` models)."""
        return not self._model.model.is_multilingual

    @property
    def supported_languages(self) -> list[str]:
        """ISO 639-1 codes the loaded model accepts."""
        return self._model.supported_languages

    def transcribe(
        self, audio: np.ndarray, language: str, prompt: str | None = None, word_timestamps: bool = False,
        terms: Sequence[str] = (),
        final: bool = False,
    ) -> Hypothesis:
        """Decode one segment.

        Args:
            audio: ``(n_samples,)`` float32 mono at 16 kHz in [-1, 1], 0 < length ≤ ``window_s``.
            language: ISO 639-1 code; English-only models accept only ``"en"``.
            prompt: previous text of the same speaker; its last ``stt_prompt_tokens`` tokens follow
                ``<|startofprev|>`` before the start-of-transcript sequence.
            word_timestamps: also align the words to the audio (:attr:`Hypothesis.words`), with
                Whisper's cross-attention (faster-whisper's ``find_alignment``): one more decoder pass
                over the text, on the same encoder output.
            terms: the room's document terms, most useful first: as many as fit ``stt_context_tokens``
                go, comma-separated and ending in a full stop, right after ``<|startofprev|>`` and before the
                previous text, as faster-whisper's ``hotwords``; the previous text keeps the rest of the
                223-token prompt.
            final: decode a final: on the ``final_window_s`` encoder window, and when ``prompt`` ends no
                sentence, also without the previous text (one more decoder pass on the same encoder output:
                +15–45% of a decode's time), keeping that text if the prompted one skipped the audio's first
                words (:mod:`babelroom.stt.prompt_skip`); a final that loops (compression ratio above
                ``stt_compression_ratio_threshold``) is decoded again on Whisper's native 30 s window.

        Raises:
            ValueError: unsupported language, audio not 1-D, empty, or longer than ``window_s``
                (the caller must cut it; the segmenter caps segments at ``vad_max_segment_s``).
        """
        tokenizer = self._tokenizer(language)
        samples = np.asarray(audio, dtype=np.float32)
        if samples.ndim != 1 or samples.size == 0:
            raise ValueError(f"audio must be a non-empty 1-D array, got shape {samples.shape}")
        audio_s = samples.size / SAMPLE_RATE
        if audio_s > self.window_s:
            raise ValueError(f"audio is {audio_s:.2f} s, longer than the {self.window_s} s window")

        started = time.perf_counter()
        hotwords = self._hotwords(tokenizer, terms, self._term_tokens)
        frames = self.final_window_frames if final else self.window_frames
        encoded, result, text = self._decode_on(samples, frames, tokenizer, language, prompt, hotwords, final)
        compression_ratio = get_compression_ratio(text)
        if final and frames < self.native_window_frames and compression_ratio > self._compression_limit:
            STT_WINDOW_FALLBACKS.inc()
            log.info("stt.window_fallback", language=language, looped=text[:80])
            encoded, result, text = self._decode_on(samples, self.native_window_frames, tokenizer, language, prompt,
                                                    hotwords, final)
            compression_ratio = get_compression_ratio(text)
        tokens = result.sequences_ids[0]
        # As generate_with_fallback: the score is the cumulated log-prob divided by
        # seq_len ** length_penalty (CTranslate2's default 1); the +1 counts the end-of-text token.
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        words = self._word_times(tokenizer, tokens, encoded, samples.size) if word_timestamps and text else ()
        inference_s = time.perf_counter() - started

        hypothesis = Hypothesis(
            text=text,
            avg_logprob=avg_logprob,
            no_speech_prob=result.no_speech_prob,
            compression_ratio=compression_ratio,
            audio_s=audio_s,
            inference_s=inference_s,
            words=words,
        )
        log.debug(
            "stt_decoded",
            language=language,
            audio_s=round(audio_s, 3),
            inference_ms=round(inference_s * 1000, 1),
            tokens=len(tokens),
            avg_logprob=round(avg_logprob, 3),
            no_speech_prob=round(result.no_speech_prob, 3),
        )
        return hypothesis

    def _decode_on(
        self, samples: np.ndarray, frames: int, tokenizer: Tokenizer, language: str, prompt: str | None,
        hotwords: list[int], final: bool,
    ) -> tuple[ctranslate2.StorageView, ctranslate2.models.WhisperGenerationResult, str]:
        """Encode ``samples`` on a ``frames`` window and decode it (see :meth:`transcribe`): the encoder output,
        the generation result and its text."""
        encoded = self._model.encode(log_mel(self._features, samples, frames))
        kept = min(self._prompt_tokens_kept, MAX_PROMPT_TOKENS - len(hotwords))
        audio_s = samples.size / SAMPLE_RATE
        result = self._generate(encoded, self._prompt_tokens(tokenizer, prompt, kept, hotwords), audio_s)
        text = tokenizer.decode(result.sequences_ids[0]).strip()
        if final and prompt and prompt.strip() and not ends_sentence(prompt.split()[-1]):
            # An open prompt: the start of the audio may have been taken for its end (stt/prompt_skip.py).
            # The document terms stay: they end in a full stop, so they open no sentence.
            bare = self._generate(encoded, self._prompt_tokens(tokenizer, None, 0, hotwords), audio_s)
            bare_text = tokenizer.decode(bare.sequences_ids[0]).strip()
            skipped = skipped_words(text, bare_text)
            if skipped:
                STT_PROMPT_SKIPS.inc()
                log.info("stt.prompt_skip", language=language, skipped=skipped, prompted=text, kept=bare_text)
                result, text = bare, bare_text
        return encoded, result, text

    def _generate(
        self, encoded: ctranslate2.StorageView, prompt_tokens: list[int], audio_s: float
    ) -> ctranslate2.models.WhisperGenerationResult:
        """One greedy (or ``stt_beam_size``) decode of the encoder output after ``prompt_tokens``."""
        return self._model.model.generate(
            encoded,
            [prompt_tokens],
            beam_size=self._beam_size,
            max_length=_max_length(len(prompt_tokens), audio_s),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress_tokens,
        )[0]

    def identify_language(self, audio: np.ndarray, candidates: Iterable[str]) -> tuple[str, float]:
        """Whisper's language identification on one segment, among ``candidates`` only.

        One encoder pass and one decoder step on the segment's window (the decode that follows encodes
        again: this runs only until a speaker's language is locked, see :mod:`babelroom.stt.language_id`).

        Args:
            audio: as :meth:`transcribe`.
            candidates: ISO 639-1 codes allowed (the offered languages).

        Returns:
            ``(language, probability)``: the most probable candidate and its probability over every
            language Whisper knows (0..1).

        Raises:
            ValueError: the model is English-only, no candidate is a language it knows, or bad audio.
        """
        if self.english_only:
            raise ValueError(f"{self.model_info.name} is English-only: it cannot identify languages")
        samples = np.asarray(audio, dtype=np.float32)
        if samples.ndim != 1 or samples.size == 0 or samples.size / SAMPLE_RATE > self.window_s:
            raise ValueError(f"audio must be 1-D, non-empty and at most {self.window_s} s, got {samples.shape}")
        mel = log_mel(self._features, samples, self.window_frames)
        ranked = self._model.model.detect_language(ctranslate2.StorageView.from_array(mel[np.newaxis]))[0]
        allowed = {f"<|{code}|>" for code in candidates}
        for token, probability in ranked:
            if token in allowed:
                return token[2:-2], probability
        raise ValueError(f"none of {sorted(allowed)} is a language of {self.model_info.name}")

    def _tokenizer(self, language: str) -> Tokenizer:
        """The tokenizer whose start-of-transcript sequence is ``<|sot|><|lang|><|transcribe|>``.

        Raises:
            ValueError: the model does not support ``language``.
        """
        if language not in self.supported_languages:
            raise ValueError(
                f"language {language!r} is not supported by {self.model_info.name}"
                + (" (English-only)" if self.english_only else "")
            )
        if language not in self._tokenizers:
            self._tokenizers[language] = Tokenizer(
                self._model.hf_tokenizer,
                self._model.model.is_multilingual,
                task="transcribe",
                language=language,
            )
        return self._tokenizers[language]

    def _word_times(
        self, tokenizer: Tokenizer, tokens: list[int], encoded: ctranslate2.StorageView, n_samples: int
    ) -> tuple[tuple[float, float], ...]:
        """``(start_s, end_s)`` of each whitespace-separated word of ``decode(tokens).strip()``.

        Whisper's alignment words are token groups (punctuation apart); a text word spans the
        alignment words whose characters it covers, and takes the start of the first and the end of
        the last one holding a letter or digit (punctuation gets no duration of its own).
        """
        frames = min(self.window_frames, math.ceil(n_samples / self._features.hop_length))
        aligned = self._model.find_alignment(tokenizer, [tokens], encoded, frames)[0]
        spans: list[tuple[int, int, float, float]] = []  # char start, char end, start_s, end_s
        pos = 0
        for a in aligned:
            word = a["word"]
            if any(ch.isalnum() for ch in word):
                spans.append((pos, pos + len(word), float(a["start"]), float(a["end"])))
            pos += len(word)
        text = tokenizer.decode(tokens)
        out: list[tuple[float, float]] = []
        for match in re.finditer(r"\S+", text):
            inside = [(s, e) for c0, c1, s, e in spans if c0 < match.end() and c1 > match.start()]
            previous_end = out[-1][1] if out else 0.0
            out.append((inside[0][0], inside[-1][1]) if inside else (previous_end, previous_end))
        return tuple(out)

    @staticmethod
    def _hotwords(tokenizer: Tokenizer, terms: Sequence[str], budget: int) -> list[int]:
        """The tokens of ``" term1, term2, …."`` with as many of ``terms`` (in order) as fit ``budget`` tokens.

        The full stop makes the decode start a sentence (capital, punctuation), as without terms: without it
        Whisper continued the list's style (lower-case start, no final punctuation, which sentence finals need)
        on 7 of 23 eval clips (``babelroom eval --context``); term recall was the same but for one word."""
        tokens: list[int] = []
        chosen: list[str] = []
        for term in terms:
            candidate = tokenizer.encode(" " + ", ".join([*chosen, term.strip()]) + ".")
            if len(candidate) > budget:
                break
            chosen.append(term.strip())
            tokens = candidate
        return tokens

    @staticmethod
    def _prompt_tokens(tokenizer: Tokenizer, prompt: str | None, kept: int, hotwords: Sequence[int] = ()) -> list[int]:
        """``[<|startofprev|>, *hotwords, *last kept tokens of the previous text]`` (when either is given) + sot
        sequence + ``<|notimestamps|>``.

        Same layout as faster-whisper's ``get_prompt(..., without_timestamps=True, hotwords=…)``, the previous
        text being encoded with a leading space as its ``initial_prompt``.
        """
        previous: list[int] = []
        if prompt and prompt.strip() and kept:
            previous = tokenizer.encode(" " + prompt.strip())[-kept:]
        tokens = [tokenizer.sot_prev, *hotwords, *previous] if hotwords or previous else []
        return [*tokens, *tokenizer.sot_sequence, tokenizer.no_timestamps]


def log_mel(extractor: FeatureExtractor, samples: np.ndarray, window_frames: int) -> np.ndarray:
    """Whisper's normalised log-Mel features of ``samples``, zero-padded audio, cut to the window.

    Args:
        extractor: the model's feature extractor (80 or 128 Mel bins, 10 ms hop).
        samples: ``(n_samples,)`` float32 at 16 kHz, at most ``window_frames`` hops long.
        window_frames: frames to return.

    Returns:
        ``(n_mels, window_frames)`` float32, C-contiguous. Equal to faster-whisper's
        ``extractor(samples, padding=extractor.n_samples)[:, :window_frames]`` (30 s of zeros appended),
        but appending only one window of zeros: the frames kept see the same signal, the padding never
        raises the spectrogram's maximum (the normalisation reference), and the STFT is half as long
        (~20 ms instead of ~45 ms for a 5 s segment on the 2-core target).
    """
    padding = window_frames * extractor.hop_length
    return np.ascontiguousarray(extractor(samples, padding=padding)[:, :window_frames])


def _max_length(prompt_length: int, audio_s: float) -> int:
    """CTranslate2's ``max_length`` letting the decoder generate about ``max_new`` tokens.

    ``max_new`` is ``MIN_NEW_TOKENS + NEW_TOKENS_PER_SECOND * audio_s``, at most :data:`MAX_NEW_TOKENS`.
    CTranslate2's ``max_length`` is the decoder context, not the number of new tokens: it generates at
    most ``min(max_length // 2, max_length - prompt_length + 1)`` tokens (``whisper.cc`` sets the
    decoding length to ``max_length / 2``, like Whisper's ``sample_len = n_text_ctx // 2``; measured
    with ctranslate2 4.8.5). The result never exceeds :data:`DECODER_CONTEXT`, so a long prompt
    leaves fewer new tokens.
    """
    max_new = min(MAX_NEW_TOKENS, MIN_NEW_TOKENS + math.ceil(NEW_TOKENS_PER_SECOND * audio_s))
    return min(DECODER_CONTEXT, max(2 * max_new, prompt_length + max_new - 1))
