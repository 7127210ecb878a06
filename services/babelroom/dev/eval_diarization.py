"""``babelroom eval --diarization``: diarization error rate of the configured diarizer on one recording.

DER with pyannote.metrics against a reference RTTM, at collar 0 and 0.25 s, overlapping speech scored
(``skip_overlap=False``): (missed speech + false alarm + confusion) / reference speech. Also the
speaker counts, the wall time and the real-time factor. Writes ``diarization.json`` and
``diarization.md`` to the output directory.

Source: https://pyannote.github.io/pyannote-metrics/reference.html#diarization
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from pyannote.core import Annotation, Segment
from pyannote.metrics.diarization import DiarizationErrorRate

from babelroom.config import Settings
from babelroom.diarization.engine import SAMPLE_RATE, Diarization
from babelroom.diarization.select import backend_name, load_diarizer

COLLARS = (0.0, 0.25)


@dataclass
class DerRow:
    """DER and its parts at one collar (seconds of reference speech for the parts)."""

    collar_s: float
    der: float
    missed_s: float
    false_alarm_s: float
    confusion_s: float
    reference_s: float


def read_rttm(path: Path) -> Annotation:
    """The ``SPEAKER`` lines of an RTTM file as an annotation.

    Raises:
        ValueError: a ``SPEAKER`` line has fewer than 8 fields or non-numeric times.
    """
    reference = Annotation(uri=path.stem)
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        if len(fields) < 8:
            raise ValueError(f"{path}:{number}: an RTTM SPEAKER line has 8 or more fields")
        try:
            start, duration = float(fields[3]), float(fields[4])
        except ValueError:
            raise ValueError(f"{path}:{number}: onset and duration must be numbers") from None
        reference[Segment(start, start + duration), number] = fields[7]
    return reference


def to_annotation(result: Diarization, uri: str) -> Annotation:
    """The turns of ``result`` as a pyannote annotation."""
    hypothesis = Annotation(uri=uri)
    for index, turn in enumerate(result.turns):
        hypothesis[Segment(turn.start_s, turn.end_s), index] = turn.speaker
    return hypothesis


def score(reference: Annotation, hypothesis: Annotation) -> list[DerRow]:
    """DER of ``hypothesis`` at each collar of :data:`COLLARS`, overlap scored."""
    rows = []
    for collar in COLLARS:
        metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
        parts = metric(reference, hypothesis, detailed=True)
        rows.append(DerRow(
            collar, round(float(parts["diarization error rate"]), 4), round(float(parts["missed detection"]), 3),
            round(float(parts["false alarm"]), 3), round(float(parts["confusion"]), 3), round(float(parts["total"]), 3),
        ))
    return rows


def read_audio(path: Path) -> np.ndarray:
    """``path`` as float32 mono 16 kHz PCM.

    Raises:
        ValueError: the file is not mono 16 kHz (convert with ffmpeg -ac 1 -ar 16000).
    """
    audio, rate = sf.read(str(path), dtype="float32", always_2d=False)
    if rate != SAMPLE_RATE or audio.ndim != 1:
        raise ValueError(f"{path}: need mono {SAMPLE_RATE} Hz audio (got {rate} Hz, shape {audio.shape})")
    return np.ascontiguousarray(audio)


def run_diarization_eval(audio_path: Path, rttm_path: Path, out_dir: Path, settings: Settings) -> dict[str, object]:
    """Diarize ``audio_path`` with the configured diarizer, score it against ``rttm_path``, write the report.

    Returns:
        The report written to ``out_dir/diarization.json``.

    Raises:
        ValueError: as :func:`read_audio` and :func:`read_rttm`.
    """
    audio, reference = read_audio(audio_path), read_rttm(rttm_path)
    started = time.monotonic()
    diarizer = load_diarizer(settings)
    load_s = time.monotonic() - started
    result = diarizer.diarize(audio)
    rows = score(reference, to_annotation(result, reference.uri or audio_path.stem))
    duration_s = audio.size / SAMPLE_RATE
    report: dict[str, object] = {
        "audio": str(audio_path), "rttm": str(rttm_path), "backend": result.backend,
        "selected": backend_name(settings), "audio_s": round(duration_s, 2),
        "reference_speakers": len(reference.labels()), "hypothesis_speakers": len(result.speakers),
        "load_s": round(load_s, 2), "diarize_s": round(result.seconds, 2),
        "real_time_factor": round(result.seconds / duration_s, 3), "threads": settings.diarization_threads,
        "der": [asdict(row) for row in rows],
        "turns": [asdict(turn) for turn in result.turns],
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "diarization.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "diarization.md").write_text(markdown(report, rows))
    return report


def markdown(report: dict[str, object], rows: list[DerRow]) -> str:
    """The Markdown table of ``report``."""
    lines = [
        f"# Diarization: {Path(str(report['audio'])).name}",
        "",
        f"Backend `{report['backend']}`, {report['audio_s']} s of audio, speakers: reference "
        f"{report['reference_speakers']}, found {report['hypothesis_speakers']}. Diarized in "
        f"{report['diarize_s']} s on {report['threads']} thread(s) (RTF {report['real_time_factor']}; "
        f"loading {report['load_s']} s). DER by pyannote.metrics, overlap scored.",
        "",
        "| collar (s) | DER | missed (s) | false alarm (s) | confusion (s) | reference speech (s) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.collar_s:.2f} | {r.der:.1%} | {r.missed_s:.2f} | {r.false_alarm_s:.2f} | {r.confusion_s:.2f} "
        f"| {r.reference_s:.2f} |" for r in rows
    ]
    return "\n".join(lines) + "\n"
