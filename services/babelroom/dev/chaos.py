"""``babelroom chaos``: real speech through the local stack while its parts fail; what is lost, and for how long.

Each scenario starts a fresh :class:`~babelroom.dev.devstack.LocalStack` (2 STT workers, 1 MT worker,
the gateway with its ``persist`` consumer), opens a room through the API, streams the clip in real time
as one speaker (:func:`~babelroom.dev.reconnect.speak_with_reconnect`) while one listener reads the
Spanish captions (:func:`~babelroom.dev.reconnect.listen_with_reconnect`, ``since=`` on reconnect), and
injects its fault (:mod:`babelroom.dev.faults`) at a fixed point of the clip. After the speech it waits
up to ``SETTLE_S`` for every final to arrive and be stored, then counts (see docs/chaos.md):

- **expected**: segments the ingest accepted (each owes a final or a retraction);
- **received**: of those, how many the listener got a final (or retraction) for;
- **stored**: rows of the room in ``transcript_segments``;
- **lost**: expected − received; **unsaved**: finals received with text but not stored;
- **duplicated**: final messages beyond the first for the same segment;
- **lost notices**: notices whose ``code`` contains ``lost`` (the gateway telling the client that what
  it missed is gone);
- **recovery (s)**: from the end of the fault (the killed process restarted, Redis or PostgreSQL back)
  to the first final the listener receives after it (``stored`` scenarios: the first new row); when no
  final follows, to the service answering ``/readyz`` again.

Scenarios with a TTS fault (``gtts``) also run ``babelroom tts`` (chain ``gtts,espeak`` in that order,
gTTS's URL on an :class:`~babelroom.dev.faults.HttpStandIn`) and the listener reads in audio mode:

- **spoken**: finals with text whose speech (every chunk) reached the listener;
- **speech backend**: the backends that spoke them (``espeak`` alone when the fallback took every one);
- **speech p50 (ms)**: median over the spoken finals of final caption received → its first speech
  chunk received (chaos.json also has the max: the finals spoken while gTTS's breaker was closed).

A scenario **passes** when nothing is lost, unsaved or duplicated and recovery is under ``RECOVERY_TARGET_S``
(a TTS scenario: also every final with text spoken, only by ``SPEECH_FALLBACK``, speech p50 under
``SPEECH_P50_BOUND_MS``);
a scenario whose data is gone by design (``data_loss``) passes when finals flow again (some final after
the fault) within the target and, if anything was lost, the client was told (a lost notice).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import websockets
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from babelroom.audio.pcm import decode_file
from babelroom.bus.streams import AUDIO_STREAM, MT_GROUP, STT_GROUP, TRANSCRIPT_STREAM
from babelroom.db.models import TranscriptSegment
from babelroom.db.session import Database
from babelroom.dev.client import ApiClient
from babelroom.dev.devstack import LocalStack
from babelroom.dev.faults import HttpStandIn, StandInMode, kill_holding_entries
from babelroom.dev.reconnect import SocketLog, listen_with_reconnect, speak_with_reconnect

console = Console(width=160)
SETTLE_S = 60.0
RECOVERY_TARGET_S = 10.0
TARGET_LANG = "es"
#: TTS scenarios: the chain (gTTS first, in the configured order) and the voice expected to speak.
TTS_CHAIN, SPEECH_FALLBACK = "gtts,espeak", "espeak"
#: Bound on the speech p50 (final → its speech) of a TTS scenario: the first-audio budget of the
#: ``TtsLatencyHigh`` alert (t_final → first chunk, 1.5 s). Once gTTS's breaker is open a final costs
#: eSpeak NG's synthesis (tens of ms); only the finals spoken while the breaker was still closed
#: (3 failures; ``silent``: 3 s timeouts each, and those queued behind them) may exceed it.
SPEECH_P50_BOUND_MS = 1500.0


@dataclass
class Fault:
    """One injected fault: when it ended and when the service was ready again (wall clock, s)."""

    what: str
    ended_at: float
    ready_at: float | None = None


@dataclass
class Run:
    """A scenario in progress: the stack, its room and the clip's start (wall clock of sample 0)."""

    stack: LocalStack
    room: str
    t0: float = 0.0
    faults: list[Fault] = field(default_factory=list)

    async def at(self, seconds: float) -> None:
        """Sleep until ``seconds`` into the clip."""
        await asyncio.sleep(max(0.0, self.t0 + seconds - time.time()))


