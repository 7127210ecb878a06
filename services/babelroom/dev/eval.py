"""``babelroom eval``: word error rate, sentence finals, latency and translation quality per language.

Speech (manifests, :mod:`babelroom.dev.eval_manifest`): the clips are grouped by the STT model their
language gets (``stt_models``: a language → model map whose ``None`` key is every other language's
model; no entry at all: the settings' ``stt_model``). For each model: first every clip of its
languages is transcribed offline (:func:`~babelroom.dev.eval_speech.transcribe_offline`), then a
fresh local stack with ``BABELROOM_STT_MODEL`` set to it streams them
(:func:`~babelroom.dev.eval_speech.stream_clips`). Per language it reports:

- ``streaming_wer`` and ``offline_wer``: corpus WER of the streamed finals and of the offline
  transcripts, same clips, same model, same normalisation (:mod:`babelroom.dev.eval_scoring`);
- ``sentence_end_share``, ``pause_share``, ``sentence_or_pause_share``: of the finals, those whose text
  ends a sentence, those whose segment a pause ended (not the segmenter's cut), either;
- ``final_latency_ms`` p50/p95/p99/max when streamed in real time (``speed`` 1);
- ``chrf``/``bleu`` of the finals' translations into the target language where the manifest has
  reference translations;
- ``missing_finals``: accepted segments whose final never came (should be 0).

With several ``leads_ms`` every clip runs once per lead (silence before it), and the figures pool the runs
(:mod:`babelroom.dev.eval_speech`); ``clips`` counts clips, ``runs`` runs.

Text (``mt_dir``, :mod:`babelroom.dev.eval_mt`): chrF/BLEU per language pair over line-aligned files.

Writes ``eval.json`` (everything, per clip too) and ``eval.md`` (the tables) to ``out_dir``.
"""

from __future__ import annotations

import asyncio
import json
import platform
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import psutil
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from babelroom.config import Settings
from babelroom.dev.bench import percentiles
from babelroom.dev.devstack import LocalStack
from babelroom.dev.eval_manifest import Clip, read_manifest
from babelroom.dev.eval_mt import PairScore, all_pairs, evaluate_mt, read_sets
from babelroom.dev.eval_scoring import chrf_bleu, word_error_rate
from babelroom.dev.eval_speech import ClipRun, model_env, stream_clips, transcribe_offline

console = Console(width=150)


@dataclass
class LanguageScore:
    """The speech figures of one language (see the module docstring)."""

    language: str
    model: str
    target: str
    clips: int
    runs: int
    audio_s: float
    streaming_wer: float
    offline_wer: float
    finals: int
    sentence_end_share: float
    pause_share: float
    sentence_or_pause_share: float
    final_latency_ms: dict[str, float]
    chrf: float | None
    bleu: float | None
    missing_finals: int


def default_target(language: str) -> str:
    """The listener's language when none is given: Spanish for English speech, else English."""
    return "es" if language == "en" else "en"


def model_of(stt_models: dict[str | None, str], language: str) -> str | None:
    """The STT model ``language`` is evaluated with (None: the settings' own ``stt_model``)."""
    return stt_models.get(language, stt_models.get(None))


def score_language(language: str, model: str, runs: list[ClipRun], latency: bool) -> LanguageScore:
    """The figures of one language's clip runs."""
    references = [r.clip.reference for r in runs]
    finals = [f for r in runs for f in r.finals]
    n = max(len(finals), 1)
    with_refs = [r for r in runs if r.clip.translation]
    mt = chrf_bleu([r.translated for r in with_refs], [r.clip.translation for r in with_refs]) if with_refs else {}
    return LanguageScore(
        language=language,
        model=model,
        target=runs[0].target,
        clips=len({r.clip.audio for r in runs}),
        runs=len(runs),
        audio_s=round(sum({r.clip.audio: r.audio_s for r in runs}.values()), 1),
        streaming_wer=round(word_error_rate(references, [r.streamed for r in runs], language), 4),
        offline_wer=round(word_error_rate(references, [r.offline for r in runs], language), 4),
        finals=len(finals),
        sentence_end_share=round(sum(f.ends_sentence for f in finals) / n, 3),
        pause_share=round(sum(f.pause for f in finals) / n, 3),
        sentence_or_pause_share=round(sum(f.ends_sentence or f.pause for f in finals) / n, 3),
        final_latency_ms=percentiles([f.latency_ms for f in finals if f.latency_ms is not None]) if latency else {},
        chrf=mt.get("chrf"),
        bleu=mt.get("bleu"),
        missing_finals=sum(r.missing for r in runs),
    )


