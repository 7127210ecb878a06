"""Subtitle files from final captions: SRT (via ``srt``), WebVTT (via ``webvtt-py``), plain text and JSON.

Cue times are the segment's ``audio_start_ms``/``audio_end_ms`` in the speaker's timeline.
Sources: SRT as de-facto specified by SubRip; WebVTT, https://www.w3.org/TR/webvtt1/
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from pathlib import Path

import srt
import webvtt

from babelroom.bus.schemas import Caption


def _cues(captions: Iterable[Caption], original: bool) -> list[tuple[int, int, str]]:
    """(start ms, end ms, text) of every non-empty final, in room order."""
    finals = sorted((c for c in captions if c.type == "final"), key=lambda c: c.room_seq)
    cues = []
    for c in finals:
        text = c.text if original else c.translation.text
        label = f"{c.speaker_name}: {text}" if text else ""
        if label:
            cues.append((c.audio_start_ms, max(c.audio_end_ms, c.audio_start_ms + 1), label))
    return cues


def to_srt(captions: Iterable[Caption], *, original: bool = False) -> str:
    """SRT of the translations (or the original text when ``original``)."""
    return srt.compose(
        [
            srt.Subtitle(i, datetime.timedelta(milliseconds=a), datetime.timedelta(milliseconds=b), t)
            for i, (a, b, t) in enumerate(_cues(captions, original), 1)
        ]
    )


def _vtt_time(ms: int) -> str:
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def to_vtt(captions: Iterable[Caption], *, original: bool = False) -> str:
    """WebVTT of the translations (or the original text when ``original``)."""
    vtt = webvtt.WebVTT()
    for a, b, text in _cues(captions, original):
        vtt.captions.append(webvtt.Caption(_vtt_time(a), _vtt_time(b), text))
    return vtt.content


def to_txt(captions: Iterable[Caption], *, original: bool = False) -> str:
    """Plain text, one ``[hh:mm:ss] Speaker: text`` line per final."""
    return "".join(f"[{_vtt_time(a)[:8]}] {text}\n" for a, _, text in _cues(captions, original))


def write_all(
    captions: list[Caption],
    out_dir: Path,
    stem: str = "captions",
    client_timings: list[dict[str, float | None]] | None = None,
) -> list[Path]:
    """Write SRT and VTT in the source and target languages, and JSON of every caption.

    ``client_timings`` (one dict per caption, e.g. the receive time and latency the client
    measured) is merged into each caption's JSON object.

    Returns:
        The paths written: ``{stem}.{lang}.srt``, ``{stem}.{lang}.vtt`` per language and ``{stem}.json``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    finals = [c for c in captions if c.type == "final"]
    written = []
    if finals:
        languages = {finals[0].language: True, finals[0].translation.language: False}
        for lang, original in languages.items():
            for ext, render in (("srt", to_srt), ("vtt", to_vtt)):
                path = out_dir / f"{stem}.{lang}.{ext}"
                path.write_text(render(captions, original=original), encoding="utf-8")
                written.append(path)
    path = out_dir / f"{stem}.json"
    path.write_text(
        json.dumps(
            [{**c.model_dump(), **extra}
             for c, extra in zip(captions, client_timings or [{}] * len(captions), strict=True)],
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    written.append(path)
    return written