FaultFn = Callable[[Run], Coroutine[Any, Any, None]]


@dataclass
class Scenario:
    """What to break, when, and how recovery is measured (``final`` or ``stored``)."""

    name: str
    description: str
    fault: FaultFn | None = None
    libretranslate: StandInMode | None = None
    gtts: StandInMode | None = None
    recovery: str = "final"
    data_loss: bool = False


@dataclass
class Result:
    """One scenario's figures (see the module docstring)."""

    scenario: str
    description: str
    expected: int = 0
    received: int = 0
    stored: int = 0
    lost: int = 0
    unsaved: int = 0
    duplicated: int = 0
    lost_notices: int = 0
    recovery_s: float | None = None
    final_latency_p50_ms: float | None = None
    spoken: int | None = None
    speech_backend: str | None = None
    speech_latency_p50_ms: float | None = None
    speech_latency_max_ms: float | None = None
    gtts_failures: int | None = None
    reconnects: int = 0
    finals_after_fault: int = 0
    drop_reasons: dict[str, int] = field(default_factory=dict)
    faults: list[dict] = field(default_factory=list)
    passed: bool = False
    error: str | None = None


# --- faults -----------------------------------------------------------------------------------------

def stt_kills(count: int, every_s: float = 5.0, first_s: float = 4.0) -> FaultFn:
    """``count`` SIGKILLs of an STT worker holding entries, alternating stt-0 and stt-1, each restarted."""

    async def fault(run: Run) -> None:
        for i in range(count):
            await run.at(first_s + i * every_s)
            kill = await kill_holding_entries(run.stack, f"stt-{i % 2}", AUDIO_STREAM, STT_GROUP)
            run.faults.append(Fault(f"SIGKILL {kill.service} holding {kill.held}", kill.killed_at, kill.ready_at))

    return fault


def mt_kill(at_s: float = 20.0) -> FaultFn:
    async def fault(run: Run) -> None:
        await run.at(at_s)
        kill = await kill_holding_entries(run.stack, "mt-0", TRANSCRIPT_STREAM, MT_GROUP)
        run.faults.append(Fault(f"SIGKILL mt-0 holding {kill.held}", kill.killed_at, kill.ready_at))

    return fault


def gateway_kill(at_s: float = 20.0) -> FaultFn:
    async def fault(run: Run) -> None:
        await run.at(at_s)
        run.stack.stop_service("gateway", kill=True)
        ended = time.time()
        await asyncio.to_thread(run.stack.start_service, "gateway")
        run.faults.append(Fault("SIGKILL gateway (persist)", ended, time.time()))

    return fault


def redis_restart(keep_data: bool, at_s: float = 20.0) -> FaultFn:
    async def fault(run: Run) -> None:
        await run.at(at_s)
        await asyncio.to_thread(run.stack.restart_redis, keep_data)
        now = time.time()
        run.faults.append(Fault(f"restart Redis ({'AOF kept' if keep_data else 'files deleted'})", now, now))

    return fault


def postgres_stop(seconds: float = 30.0, at_s: float = 15.0) -> FaultFn:
    async def fault(run: Run) -> None:
        await run.at(at_s)
        await asyncio.to_thread(run.stack.stop_postgres)
        await asyncio.sleep(seconds)
        await asyncio.to_thread(run.stack.start_postgres)
        now = time.time()
        run.faults.append(Fault(f"PostgreSQL stopped {seconds:.0f} s", now, now))

    return fault


def scenarios() -> list[Scenario]:
    """Every scenario of ``make chaos``, in order."""
    return [
        Scenario("baseline", "no fault"),
        Scenario("stt-kill-x10", "10 × SIGKILL an STT worker holding entries, restarted", stt_kills(10)),
        Scenario("mt-kill", "SIGKILL the MT worker holding entries at 20 s, restarted", mt_kill()),
        Scenario("persist-kill", "SIGKILL the gateway (runs persist) at 20 s, restarted; clients reconnect",
                 gateway_kill()),
        Scenario("redis-restart-aof", "restart Redis at 20 s, AOF kept", redis_restart(keep_data=True)),
        Scenario("redis-restart-lost", "restart Redis at 20 s with its files deleted",
                 redis_restart(keep_data=False), data_loss=True),
        Scenario("postgres-stop-30s", "stop PostgreSQL at 15 s for 30 s", postgres_stop(), recovery="stored"),
        Scenario("libretranslate-refused", "MT chain libretranslate→apertium; LibreTranslate refuses connections",
                 libretranslate="refuse"),
        Scenario("libretranslate-silent", "MT chain libretranslate→apertium; LibreTranslate accepts, never answers",
                 libretranslate="silent"),
        Scenario("gtts-refused", "TTS chain gtts→espeak; gTTS refuses connections", gtts="refuse"),
        Scenario("gtts-silent", "TTS chain gtts→espeak; gTTS accepts, never answers", gtts="silent"),
    ]


