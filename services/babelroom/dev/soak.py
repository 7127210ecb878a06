"""``babelroom soak``: N speakers through one gateway for a long time; does any process grow?

A fresh :class:`~babelroom.dev.devstack.LocalStack` (2 STT workers, 1 MT worker, the gateway with its
``persist`` consumer, Redis, the embedded PostgreSQL) gets one room with ``speakers`` speaking accounts
(each looping the clip from a different offset, in real time, for ``minutes``) and one listen-only account
reading the Spanish captions. Every process's resident memory (RSS) and open file descriptors are
sampled at the start, every minute and at the end (psutil), and so is Redis's own count of the memory
it holds (``INFO memory`` ``used_memory``: what the streams and keys take, without the allocator's
retained pages that RSS includes).

**Growth** is measured from the end of a warm-up to the end of the run. The warm-up is the longest
retention window in the stack, :data:`WARMUP_S` (10 min: a final's room-number key lives 10 min, the
captions stream keeps 5 min of finals for ``since=`` replay): until then those bounded structures are still
filling, which is growth to a bound, not a leak. Runs shorter than two warm-ups use 1 min (models load,
pools fill) and say so. The base is the median of the first :data:`MEDIAN_OF` samples from the warm-up on,
the end the median of the last :data:`MEDIAN_OF`: a single sample catches a burst (a backlog of audio
entries, an allocator's step). A process whose RSS grew by more than ``FLAG_PCT`` percent is flagged,
and so is one whose file descriptors grew by more than ``FLAG_PCT`` percent *and* more than ``FD_SLACK``:
a client pool (redis-py's opens a connection when all are busy and keeps it until Redis closes it idle,
``timeout 300``) that meets a new peak of concurrent commands adds a socket or two to Redis's 20-odd,
which is a step to a bound, not a leak; a leak keeps climbing past it.
With ``minutes`` ≤ 1 there is no warm-up to skip and growth is measured from the start.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import psutil
import redis
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from babelroom.audio.pcm import decode_file
from babelroom.dev.bench import room_with_accounts
from babelroom.dev.client import SAMPLE_RATE
from babelroom.dev.devstack import LocalStack
from babelroom.dev.reconnect import SocketLog, listen_with_reconnect, speak_with_reconnect

console = Console(width=150)
FLAG_PCT = 5.0
#: File descriptors a process may gain beyond ``FLAG_PCT`` before it is flagged (see the module docstring).
FD_SLACK = 4
#: The warm-up of a run of at least two of them (s): the longest retention window (see the module docstring).
WARMUP_S = 600.0
#: The warm-up of shorter runs (s).
SHORT_WARMUP_S = 60.0
#: Samples whose median is the base, and the end.
MEDIAN_OF = 3
SAMPLE_EVERY_S = 60.0


@dataclass
class Sample:
    """One process at one moment: seconds since the start, RSS (MiB) and open file descriptors."""

    t_s: float
    rss_mib: float
    fds: int


@dataclass
class ProcessSeries:
    """Every sample of one process, and its growth from the warm-up baseline to the end (%)."""

    name: str
    pid: int
    samples: list[Sample] = field(default_factory=list)
    base: Sample | None = None
    end: Sample | None = None
    rss_growth_pct: float | None = None
    fds_growth_pct: float | None = None
    flagged: bool = False

    def settle(self, warmup_s: float) -> None:
        """Compute growth from the median of the samples at and after ``warmup_s`` to the median of the last
        ones (:func:`base_and_end`)."""
        if len(self.samples) < 2:
            return
        base_i, end_i = base_and_end([s.t_s for s in self.samples], warmup_s)
        base = Sample(self.samples[base_i[0]].t_s, _median([self.samples[i].rss_mib for i in base_i]),
                      round(_median([self.samples[i].fds for i in base_i])))
        last = Sample(self.samples[-1].t_s, _median([self.samples[i].rss_mib for i in end_i]),
                      round(_median([self.samples[i].fds for i in end_i])))
        self.base, self.end = base, last
        self.rss_growth_pct = round((last.rss_mib - base.rss_mib) / base.rss_mib * 100, 1)
        self.fds_growth_pct = round((last.fds - base.fds) / max(base.fds, 1) * 100, 1)
        fds_leak = self.fds_growth_pct > FLAG_PCT and last.fds - base.fds > FD_SLACK
        self.flagged = self.rss_growth_pct > FLAG_PCT or fds_leak


@dataclass
class RedisMemory:
    """Redis ``used_memory`` samples as ``(s since the start, MiB)``, and their growth from the warm-up
    baseline to the end (%, MiB per minute)."""

    samples: list[tuple[float, float]] = field(default_factory=list)
    growth_pct: float | None = None
    mib_per_min: float | None = None

    def sample(self, client: redis.Redis, t_s: float) -> None:
        """Add one sample; a Redis that does not answer is skipped."""
        try:
            used = int(client.info("memory")["used_memory"])
        except redis.RedisError:
            return
        self.samples.append((round(t_s, 1), round(used / 2**20, 2)))

    def settle(self, warmup_s: float) -> None:
        """Growth from the median of the samples at and after ``warmup_s`` to the median of the last ones
        (:func:`base_and_end`); MiB per minute between the two."""
        if len(self.samples) < 2:
            return
        base_i, end_i = base_and_end([t for t, _ in self.samples], warmup_s)
        base = _median([self.samples[i][1] for i in base_i])
        last = _median([self.samples[i][1] for i in end_i])
        minutes = max(self.samples[end_i[-1]][0] - self.samples[base_i[0]][0], 60) / 60
        self.growth_pct = round((last - base) / base * 100, 1)
        self.mib_per_min = round((last - base) / minutes, 3)


def _median(values: list[float]) -> float:
    return round(float(np.median(values)), 2)


def base_and_end(times_s: list[float], warmup_s: float) -> tuple[list[int], list[int]]:
    """Indices of the samples whose median is the base (the first :data:`MEDIAN_OF` at or after
    ``warmup_s``; from the first sample if none is) and of those whose median is the end (the last
    :data:`MEDIAN_OF`); the two never overlap, so with fewer than twice ``MEDIAN_OF`` samples each side
    gets fewer (one each at least, from two samples).

    Raises:
        ValueError: fewer than two samples.
    """
    if len(times_s) < 2:
        raise ValueError("growth needs at least two samples")
    first = next((i for i, t in enumerate(times_s[:-1]) if t >= warmup_s), 0)
    per_side = max(1, min(MEDIAN_OF, (len(times_s) - first) // 2))
    return list(range(first, first + per_side)), list(range(len(times_s) - per_side, len(times_s)))


def _processes(stack: LocalStack) -> dict[str, int]:
    """Name → pid of every stack process, the PostgreSQL postmaster included."""
    pids = {s.name: s.process.pid for s in stack.services}
    postmaster = stack.postgres_pid()
    if postmaster is not None:
        pids["postgres"] = postmaster
    return pids


def _sample(series: dict[str, ProcessSeries], t_s: float) -> None:
    for s in series.values():
        try:
            p = psutil.Process(s.pid)
            s.samples.append(Sample(round(t_s, 1), round(p.memory_info().rss / 2**20, 1), p.num_fds()))
        except psutil.NoSuchProcess:
            pass


async def _soak(stack: LocalStack, clip: np.ndarray, minutes: float, speakers: int) -> tuple[dict, dict, dict]:
    speaker_apis, listener_api, room = await room_with_accounts(stack.gateway_url, speakers)
    apis = [*speaker_apis, listener_api]
    for api in apis:
        await api.aclose()
    n = int(minutes * 60 * SAMPLE_RATE)
    offset = len(clip) // speakers
    audios = [np.resize(np.roll(clip, -i * offset), n) for i in range(speakers)]
    speaker_logs = [SocketLog() for _ in range(speakers)]
    listener_log = SocketLog()
    stop, connected = asyncio.Event(), asyncio.Event()
    listener = asyncio.create_task(listen_with_reconnect(
        stack.ws_url(f"/ws/rooms/{room}/captions?lang=es"), apis[-1].token, listener_log, stop, connected))
    await asyncio.wait_for(connected.wait(), 10)
    series = {name: ProcessSeries(name, pid) for name, pid in _processes(stack).items()}
    redis_client, redis_memory = redis.Redis.from_url(stack.redis_url, socket_timeout=2), RedisMemory()
    started = time.monotonic()
    _sample(series, 0.0)
    redis_memory.sample(redis_client, 0.0)
    speaking = asyncio.gather(*(
        speak_with_reconnect(stack.ws_url(f"/ws/rooms/{room}/audio"), apis[i].token, speaker_logs[i], audios[i],
                             stop, participant=f"speaker-{i}", name=f"Speaker {i}", language="en")
        for i in range(speakers)))
    with Progress(console=console) as progress:
        task = progress.add_task(f"{speakers} speakers, {minutes:g} min", total=minutes * 60)
        next_sample = SAMPLE_EVERY_S
        while not speaking.done():
            await asyncio.sleep(1)
            elapsed = time.monotonic() - started
            progress.update(task, completed=min(elapsed, minutes * 60),
                            description=f"{speakers} speakers, {len(listener_log.finals)} finals")
            if elapsed >= next_sample:
                _sample(series, elapsed)
                redis_memory.sample(redis_client, elapsed)
                next_sample += SAMPLE_EVERY_S
    await speaking
    expected = set().union(*(log.accepted() for log in speaker_logs))
    deadline = time.monotonic() + 30
    while not expected <= listener_log.settled() and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    _sample(series, time.monotonic() - started)
    redis_memory.sample(redis_client, time.monotonic() - started)
    redis_client.close()
    stop.set()
    await listener
    warmup_s = warmup_of(minutes)
    for s in series.values():
        s.settle(warmup_s)
    redis_memory.settle(warmup_s)
    finals = {"expected": len(expected), "received": len(expected & listener_log.settled()),
              "lost": len(expected - listener_log.settled()),
              "reconnects": len(listener_log.drops) + sum(len(log.drops) for log in speaker_logs)}
    return {name: asdict(s) for name, s in series.items()}, finals, asdict(redis_memory)


def warmup_of(minutes: float) -> float:
    """The warm-up of a run of ``minutes`` (s): :data:`WARMUP_S` from two of them on, else
    :data:`SHORT_WARMUP_S`, and none for a run of a minute or less."""
    if minutes * 60 >= 2 * WARMUP_S:
        return WARMUP_S
    return SHORT_WARMUP_S if minutes * 60 > SHORT_WARMUP_S else 0.0


def markdown(processes: dict, finals: dict, redis_memory: dict, minutes: float, speakers: int) -> str:
    lines = [f"# Babelroom soak: {speakers} speakers, {minutes:g} min", "",
             f"Growth is from minute {warmup_of(minutes) / 60:g} (the warm-up) to the end, each the median of "
             f"{MEDIAN_OF} samples a minute apart; flagged above {FLAG_PCT:g} % (file descriptors: above "
             f"{FLAG_PCT:g} % and more than {FD_SLACK}).", "",
             "| process | RSS start (MiB) | RSS base (MiB) | RSS end (MiB) | RSS growth % | fds base | fds end "
             "| fds growth % | flagged |", "|---|---|---|---|---|---|---|---|---|"]
    for name, p in processes.items():
        samples, base, end = p["samples"], p["base"], p["end"]
        if base is None:
            continue
        lines.append(f"| {name} | {samples[0]['rss_mib']} | {base['rss_mib']} | {end['rss_mib']} "
                     f"| {p['rss_growth_pct']} | {base['fds']} | {end['fds']} | {p['fds_growth_pct']} "
                     f"| {'**yes**' if p['flagged'] else 'no'} |")
    lines += ["", f"Finals: {finals['expected']} expected, {finals['received']} received, {finals['lost']} lost; "
              f"{finals['reconnects']} reconnects."]
    if redis_memory["growth_pct"] is not None:
        used = redis_memory["samples"]
        lines += ["", f"Redis used_memory (INFO memory): {used[0][1]} MiB at the start, {used[-1][1]} MiB at the end; "
                      f"{redis_memory['growth_pct']} % ({redis_memory['mib_per_min']} MiB/min) from the warm-up."]
    return "\n".join(lines) + "\n"


def run_soak(*, minutes: float, speakers: int, audio: Path, out_dir: Path, state_dir: Path) -> int:
    """Run the soak; write ``soak.json`` and ``soak.md``; 0 when nothing is flagged and no final was lost."""
    clip = decode_file(audio)
    out_dir.mkdir(parents=True, exist_ok=True)
    console.print(f"Starting the local stack (logs in {state_dir / 'soak' / 'logs'})…")
    with LocalStack(state_dir=state_dir / "soak", stt_workers=2, mt_workers=1) as stack:
        processes, finals, redis_memory = asyncio.run(_soak(stack, clip, minutes, speakers))
    (out_dir / "soak.json").write_text(json.dumps(
        {"minutes": minutes, "speakers": speakers, "warmup_s": warmup_of(minutes), "median_of": MEDIAN_OF,
         "flag_pct": FLAG_PCT,
         "finals": finals, "processes": processes, "redis_used_memory": redis_memory}, indent=1))
    (out_dir / "soak.md").write_text(markdown(processes, finals, redis_memory, minutes, speakers))
    table = Table(title=f"Soak: {speakers} speakers, {minutes:g} min (growth from minute "
                        f"{warmup_of(minutes) / 60:g}, medians of {MEDIAN_OF} samples)")
    for column in ("process", "RSS MiB base→end", "RSS %", "fds base→end", "fds %", "flagged"):
        table.add_column(column)
    for name, p in processes.items():
        base, end = p["base"], p["end"]
        if base is not None:
            table.add_row(name, f"{base['rss_mib']}→{end['rss_mib']}", str(p["rss_growth_pct"]),
                          f"{base['fds']}→{end['fds']}", str(p["fds_growth_pct"]), "yes" if p["flagged"] else "no",
                          style="red" if p["flagged"] else "")
    console.print(table)
    console.print(f"Finals: {finals}. Redis used_memory growth: {redis_memory['growth_pct']} % "
                  f"({redis_memory['mib_per_min']} MiB/min). Wrote {out_dir / 'soak.json'}, {out_dir / 'soak.md'}")
    return 1 if finals["lost"] or any(p["flagged"] for p in processes.values()) else 0
