"""``babelroom bench``: latency, cost and loss with N concurrent real-time speakers.

For each N: N speakers (each its own account, signed up through the API) stream real speech at
real-time pace, each from a different offset of the clip (the ``audio`` files joined with
:data:`CLIP_GAP_S` of silence, repeated to ``seconds``), in rooms of at most ``room_size`` speakers
(the first speaker of each opens it; it is closed after the run), so that N may exceed one room's
``participants_per_room``. N listener sockets (one per speaker, of its room's listen-only account)
receive the captions in the target language (Spanish for English speech, else English). The
bench's own stack gives every STT and MT worker as many slots (``worker_capacity_streams``) as the
largest N, so admission does not refuse a run the CPUs might still hold.

Capacity search (``find_max``): for one STT model, the largest N whose final latency p95 stays within
``p95_limit_ms`` with no lost or dropped final: N doubles from 1 until a run fails, then a binary
search between the last N that held and the first that did not (a noisy machine makes this noisy:
take the figure on a quiet one).

Definitions:
- **final latency**: the final translated caption reaching a listener, minus the moment the segment's
  last speech sample was sent (its ``audio_end_ms`` on the speaker's timeline, see
  :mod:`babelroom.dev.client`). The endpointing wait (trailing silence) is inside it.
- **first-partial latency**: the first partial caption of a segment reaching a listener, minus the
  moment the segment's first sample (``audio_start_ms``, pre-speech pad included) was sent.
- **STT RTF**: Whisper decode time over decoded audio time (partials and finals).
- **MT ms per sentence**, **cache hit rate**: from the MT workers' Prometheus counters.
- **CPU s per audio s**: CPU time of every stack process (Redis, gateway, STT, MT) over the audio
  streamed.
- **lost finals**: segments the ingest accepted that some listener never got a final (or retraction)
  for; **dropped finals**: finals shed by the bus. Both must be 0.

Audio mode (``speak``; ``make bench-audio``): the stack also runs ``babelroom tts`` (its backends from
``BABELROOM_TTS_BACKENDS``, e.g. ``kokoro``, ``piper`` or ``espeak``) and the listeners open their caption
sockets with ``audio=1``. Then also:
- **audio latency**: the first byte of a segment's translated speech reaching a listener (the binary
  frame after its ``speech`` header; websockets hands a frame over whole, so this is when its last byte
  came, on loopback within a millisecond of its first), minus the moment the segment's last speech
  sample was sent (as for the final latency);
- **final → audio**: that moment minus the arrival of the same segment's text final at the same listener;
- **unspoken**: finals (with a translation) whose speech never reached the listener (dropped as stale,
  or still queued at the end).
"""

from __future__ import annotations

import asyncio
import json
import platform
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import numpy as np
import psutil
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table

from babelroom.audio.pcm import decode_file
from babelroom.dev.client import ApiClient, Received, ReceivedSpeech, SpeakerRun, listen, stream_speaker
from babelroom.dev.devstack import LocalStack

console = Console(width=150)
SAMPLE_RATE = 16_000
SETTLE_TIMEOUT_S = 60.0
#: Silence between the clips of a bench's audio (s), as between sentences.
CLIP_GAP_S = 0.8
#: Audio mode: how long without new speech ends the wait for the rest (s).
SPEECH_IDLE_S = 20.0


@dataclass
class RunResult:
    """The figures of one run with ``speakers`` concurrent speakers."""

    speakers: int
    audio_s: float
    finals: int
    final_latency_ms: dict[str, float]
    first_partial_latency_ms: dict[str, float]
    stt_rtf: float
    mt_ms_per_sentence: float
    cache_hit_rate: float
    cpu_s_per_audio_s: float
    lost_finals: int
    dropped_finals: int
    latencies_ms: list[float]
    audio_latency_ms: dict[str, float] | None = None
    final_to_audio_ms: dict[str, float] | None = None
    speech: int = 0
    unspoken: int = 0
    tts_backends: str = ""


#: What a table shows for a percentile of an empty set (no such caption came): never a number.
EMPTY_CELL = "–"


