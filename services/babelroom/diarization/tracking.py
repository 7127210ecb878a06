"""Speakers followed across windows: "Speaker 2" stays the same voice all call.

Each participant of a room has its speakers' centroids in the Redis hash
``diar:{room}:{participant}:speakers`` (label → JSON ``{"n": windows seen, "v": mean embedding}``).
A window's local speakers are matched to the stored ones greedily, highest cosine first, one to one,
when the cosine reaches ``threshold`` (CAM++ on real clips: same speaker 0.78–0.98, different
0.28–0.51; on the shared sample's windows a different speaker reached 0.77, which one-to-one
matching absorbs); the others become new labels ``Speaker N``. Matched centroids move to the
running mean. The hash lives as long as the audio buffer (``diarization_buffer_ttl_s`` after the
last window).
"""

from __future__ import annotations

import json
from typing import cast

import numpy as np
import numpy.typing as npt
import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

Vector = npt.NDArray[np.float32]


def speakers_key(room: str, speaker: str) -> str:
    return f"diar:{room}:{speaker}:speakers"


def cosine(a: Vector, b: Vector) -> float:
    """Cosine similarity of two vectors (0 when either is zero)."""
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm else 0.0


def match(local: dict[str, Vector], known: dict[str, Vector], threshold: float) -> dict[str, str]:
    """Map each local speaker to a known label (one to one, highest cosine first, at least ``threshold``)."""
    pairs = sorted(((cosine(v, w), name, label) for name, v in local.items() for label, w in known.items()),
                   reverse=True)
    mapping: dict[str, str] = {}
    for score, name, label in pairs:
        if score < threshold:
            break
        if name not in mapping and label not in mapping.values():
            mapping[name] = label
    return mapping


async def assign(redis: aioredis.Redis, room: str, speaker: str, local: dict[str, Vector], *,
                 threshold: float, ttl_s: int) -> dict[str, str]:
    """Stable labels (``Speaker 1`` …) for this window's ``local`` speakers, centroids updated in Redis."""
    key = speakers_key(room, speaker)
    raw = cast(dict[bytes, bytes], await redis.hgetall(key))
    stored = {k.decode(): json.loads(v) for k, v in raw.items()}
    known = {label: np.asarray(item["v"], dtype=np.float32) for label, item in stored.items()}
    mapping = match(local, known, threshold)
    next_number = len(stored) + 1
    for name in sorted(local):  # stable order for new labels
        if name not in mapping:
            mapping[name] = f"Speaker {next_number}"
            next_number += 1
    updates: dict[FieldT, EncodableT] = {}
    for name, label in mapping.items():
        seen = stored.get(label, {"n": 0})["n"]
        vector = local[name] if not seen else (known[label] * seen + local[name]) / (seen + 1)
        updates[label] = json.dumps({"n": seen + 1, "v": [round(float(x), 6) for x in vector]})
    if updates:
        await redis.hset(key, mapping=updates)
        await redis.expire(key, ttl_s)
    return mapping