NOT_RUN = {
    "janus-restart": "covered by tests/sfu/test_janus_restart.py: room and tap recreated by the call sync, "
                     "rejoined client tapped 1.1 s and first final 5.1 s after Janus is back; speech during "
                     "the outage lost",
}


# --- one scenario -----------------------------------------------------------------------------------

async def _open_room(stack: LocalStack) -> tuple[str, ApiClient, ApiClient]:
    tag = uuid.uuid4().hex[:8]
    speaker, listener = ApiClient(stack.gateway_url), ApiClient(stack.gateway_url)
    await speaker.register(f"chaos-s-{tag}@chaos.babelroom.local", secrets.token_urlsafe(16), "Speaker")
    await listener.register(f"chaos-l-{tag}@chaos.babelroom.local", secrets.token_urlsafe(16), "Listener")
    room = (await speaker.create_room(f"chaos {tag}"))["id"]
    await listener.join(room, listen_only=True)
    return room, speaker, listener


async def stored_segments(database_url: str, room: str) -> set[str]:
    """Segment ids of the room's rows in ``transcript_segments`` (empty while PostgreSQL is down)."""
    db = Database(database_url, pool_size=1)
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(TranscriptSegment.segment_id).where(TranscriptSegment.room_id == uuid.UUID(room)))
            return set(rows.scalars())
    except (OSError, SQLAlchemyError):  # PostgreSQL is down: nothing readable yet
        return set()
    finally:
        await db.close()


async def _first_stored_after(run: Run, since: float, before: set[str], stop: asyncio.Event) -> float | None:
    while not stop.is_set():
        if await stored_segments(run.stack.database_url, run.room) - before:
            return time.time() - since
        await asyncio.sleep(0.25)
    return None


async def run_scenario(stack: LocalStack, scenario: Scenario, clip: np.ndarray) -> Result:
    """Play ``clip`` into a new room of ``stack`` while ``scenario``'s fault happens; count the outcome."""
    room, speaker_api, listener_api = await _open_room(stack)
    await speaker_api.aclose()
    await listener_api.aclose()
    run = Run(stack, room)
    speaker_log, listener_log = SocketLog(), SocketLog()
    stop, connected = asyncio.Event(), asyncio.Event()
    audio = "&audio=1" if scenario.gtts else ""
    listener = asyncio.create_task(listen_with_reconnect(
        stack.ws_url(f"/ws/rooms/{room}/captions?lang={TARGET_LANG}{audio}"), listener_api.token, listener_log,
        stop, connected))
    await asyncio.wait_for(connected.wait(), 10)
    run.t0 = time.time()
    faulting = asyncio.create_task(scenario.fault(run)) if scenario.fault else None
    await speak_with_reconnect(stack.ws_url(f"/ws/rooms/{room}/audio"), speaker_api.token, speaker_log, clip, stop,
                               participant="speaker-1", name="Speaker", language="en")
    if faulting is not None:
        await faulting
    stored_probe = None
    if scenario.recovery == "stored" and run.faults:
        before = await stored_segments(stack.database_url, room)
        stored_probe = asyncio.create_task(_first_stored_after(run, run.faults[-1].ended_at, before, stop))
    expected = speaker_log.accepted()
    deadline = time.monotonic() + SETTLE_S
    stored: set[str] = set()
    while time.monotonic() < deadline:
        with_text = {r.caption.segment_id for r in listener_log.finals if r.caption.text}
        unspoken = with_text - spoken_segments(listener_log) if scenario.gtts else set()
        if expected <= listener_log.settled() and not unspoken:
            stored = await stored_segments(stack.database_url, room)
            if with_text <= stored:
                break
        await asyncio.sleep(0.5)
    stop.set()
    await listener
    stored = await stored_segments(stack.database_url, room)
    stored_recovery = await stored_probe if stored_probe is not None else None
    result = _result(scenario, run, speaker_log, listener_log, expected, stored, stored_recovery)
    if scenario.gtts:
        result.gtts_failures = await _gtts_failures(stack)
    return result