def ms_cell(figures: dict[str, float], key: str) -> str:
    """``figures[key]`` (ms, from :func:`percentiles`) rounded for a table, or :data:`EMPTY_CELL` when absent."""
    return f"{figures[key]:.0f}" if key in figures else EMPTY_CELL


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max of ``values`` (ms), rounded; empty dict when there are none."""
    if not values:
        return {}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": round(float(p50), 1), "p95": round(float(p95), 1), "p99": round(float(p99), 1),
            "max": round(max(values), 1)}


Samples = list[tuple[str, dict[str, str], float]]


def scrape(urls: list[str]) -> Samples:
    """Every sample (name, labels, value) of the given ``/metrics`` endpoints."""
    return [
        (sample.name, sample.labels, sample.value)
        for url in urls
        for family in text_string_to_metric_families(httpx.get(url, timeout=5).text)
        for sample in family.samples
    ]


def _delta(after: Samples, before: Samples, name: str, **labels: str) -> float:
    """Increase of the sum of ``name`` samples whose labels include ``labels``."""

    def total(samples: Samples) -> float:
        return sum(v for n, lab, v in samples if n == name and labels.items() <= lab.items())

    return total(after) - total(before)


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


async def room_with_accounts(api_url: str, speakers: int) -> tuple[list[ApiClient], ApiClient, str]:
    """``speakers`` speaking accounts in one new room (the first opens it) and one listen-only account."""
    tag = uuid.uuid4().hex[:6]
    apis = [ApiClient(api_url) for _ in range(speakers + 1)]
    for i, api in enumerate(apis):
        await api.register(f"bench-{tag}-{i}@bench.babelroom.local", secrets.token_urlsafe(16), f"Speaker {i}")
    room = (await apis[0].create_room(f"bench {speakers} {tag}"))["id"]
    for api in apis[1:-1]:
        await api.join(room)
    await apis[-1].join(room, listen_only=True)
    return apis[:-1], apis[-1], room


@dataclass
class RoomGroup:
    """One room of a run: its speakers' and its listener's accounts."""

    room: str
    speakers: list[ApiClient]
    listener: ApiClient


async def _one_run(stack: LocalStack, clip: np.ndarray, speakers: int, seconds: float, room_size: int,
                   language: str, speak: bool = False) -> RunResult:
    groups: list[RoomGroup] = []
    try:
        for first in range(0, speakers, room_size):
            speaker_apis, listener_api, room = await room_with_accounts(stack.gateway_url,
                                                                        min(room_size, speakers - first))
            groups.append(RoomGroup(room, speaker_apis, listener_api))
        return await _measure(stack, clip, speakers, seconds, groups, language, speak)
    finally:
        for g in groups:
            await g.speakers[0].close_room(g.room)  # frees the speaking-stream slots for the next run
            for api in (*g.speakers, g.listener):
                await api.aclose()


async def _measure(stack: LocalStack, clip: np.ndarray, speakers: int, seconds: float, groups: list[RoomGroup],
                   language: str, speak: bool) -> RunResult:
    seats = [(g, api) for g in groups for api in g.speakers]  # speaker i sits in room seats[i][0]
    target = "es" if language == "en" else "en"
    n = int(seconds * SAMPLE_RATE)
    clip = np.tile(clip, -(-n // len(clip)))  # at least n samples
    offset = len(clip) // max(speakers, 1)
    audios = [np.roll(clip, -i * offset)[:n] for i in range(speakers)]
    received: list[list[Received]] = [[] for _ in range(speakers)]
    heard: list[list[ReceivedSpeech]] = [[] for _ in range(speakers)]
    stop = asyncio.Event()
    connected = [asyncio.Event() for _ in range(speakers)]
    audio_query = "&audio=1" if speak else ""
    listeners = [
        asyncio.create_task(
            listen(stack.ws_url(f"/ws/rooms/{seats[i][0].room}/captions?lang={target}{audio_query}"),
                   received[i].append, stop, connected[i], token=seats[i][0].listener.token,
                   on_speech=heard[i].append)
        )
        for i in range(speakers)
    ]
    await asyncio.gather(*(asyncio.wait_for(c.wait(), 10) for c in connected))
    urls = stack.metrics_urls("")
    before = scrape(urls)
    cpu_before = _cpu_seconds(stack.pids())
    runs = [SpeakerRun(f"speaker-{i}") for i in range(speakers)]
    await asyncio.gather(
        *(
            stream_speaker(stack.ws_url(f"/ws/rooms/{seats[i][0].room}/audio"), runs[i], token=seats[i][1].token,
                           name=f"Speaker {i}", language=language, audio=audios[i])
            for i in range(speakers)
        )
    )
    expected = {n["segment_id"]: (run, n) for run in runs for n in run.accepted()}
    in_room: dict[str, set[str]] = {g.room: set() for g in groups}  # each listener hears its room's speakers
    for (g, _api), run in zip(seats, runs, strict=True):
        in_room[g.room] |= {n["segment_id"] for n in run.accepted()}
    wanted = [in_room[g.room] for g, _api in seats]
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        if all(w <= _settled(r) for w, r in zip(wanted, received, strict=True)):
            break
        await asyncio.sleep(0.1)
    if speak:
        await _await_speech(received, heard)
    stop.set()
    await asyncio.gather(*listeners)
    cpu = _cpu_seconds(stack.pids()) - cpu_before
    after = scrape(urls)

    final_lat: list[float] = []
    partial_lat: list[float] = []
    for got in received:
        first_partial: dict[str, float] = {}
        for r in got:
            c = r.caption
            if c.segment_id not in expected:
                continue
            run = expected[c.segment_id][0]
            if c.type == "final":
                final_lat.append((r.at - run.speech_end_wall(c.audio_end_ms)) * 1000)
            elif c.type == "partial" and c.segment_id not in first_partial:
                first_partial[c.segment_id] = (r.at - run.speech_end_wall(c.audio_start_ms)) * 1000
        partial_lat.extend(first_partial.values())
    lost = sum(len(w - _settled(r)) for w, r in zip(wanted, received, strict=True))
    decode_s = _delta(after, before, "babelroom_stt_inference_seconds_sum")
    decoded_audio_s = _delta(after, before, "babelroom_stt_audio_seconds_total")
    mt_s = _delta(after, before, "babelroom_mt_inference_seconds_sum")
    sentences = _delta(after, before, "babelroom_mt_sentences_total")
    hits = _delta(after, before, "babelroom_mt_cache_hits_total")
    misses = _delta(after, before, "babelroom_mt_cache_misses_total")
    dropped = _delta(after, before, "babelroom_bus_dropped_total", kind="final") + _delta(
        after, before, "babelroom_bus_poison_total"
    )
    audio_s = speakers * n / SAMPLE_RATE
    audio_lat, final_to_audio, unspoken = _speech_figures(received, heard, expected)
    return RunResult(
        speakers=speakers,
        audio_s=audio_s,
        finals=sum(1 for got in received for r in got if r.caption.type == "final"),
        final_latency_ms=percentiles(final_lat),
        first_partial_latency_ms=percentiles(partial_lat),
        stt_rtf=round(decode_s / decoded_audio_s, 3) if decoded_audio_s else 0.0,
        mt_ms_per_sentence=round(1000 * mt_s / sentences, 1) if sentences else 0.0,
        cache_hit_rate=round(hits / (hits + misses), 3) if hits + misses else 0.0,
        cpu_s_per_audio_s=round(cpu / audio_s, 3),
        lost_finals=lost,
        dropped_finals=int(dropped),
        latencies_ms=[round(x, 1) for x in final_lat],
        audio_latency_ms=percentiles(audio_lat) if speak else None,
        final_to_audio_ms=percentiles(final_to_audio) if speak else None,
        speech=sum(len(h) for h in heard),
        unspoken=unspoken,
        tts_backends=",".join(sorted({s.speech.tts_backend for h in heard for s in h})),
    )


def _to_speak(received: list[Received]) -> set[str]:
    """Segments of ``received`` whose final has a translation to speak."""
    return {r.caption.segment_id for r in received if r.caption.type == "final" and r.caption.translation.text
            and r.caption.translation.backend not in ("source", "unavailable", "no_route")}


async def _await_speech(received: list[list[Received]], heard: list[list[ReceivedSpeech]]) -> None:
    """Wait until every listener heard each of its finals, at most SETTLE_TIMEOUT_S or SPEECH_IDLE_S
    without new speech."""
    deadline, count, last_new = time.monotonic() + SETTLE_TIMEOUT_S, -1, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - last_new < SPEECH_IDLE_S:
        if all(_to_speak(r) <= {s.speech.segment_id for s in h} for r, h in zip(received, heard, strict=True)):
            return
        if sum(map(len, heard)) != count:
            count, last_new = sum(map(len, heard)), time.monotonic()
        await asyncio.sleep(0.1)


def _speech_figures(received: list[list[Received]], heard: list[list[ReceivedSpeech]],
                    expected: dict[str, tuple[SpeakerRun, dict]]) -> tuple[list[float], list[float], int]:
    """Audio latencies and final → audio times (ms) over every listener, and how many finals went unspoken."""
    audio_lat: list[float] = []
    final_to_audio: list[float] = []
    unspoken = 0
    for got, speech in zip(received, heard, strict=True):
        final_at = {r.caption.segment_id: r.at for r in got if r.caption.type == "final"}
        for s in speech:
            if s.speech.segment_id not in expected:
                continue
            run = expected[s.speech.segment_id][0]
            audio_lat.append((s.audio_at - run.speech_end_wall(s.speech.audio_end_ms)) * 1000)
            if s.speech.segment_id in final_at:
                final_to_audio.append((s.audio_at - final_at[s.speech.segment_id]) * 1000)
        unspoken += len(_to_speak(got) - {s.speech.segment_id for s in speech})
    return audio_lat, final_to_audio, unspoken


def _settled(received: list[Received]) -> set[str]:
    return {r.caption.segment_id for r in received if r.caption.type in ("final", "retract")}


def _table(results: list[RunResult]) -> Table:
    table = Table(title="Babelroom benchmark")
    for col in ("speakers", "final p50", "final p95", "final p99", "1st partial p50", "STT RTF",
                "MT ms/sent", "cache hit", "CPU s/audio s", "lost", "dropped"):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            str(r.speakers), ms_cell(r.final_latency_ms, "p50"), ms_cell(r.final_latency_ms, "p95"),
            ms_cell(r.final_latency_ms, "p99"), ms_cell(r.first_partial_latency_ms, "p50"),
            f"{r.stt_rtf:.3f}", f"{r.mt_ms_per_sentence:.1f}", f"{r.cache_hit_rate:.0%}",
            f"{r.cpu_s_per_audio_s:.2f}", str(r.lost_finals), str(r.dropped_finals),
        )
    return table


def _audio_table(results: list[RunResult]) -> Table:
    table = Table(title="Babelroom benchmark: audio mode")
    for col in ("speakers", "TTS", "audio p50", "audio p95", "audio p99", "final→audio p50", "final→audio p95",
                "speech", "unspoken"):
        table.add_column(col, justify="right")
    for r in results:
        a, f = r.audio_latency_ms or {}, r.final_to_audio_ms or {}
        table.add_row(str(r.speakers), r.tts_backends, ms_cell(a, "p50"), ms_cell(a, "p95"), ms_cell(a, "p99"),
                      ms_cell(f, "p50"), ms_cell(f, "p95"), str(r.speech), str(r.unspoken))
    return table


def _audio_markdown(results: list[RunResult]) -> str:
    lines = ["", "Audio mode (audio latency: first translated audio byte at the listener minus the segment's last "
             "speech sample sent; final → audio: from the text final at the same listener):", "",
             "| speakers | TTS | audio p50 ms | audio p95 ms | audio p99 ms | final→audio p50 ms | final→audio p95 ms "
             "| speech | unspoken |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        a, f = r.audio_latency_ms or {}, r.final_to_audio_ms or {}
        lines.append(f"| {r.speakers} | {r.tts_backends} | {ms_cell(a, 'p50')} | {ms_cell(a, 'p95')} "
                     f"| {ms_cell(a, 'p99')} | {ms_cell(f, 'p50')} | {ms_cell(f, 'p95')} | {r.speech} | {r.unspoken} |")
    return "\n".join(lines) + "\n"


def _plot(results: list[RunResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.boxplot([r.latencies_ms for r in results], tick_labels=[str(r.speakers) for r in results])
    ax.axhline(800, color="tab:green", linestyle="--", label="p50 target 800 ms")
    ax.axhline(1500, color="tab:orange", linestyle="--", label="p95 target 1.5 s")
    ax.set_xlabel("concurrent speakers")
    ax.set_ylabel("final latency (ms)")
    ax.set_title("Final caption latency (end of speech → translated final at listener)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _markdown(results: list[RunResult], machine: str, summary: str = "") -> str:
    lines = [
        f"Machine: {machine}",
        "",
        *([summary, ""] if summary else []),
        "| speakers | final p50 ms | final p95 ms | final p99 ms | first partial p50 ms | STT RTF "
        "| MT ms/sentence | cache hit | CPU s/audio s | lost finals | dropped finals |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        f, p = r.final_latency_ms, r.first_partial_latency_ms
        lines.append(
            f"| {r.speakers} | {ms_cell(f, 'p50')} | {ms_cell(f, 'p95')} | {ms_cell(f, 'p99')} "
            f"| {ms_cell(p, 'p50')} | {r.stt_rtf:.3f} | {r.mt_ms_per_sentence:.1f} | {r.cache_hit_rate:.0%} "
            f"| {r.cpu_s_per_audio_s:.2f} | {r.lost_finals} | {r.dropped_finals} |"
        )
    return "\n".join(lines) + "\n"


def bench_clip(audios: list[Path]) -> np.ndarray:
    """The bench's speech: the ``audios`` decoded (16 kHz mono) and joined with :data:`CLIP_GAP_S` of silence."""
    gap = np.zeros(int(CLIP_GAP_S * SAMPLE_RATE), np.float32)
    return np.concatenate([part for path in audios for part in (decode_file(path), gap)])


