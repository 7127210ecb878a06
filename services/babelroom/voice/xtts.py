"""The cloned voice: XTTS-v2 (coqui-tts) speaking text in a user's voice, from their voice sample.

The checkpoint is a directory (``models_dir/xtts_dir``, ``make models`` fetches XTTS-v2 there) holding
``config.json``, ``model.pth`` and ``vocab.json`` (``speakers_xtts.pth``, the stock speakers, is used when
present but not needed: every voice here is a user's). The tests load a tiny random XTTS of the same
layout (:mod:`babelroom.dev.xtts_tiny`) through the same code.

Needs torch 2.9.1, torchaudio, torchcodec and coqui-tts: the ``.venv-xtts`` environment or the jobs image
(requirements/xtts.txt), never the main one; torch and coqui-tts are imported when a model is loaded.

Licence: the XTTS-v2 weights are under the Coqui Public Model License (non-commercial use only).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from babelroom.audio.pcm import resample
from babelroom.voice.latents import Latents
from babelroom.voice.samples import decode

#: What a checkpoint directory must hold.
REQUIRED_FILES = ("config.json", "model.pth", "vocab.json")
#: XTTS's output rate (Hz) and the rate its conditioning encoders read.
XTTS_RATE = 24_000
CONDITIONING_RATE = 22_050


def _model_language(language: str) -> str:
    """XTTS's code for an ISO 639-1 ``language`` (its Chinese is ``zh-cn``)."""
    return "zh-cn" if language == "zh" else language


class XttsUnavailable(RuntimeError):
    """The XTTS checkpoint is missing or cannot be loaded; the message says what, where and how to get it."""


class XttsError(RuntimeError):
    """One synthesis failed (text too long for the model, an unreadable sample …)."""


def check_xtts_model(directory: Path) -> None:
    """Raise :class:`XttsUnavailable` unless ``directory`` holds an XTTS checkpoint."""
    missing = [name for name in REQUIRED_FILES if not (directory / name).is_file()]
    if missing:
        raise XttsUnavailable(
            f"XTTS-v2: no {', '.join(missing)} in {directory}: fetch the weights on a connected machine with "
            "`make models` (babelroom models fetch), then copy them to BABELROOM_MODELS_DIR")


def fingerprint(directory: Path) -> str:
    """A short id of the checkpoint (its config, vocabulary and weight size): latents are kept per model."""
    digest = hashlib.sha256()
    for name in ("config.json", "vocab.json"):
        digest.update((directory / name).read_bytes())
    digest.update(str((directory / "model.pth").stat().st_size).encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class ClonedSpeech:
    """One synthesis: ``(n,) float32`` mono at :data:`XTTS_RATE`, and its compute time (s)."""

    samples: npt.NDArray[np.float32]
    compute_s: float

    @property
    def duration_s(self) -> float:
        return len(self.samples) / XTTS_RATE


class XttsVoice:
    """An XTTS checkpoint loaded on the CPU; one synthesis at a time (the worker runs one job at a time).

    Args:
        directory: the checkpoint directory.
        threads: torch intra-op threads.

    Raises:
        XttsUnavailable: files missing, or coqui-tts/torch not importable (wrong environment).
    """

    def __init__(self, directory: Path, threads: int = 1) -> None:
        check_xtts_model(directory)
        try:
            import torch
            from TTS.tts.configs.xtts_config import XttsConfig
            from TTS.tts.models.xtts import Xtts
        except ImportError as exc:
            raise XttsUnavailable(f"XTTS-v2: coqui-tts is not importable here ({exc}): run the xtts worker in the "
                                  "jobs image or .venv-xtts (`make xtts-venv`)") from exc
        torch.set_num_threads(threads)
        self._torch = torch
        config = XttsConfig()
        config.load_json(str(directory / "config.json"))
        self.config = config
        self.model: Any = Xtts(config)
        self.model.load_checkpoint(config, checkpoint_dir=str(directory), eval=True)
        self.directory = directory
        self.fingerprint = fingerprint(directory)
        self.languages: tuple[str, ...] = tuple(config.languages)

    def supports(self, language: str) -> bool:
        """True when the model speaks ``language`` (ISO 639-1; zh is XTTS's zh-cn)."""
        return _model_language(language) in self.languages

    def latents(self, sample: bytes) -> Latents:
        """The conditioning of a voice sample file (any format :func:`babelroom.voice.samples.decode` reads),
        computed as coqui-tts's ``get_conditioning_latents`` does with the config's ``max_ref_len``,
        ``gpt_cond_len`` and ``gpt_cond_chunk_len``.

        Raises:
            XttsError: the sample holds no usable audio.
        """
        try:
            samples, rate, _ = decode(sample)
        except ValueError as exc:
            raise XttsError(f"voice sample not readable: {exc}") from exc
        audio = resample(samples, rate, CONDITIONING_RATE)[: CONDITIONING_RATE * int(self.config.max_ref_len)]
        tensor = self._torch.from_numpy(np.clip(audio, -1.0, 1.0).astype(np.float32)).unsqueeze(0)
        try:
            embedding = self.model.get_speaker_embedding(tensor, CONDITIONING_RATE)
            gpt = self.model.get_gpt_cond_latents(tensor, CONDITIONING_RATE, length=int(self.config.gpt_cond_len),
                                                  chunk_length=int(self.config.gpt_cond_chunk_len))
        except RuntimeError as exc:  # e.g. "reference audio too short"
            raise XttsError(f"voice sample: {exc}") from exc
        return Latents(gpt.cpu().numpy().astype(np.float32), embedding.cpu().numpy().astype(np.float32))

    def synthesize(self, text: str, language: str, latents: Latents) -> ClonedSpeech:
        """``text`` spoken in ``language`` with the voice of ``latents``, with the config's sampling settings.

        Raises:
            XttsError: ``language`` unsupported, or the text too long for the model.
        """
        if not self.supports(language):
            raise XttsError(f"XTTS does not speak {language!r} (it speaks {', '.join(self.languages)})")
        config = self.config
        start = time.perf_counter()
        try:
            out = self.model.inference(
                text, _model_language(language),
                self._torch.from_numpy(latents.gpt_cond_latent), self._torch.from_numpy(latents.speaker_embedding),
                temperature=config.temperature, length_penalty=config.length_penalty,
                repetition_penalty=config.repetition_penalty, top_k=config.top_k, top_p=config.top_p,
            )
        except AssertionError as exc:  # coqui-tts asserts the text fits gpt_max_text_tokens
            raise XttsError(f"XTTS: {exc}") from exc
        samples = np.asarray(out["wav"], dtype=np.float32).reshape(-1)
        return ClonedSpeech(samples, time.perf_counter() - start)