def markdown(languages: list[LanguageScore], pairs: list[PairScore], machine: str, speed: float,
             leads_ms: Sequence[int] = (0,)) -> str:
    """The Markdown report: one table for speech, one for text MT."""
    lines = [f"Machine: {machine}", ""]
    if languages:
        pace = "real time" if speed == 1 else (f"{speed:g}× real time" if speed else "as fast as possible")
        lines += [
            f"Speech, streamed at {pace}. WER after normalisation (Whisper's English normaliser; else NFKC, "
            "lower case, punctuation removed).",
            *([f"Each clip ran {len(leads_ms)} times, after {', '.join(map(str, leads_ms))} ms of silence, streamed "
               "and offline alike; the figures pool the runs."] if len(leads_ms) > 1 else []),
            "",
            "| language | model | clips | runs | audio s | streaming WER | offline WER | gap (points) | finals "
            "| sentence end | pause | sentence end or pause | final p50 ms | final p95 ms | target | chrF | BLEU "
            "| missing |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
        ]
        for s in languages:
            p50, p95 = s.final_latency_ms.get("p50"), s.final_latency_ms.get("p95")
            lines.append(
                f"| {s.language} | {s.model} | {s.clips} | {s.runs} | {s.audio_s:.1f} | {s.streaming_wer:.1%} "
                f"| {s.offline_wer:.1%} | {100 * (s.streaming_wer - s.offline_wer):+.1f} | {s.finals} "
                f"| {s.sentence_end_share:.0%} | {s.pause_share:.0%} "
                f"| {s.sentence_or_pause_share:.0%} | {_num(p50)} | {_num(p95)} | {s.target} "
                f"| {_num(s.chrf, '.1f')} | {_num(s.bleu, '.1f')} | {s.missing_finals} |"
            )
        lines.append("")
    if pairs:
        lines += ["Text MT (line-aligned references).", "",
                  "| pair | route | lines | chrF | BLEU | ms/sentence |", "|---|---|---:|---:|---:|---:|"]
        lines += [f"| {p.source}→{p.target} | {p.route} | {p.lines} | {p.chrf:.1f} | {p.bleu:.1f} "
                  f"| {p.ms_per_sentence:.1f} |" for p in pairs]
        lines.append("")
    return "\n".join(lines)


def _num(value: float | None, fmt: str = ".0f") -> str:
    return "–" if value is None else format(value, fmt)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console)


def run_speech(
    settings: Settings, clips: list[Clip], stt_models: dict[str | None, str], target: str | None, speed: float,
    state_dir: Path, leads_ms: Sequence[int] = (0,),
) -> tuple[list[LanguageScore], list[ClipRun]]:
    """Offline, then streamed, for each model's group of languages, each clip once per lead of silence
    (ms; see :mod:`babelroom.dev.eval_speech`)."""
    groups: dict[str | None, list[Clip]] = defaultdict(list)
    for clip in clips:
        groups[model_of(stt_models, clip.language)].append(clip)
    scores, every_run = [], []
    for model, group in groups.items():
        name = model or settings.stt_model
        runs = [ClipRun(clip, target or default_target(clip.language), lead / 1000) for lead in leads_ms
                for clip in group]
        with _progress() as progress:
            offline_task = progress.add_task(f"offline  {name}", total=len(runs))
            model_settings = settings if model is None else settings.model_copy(update={"stt_model": model})
            transcribe_offline(model_settings, runs, partial(progress.advance, offline_task))
            console.print(f"Starting the local stack with STT model {name}…")
            with LocalStack(state_dir=state_dir / "eval", env=model_env(model)) as stack:
                stream_task = progress.add_task(f"streamed {name}", total=len(runs))
                asyncio.run(stream_clips(stack, runs, speed, partial(progress.advance, stream_task)))
        every_run += runs
        by_language: dict[str, list[ClipRun]] = defaultdict(list)
        for run in runs:
            by_language[run.clip.language].append(run)
        scores += [score_language(lang, name, rs, latency=speed == 1) for lang, rs in by_language.items()]
    return sorted(scores, key=lambda s: s.language), every_run


def run_eval(
    *,
    manifests: list[Path],
    out_dir: Path,
    settings: Settings,
    stt_models: dict[str | None, str],
    target: str | None,
    speed: float,
    mt_dir: Path | None,
    mt_pairs: list[tuple[str, str]] | None,
    mt_lines: int | None,
    mt_every_route: bool = False,
    leads_ms: Sequence[int] = (0,),
) -> tuple[list[LanguageScore], list[PairScore]]:
    """Run the speech and text evaluations; write ``eval.json`` and ``eval.md`` to ``out_dir``.

    Raises:
        ManifestError: a manifest cannot be read (before anything starts).
        ValueError: the MT folder has no usable line-aligned files, or a pair has no files.
    """
    clips = [clip for path in manifests for clip in read_manifest(path)]
    sets = read_sets(mt_dir, mt_lines) if mt_dir is not None else {}
    memory_gib = psutil.virtual_memory().total / 2**30
    machine = f"{platform.node()}: {psutil.cpu_count()} CPUs, {memory_gib:.0f} GiB, {platform.platform()}"
    languages, runs = (run_speech(settings, clips, stt_models, target, speed, settings.state_dir, leads_ms)
                       if clips else ([], []))
    pairs: list[PairScore] = []
    if sets:
        wanted = mt_pairs if mt_pairs is not None else all_pairs(sets)
        with _progress() as progress:
            task = progress.add_task("text MT", total=len(wanted))
            pairs = evaluate_mt(settings, sets, wanted, lambda _s, _t: progress.advance(task), mt_every_route)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = markdown(languages, pairs, machine, speed, leads_ms)
    (out_dir / "eval.md").write_text(report, encoding="utf-8")
    (out_dir / "eval.json").write_text(json.dumps({
        "machine": machine,
        "speed": speed,
        "leads_ms": list(leads_ms),
        "manifests": [str(p) for p in manifests],
        "languages": [asdict(s) for s in languages],
        "clips": [{"audio": str(r.clip.audio), "lead_ms": round(r.lead_s * 1000), "language": r.clip.language,
                   "reference": r.clip.reference,
                   "streamed": r.streamed, "offline": r.offline, "translated": r.translated,
                   "finals": [asdict(f) for f in r.finals], "missing_finals": r.missing} for r in runs],
        "mt": [asdict(p) for p in pairs],
    }, indent=1, ensure_ascii=False), encoding="utf-8")
    console.print(report)
    console.print(f"Wrote {out_dir / 'eval.json'}, {out_dir / 'eval.md'}")
    return languages, pairs