def holds(result: RunResult, p95_limit_ms: float) -> bool:
    """Whether a run kept up: finals came, their latency p95 within ``p95_limit_ms``, none lost or dropped."""
    p95 = result.final_latency_ms.get("p95")
    return p95 is not None and p95 <= p95_limit_ms and result.lost_finals == 0 and result.dropped_finals == 0


def find_max_speakers(run: Callable[[int], bool], limit: int) -> int:
    """The largest N in [1, ``limit``] for which ``run(N)`` holds, assuming it holds up to some N and not
    beyond; 0 when even 1 fails. N doubles from 1 until a run fails (or ``limit``), then a binary search
    between the last N that held and the first that failed: about 2·log2(answer) runs."""
    good, n = 0, 1
    while n <= limit and run(n):
        good, n = n, n * 2
    bad = min(n, limit + 1)  # the first N that failed, or past the limit
    while bad - good > 1:
        mid = (good + bad) // 2
        if run(mid):
            good = mid
        else:
            bad = mid
    return good


def run_bench(
    *,
    speaker_counts: list[int],
    audios: list[Path],
    language: str,
    stt_model: str | None,
    seconds: float,
    stt_workers: int,
    room_size: int,
    find_max: bool,
    p95_limit_ms: float,
    out_dir: Path,
    state_dir: Path,
    speak: bool = False,
    tts_backends: str | None = None,
) -> list[RunResult]:
    """Run one fresh local stack (STT ``stt_model``, else the settings' own) and every speaker count on it
    (with ``find_max``: the capacity search up to the largest count); write JSON, Markdown and a PNG.
    With ``speak`` the stack runs ``babelroom tts`` (``tts_backends``, else the settings' own) and the
    listeners are in audio mode."""
    clip = bench_clip(audios)
    memory_gib = psutil.virtual_memory().total / 2**30
    machine = f"{platform.node()}: {psutil.cpu_count()} CPUs, {memory_gib:.0f} GiB, {platform.platform()}"
    most = max(speaker_counts)
    env = {"BABELROOM_WORKER_CAPACITY_STREAMS": str(most), **({"BABELROOM_STT_MODEL": stt_model} if stt_model else {}),
           **({"BABELROOM_TTS_BACKENDS": tts_backends} if tts_backends else {})}
    results: list[RunResult] = []
    largest: int | None = None

    def one(speakers: int) -> RunResult:
        console.print(f"[bold]{speakers} speaker(s)[/], {seconds:.0f} s of real-time {language} audio each…")
        results.append(asyncio.run(_one_run(stack, clip, speakers, seconds, room_size, language, speak)))
        console.print(_table(results[-1:]))
        if speak:
            console.print(_audio_table(results[-1:]))
        return results[-1]

    with LocalStack(state_dir=state_dir / "bench", stt_workers=stt_workers, env=env, tts=speak) as stack:
        if find_max:
            largest = find_max_speakers(lambda n: holds(one(n), p95_limit_ms), most)
        else:
            for speakers in speaker_counts:
                one(speakers)
    results.sort(key=lambda r: r.speakers)
    model = stt_model or "(BABELROOM_STT_MODEL)"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench.json").write_text(json.dumps({
        "machine": machine, "audio": [str(a) for a in audios], "language": language, "stt_model": model,
        "room_size": room_size, "p95_limit_ms": p95_limit_ms, "max_realtime_speakers": largest,
        "tts_backends": (tts_backends or "(BABELROOM_TTS_BACKENDS)") if speak else None,
        "runs": [asdict(r) for r in results]}, indent=1))
    summary = f"STT model {model}, {language} speech ({', '.join(a.name for a in audios)}), rooms of {room_size}"
    if largest is not None:
        summary += (f"\n\nLargest number of concurrent real-time speakers at final p95 ≤ {p95_limit_ms:.0f} ms "
                    f"(none lost): **{largest}** (searched up to {most})")
    audio_md = _audio_markdown(results) if speak else ""
    (out_dir / "bench.md").write_text(_markdown(results, machine, summary) + audio_md)
    _plot(results, out_dir / "latency.png")
    console.print(_table(results))
    if speak:
        console.print(_audio_table(results))
    if largest is not None:
        console.print(f"[bold]Largest real-time speaker count at p95 ≤ {p95_limit_ms:.0f} ms: {largest}[/]")
    console.print(f"Wrote {out_dir / 'bench.json'}, {out_dir / 'bench.md'}, {out_dir / 'latency.png'}")
    return results