def spoken_segments(log: SocketLog) -> set[str]:
    """Segments whose every speech chunk reached the listener."""
    chunks: dict[str, set[int]] = {}
    wanted: dict[str, int] = {}
    for s in log.speech:
        chunks.setdefault(s.speech.segment_id, set()).add(s.speech.chunk)
        wanted[s.speech.segment_id] = s.speech.chunks
    return {segment for segment, got in chunks.items() if len(got) == wanted[segment]}


async def _gtts_failures(stack: LocalStack) -> int | None:
    """``babelroom_tts_fallback_total{backend="gtts"}`` of the TTS worker (None: its metrics unreadable)."""
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            text = (await http.get(stack.metrics_urls("tts")[0])).text
    except (httpx.HTTPError, IndexError):
        return None
    prefix = 'babelroom_tts_fallback_total{backend="gtts"} '
    return next((int(float(line.removeprefix(prefix))) for line in text.splitlines() if line.startswith(prefix)), 0)


def _speech(result: Result, listener_log: SocketLog, with_text: set[str]) -> bool:
    """Fill ``result``'s speech figures; True when every final with text was spoken by the fallback alone,
    its p50 within the bound."""
    spoken = spoken_segments(listener_log) & with_text
    final_at: dict[str, float] = {}
    for r in listener_log.finals:
        final_at.setdefault(r.caption.segment_id, r.at)
    first_chunk = {s.speech.segment_id: s for s in listener_log.speech if s.speech.chunk == 0}
    backends = Counter(s.speech.tts_backend for s in listener_log.speech if s.speech.segment_id in spoken)
    latencies = [(first_chunk[seg].audio_at - final_at[seg]) * 1000 for seg in spoken if seg in first_chunk]
    result.spoken = len(spoken)
    result.speech_backend = " ".join(f"{b}:{n}" if len(backends) > 1 else b for b, n in backends.most_common())
    result.speech_latency_p50_ms = round(float(np.median(latencies)), 0) if latencies else None
    result.speech_latency_max_ms = round(max(latencies), 0) if latencies else None
    return (spoken == with_text and set(backends) == {SPEECH_FALLBACK}
            and result.speech_latency_p50_ms is not None and result.speech_latency_p50_ms < SPEECH_P50_BOUND_MS)


def _result(scenario: Scenario, run: Run, speaker_log: SocketLog, listener_log: SocketLog, expected: set[str],
            stored: set[str], stored_recovery: float | None) -> Result:
    finals = listener_log.finals
    final_ids = [r.caption.segment_id for r in finals]
    with_text = {r.caption.segment_id for r in finals if r.caption.text}
    recovery = stored_recovery
    if scenario.recovery == "final" and run.faults:
        recoveries = []
        for f in run.faults:
            after = [r.at for r in finals if r.at >= f.ended_at]
            if after:
                recoveries.append(min(after) - f.ended_at)
            elif f.ready_at is not None and f.ready_at > f.ended_at:  # a restarted process answered /readyz
                recoveries.append(f.ready_at - f.ended_at)
        recovery = max(recoveries) if recoveries else None
    latencies = sorted((r.at - run.t0) * 1000 - r.caption.audio_end_ms for r in finals) if not speaker_log.drops else []
    result = Result(
        scenario=scenario.name, description=scenario.description, expected=len(expected),
        received=len(expected & listener_log.settled()), stored=len(stored),
        lost=len(expected - listener_log.settled()), unsaved=len(with_text - stored),
        duplicated=len(final_ids) - len(set(final_ids)),
        lost_notices=len(listener_log.lost_notices()) + len(speaker_log.lost_notices()),
        recovery_s=round(recovery, 2) if recovery is not None else None,
        final_latency_p50_ms=round(float(np.median(latencies)), 0) if latencies else None,
        reconnects=len(listener_log.drops) + len(speaker_log.drops),
        finals_after_fault=sum(1 for r in finals if run.faults and r.at >= run.faults[0].ended_at),
        drop_reasons=dict(Counter(why[:120] for _, why in listener_log.drops + speaker_log.drops).most_common(3)),
        faults=[asdict(f) for f in run.faults],
    )
    recovered = result.recovery_s is None or result.recovery_s < RECOVERY_TARGET_S
    if scenario.data_loss:
        result.passed = (recovered and result.finals_after_fault > 0
                         and (result.lost == 0 or result.lost_notices > 0))
    else:
        result.passed = recovered and not (result.lost or result.unsaved or result.duplicated) and result.expected > 0
    if scenario.gtts:
        result.passed = _speech(result, listener_log, with_text) and result.passed
    return result


