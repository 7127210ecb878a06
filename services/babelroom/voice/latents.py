"""XTTS speaker latents of a voice sample, computed once and kept on disk beside the sample.

A cloned voice is XTTS's two conditioning tensors of the sample (:class:`Latents`). Computing them costs
about a second of compute per sample on the real model, so the xtts worker keeps them in
``voice_sample_dir/<user id>/<sample id>.xtts-<key>.npz``, where ``key`` is the SHA-256 of the sample
file's bytes and of the model's fingerprint (:func:`latents_path`): a new sample or a new model gets new
latents, and deleting the sample deletes them (:func:`babelroom.voice.storage.remove` removes every
``<sample id>.*`` file). Only numpy here: this module does not need torch.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Latents:
    """One voice's XTTS conditioning.

    Attributes:
        gpt_cond_latent: ``(1, n_latents, gpt_channels) float32``: the GPT's style latents (XTTS-v2: 32 x 1024).
        speaker_embedding: ``(1, d_vector, 1) float32``: the HiFi-GAN decoder's speaker embedding (512).
    """

    gpt_cond_latent: npt.NDArray[np.float32]
    speaker_embedding: npt.NDArray[np.float32]


def latents_path(sample: Path, model_fingerprint: str) -> Path:
    """Where the latents of the sample file ``sample`` under the model ``model_fingerprint`` live.

    Raises:
        FileNotFoundError: ``sample`` does not exist.
    """
    digest = hashlib.sha256(sample.read_bytes())
    digest.update(model_fingerprint.encode())
    return sample.with_name(f"{sample.stem}.xtts-{digest.hexdigest()[:24]}.npz")


def load_latents(path: Path) -> Latents | None:
    """The latents stored at ``path``, or None when there are none (or the file is unreadable)."""
    try:
        with np.load(path) as data:
            return Latents(data["gpt_cond_latent"].astype(np.float32), data["speaker_embedding"].astype(np.float32))
    except (OSError, KeyError, ValueError):
        return None


def save_latents(path: Path, latents: Latents) -> None:
    """Store ``latents`` at ``path`` (written to a temporary name, then renamed)."""
    buffer = io.BytesIO()
    np.savez(buffer, gpt_cond_latent=latents.gpt_cond_latent, speaker_embedding=latents.speaker_embedding)
    partial = path.with_suffix(".partial")
    partial.write_bytes(buffer.getvalue())
    partial.replace(path)