def run_isolated(scenario: Scenario, clip: np.ndarray, state_dir: Path) -> Result:
    """``scenario`` on a fresh local stack of its own (stopped afterwards)."""
    env = {"BABELROOM_LOG_LEVEL": "INFO"}
    with (HttpStandIn(scenario.libretranslate or "refuse") as libretranslate,
          HttpStandIn(scenario.gtts or "refuse") as gtts):
        if scenario.libretranslate:
            env |= {"BABELROOM_MT_BACKENDS": "libretranslate,apertium",
                    "BABELROOM_LIBRETRANSLATE_URL": libretranslate.url}
        if scenario.gtts:
            env |= {"BABELROOM_TTS_BACKENDS": TTS_CHAIN,
                    "BABELROOM_TTS_GTTS_URL": gtts.url}
        try:
            with LocalStack(state_dir=state_dir / scenario.name, stt_workers=2, mt_workers=1, env=env,
                            tts=scenario.gtts is not None) as stack:
                return asyncio.run(run_scenario(stack, scenario, clip))
        except (RuntimeError, OSError, TimeoutError, httpx.HTTPError, websockets.WebSocketException) as exc:
            # one broken scenario is reported, the others still run
            return Result(scenario.name, scenario.description, error=repr(exc)[:300])


# --- report -----------------------------------------------------------------------------------------

COLUMNS = ("scenario", "expected", "received", "stored", "lost", "unsaved", "duplicated", "lost_notices",
           "recovery_s", "final_latency_p50_ms", "spoken", "speech_backend", "speech_latency_p50_ms", "reconnects",
           "passed")


def _cell(result: Result, column: str) -> str:
    value = getattr(result, column)
    if column == "passed":
        return "error" if result.error else ("yes" if value else "NO")
    return "–" if value is None else str(value)


def table(results: list[Result]) -> Table:
    t = Table(title="Babelroom chaos")
    for column in COLUMNS:
        t.add_column(column.replace("_", " "), justify="left" if column == "scenario" else "right")
    for r in results:
        style = "red" if r.error or not r.passed else ""
        t.add_row(*(_cell(r, c) for c in COLUMNS), style=style)
    for name, why in NOT_RUN.items():
        t.add_row(name, *["–"] * (len(COLUMNS) - 2), why.split(":")[0], style="grey50")
    return t


def markdown(results: list[Result]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cell(r, c) for c in COLUMNS) + " |" for r in results]
    lines += [f"| {name} | " + " | ".join(["–"] * (len(COLUMNS) - 2)) + f" | {why} |" for name, why in NOT_RUN.items()]
    notes = [f"- **{r.scenario}**: {r.description}" + (f" — error: `{r.error}`" if r.error else "") for r in results]
    return "# Babelroom chaos\n\n" + "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"


def run_chaos(*, audio: Path, out_dir: Path, state_dir: Path, only: list[str] | None = None) -> int:
    """Run the scenarios (``only``: these names); write ``chaos.json`` and ``chaos.md``; 0 when all passed."""
    clip = decode_file(audio)
    chosen = [s for s in scenarios() if not only or s.name in only]
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    for i, scenario in enumerate(chosen, 1):
        started = time.monotonic()
        with console.status(f"[{i}/{len(chosen)}] {scenario.name}: {scenario.description} "
                            f"({len(clip) / 16000:.0f} s of speech in real time)…"):
            result = run_isolated(scenario, clip, state_dir / "chaos")
        results.append(result)
        verdict = "[red]error[/]" if result.error else ("[green]pass[/]" if result.passed else "[red]FAIL[/]")
        console.print(f"[{i}/{len(chosen)}] {scenario.name}: {verdict} — expected {result.expected}, "
                      f"received {result.received}, stored {result.stored}, lost {result.lost}, "
                      f"recovery {result.recovery_s} s ({time.monotonic() - started:.0f} s)")
        (out_dir / "chaos.json").write_text(json.dumps(
            {"audio": str(audio), "results": [asdict(r) for r in results], "not_run": NOT_RUN}, indent=1))
    (out_dir / "chaos.md").write_text(markdown(results))
    console.print(table(results))
    console.print(f"Wrote {out_dir / 'chaos.json'}, {out_dir / 'chaos.md'}")
    return 0 if all(r.passed for r in results) else 1
