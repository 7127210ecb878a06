"""``babelroom demo``: a real clip spoken into a room, live translated captions on screen.

Through the HTTP API, a speaker and a listener sign up, the speaker opens a room and the listener joins
it (listen-only). The speaker streams the clip in real time; the listener asks for the target language.
The table shows each segment's partial (grey) and final captions with the final latency measured as
in ``make bench`` (caption received minus the moment the segment's last speech sample was sent). At
the end SRT, WebVTT and JSON go to ``--out``; then the demo reads the room's transcript back from the
database through the API (every final must be there) and saves its export
(``history.<lang>.srt``, ``history.original.txt``).

With ``--speak`` the stack also runs ``babelroom tts`` and the listener is in audio mode (``audio=1``):
its spoken translations go to ``speech.<lang>.wav`` on the call's timeline
(:mod:`babelroom.dev.demo_speech`), which Whisper base transcribes back; the demo prints that WER
against the listener's captions.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table

from babelroom.audio.pcm import decode_file
from babelroom.captions.formats import write_all
from babelroom.dev.client import ApiClient, Received, ReceivedSpeech, SpeakerRun, listen, stream_speaker
from babelroom.dev.demo_speech import speech_timeline, speech_wer, transcribe, write_wav
from babelroom.dev.devstack import LocalStack

console = Console()
FINALS_TIMEOUT_S = 60.0
PERSIST_TIMEOUT_S = 20.0
#: With --speak: how long to wait for speech after the last final, then after each new sentence (s).
SPEECH_TIMEOUT_S, SPEECH_IDLE_S = 120.0, 30.0


class CaptionBoard:
    """The captions received so far, one row per segment, newest state wins."""

    def __init__(self) -> None:
        self.rows: dict[str, Received] = {}
        self.finals: list[Received] = []
        self.retracted: set[str] = set()
        self.run: SpeakerRun | None = None
        self.speech: list[ReceivedSpeech] = []

    def add(self, received: Received) -> None:
        c = received.caption
        if c.type == "final":
            self.finals.append(received)
        if c.type == "retract":
            self.retracted.add(c.segment_id)
            self.rows.pop(c.segment_id, None)
        elif c.segment_id not in self.rows or self.rows[c.segment_id].caption.type != "final":
            self.rows[c.segment_id] = received

    def add_speech(self, received: ReceivedSpeech) -> None:
        self.speech.append(received)

    def unspoken(self) -> set[str]:
        """Finals with a translation to speak whose speech has not arrived."""
        spoken = {r.speech.segment_id for r in self.speech}
        return {r.caption.segment_id for r in self.finals
                if r.caption.translation.text and r.caption.language != r.caption.translation.language
                and r.caption.translation.backend not in ("unavailable", "no_route")} - spoken

    def settled(self) -> set[str]:
        """Segments that got their final or were retracted."""
        return {r.caption.segment_id for r in self.finals} | self.retracted

    def missing(self) -> set[str]:
        """Segments the ingest accepted that have not settled yet."""
        expected = {n["segment_id"] for n in (self.run.accepted() if self.run else [])}
        return expected - self.settled()

    def latency_ms(self, received: Received) -> float | None:
        if self.run is None or not self.run.t0:
            return None
        return (received.at - self.run.speech_end_wall(received.caption.audio_end_ms)) * 1000

    def table(self) -> Table:
        table = Table(expand=True, title="Babelroom live captions")
        for col in ("#", "speaker", "lang", "original", "translation", "latency"):
            table.add_column(col, overflow="fold")
        for r in list(self.rows.values())[-14:]:
            c = r.caption
            style = "" if c.type == "final" else "grey50 italic"
            latency = self.latency_ms(r) if c.type == "final" else None
            table.add_row(
                str(c.seq), c.speaker_name, c.language + (" (detected)" if c.language_detected else ""), c.text,
                c.translation.text,
                f"{latency:.0f} ms" if latency is not None else "…", style=style,
            )
        return table


@dataclass
class History:
    """What the database holds for the demo's room, read back through the API."""

    room_id: str
    segments: list[dict]
    exports: dict[str, str]


async def _open_room(speaker: ApiClient, listener: ApiClient) -> str:
    """Sign both up through the API; the speaker opens a room, the listener joins it."""
    tag = uuid.uuid4().hex[:8]
    await speaker.register(f"speaker-{tag}@demo.babelroom.local", secrets.token_urlsafe(16), "Speaker")
    await listener.register(f"listener-{tag}@demo.babelroom.local", secrets.token_urlsafe(16), "Listener")
    room = await speaker.create_room(f"Demo {tag}")
    await listener.join(room["id"], listen_only=True)
    return room["id"]


async def _history(api: ApiClient, room: str, expected: int, target_lang: str) -> History:
    """The room's persisted finals (waiting up to PERSIST_TIMEOUT_S for ``expected`` of them) and exports."""
    deadline = time.monotonic() + PERSIST_TIMEOUT_S
    segments = await api.transcript(room)
    while len(segments) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        segments = await api.transcript(room)
    exports = {f"history.{target_lang}.srt": await api.export(room, "srt", target_lang),
               "history.original.txt": await api.export(room, "txt")}
    return History(room, segments, exports)


async def _run(api_url: str, audio: Path, source_lang: str, target_lang: str,
               realtime: bool, speak: bool) -> tuple[CaptionBoard, History]:
    async with ApiClient(api_url) as speaker, ApiClient(api_url) as listener_api:
        room = await _open_room(speaker, listener_api)
        board = await _stream(api_url, room, speaker, listener_api, audio, source_lang, target_lang, realtime,
                              speak)
        finals = {r.caption.segment_id for r in board.finals if r.caption.text}
        return board, await _history(speaker, room, len(finals), target_lang)


async def _stream(api_url: str, room: str, speaker: ApiClient, listener_api: ApiClient, audio: Path,
                  source_lang: str, target_lang: str, realtime: bool, speak: bool) -> CaptionBoard:
    gateway_ws = api_url.replace("http://", "ws://").replace("https://", "wss://")
    board = CaptionBoard()
    stop, connected = asyncio.Event(), asyncio.Event()
    listener = asyncio.create_task(
        listen(f"{gateway_ws}/ws/rooms/{room}/captions?lang={target_lang}{'&audio=1' if speak else ''}", board.add,
               stop, connected, token=listener_api.token, on_speech=board.add_speech)
    )
    await asyncio.wait_for(connected.wait(), 10)
    samples = decode_file(audio)
    with Live(board.table(), console=console, refresh_per_second=8) as live:
        refresher = asyncio.create_task(_refresh(live, board))
        board.run = SpeakerRun("speaker-1")
        await stream_speaker(
            f"{gateway_ws}/ws/rooms/{room}/audio", board.run, token=speaker.token, name="Speaker",
            language=source_lang, audio=samples, realtime=realtime,
        )
        deadline = asyncio.get_running_loop().time() + FINALS_TIMEOUT_S
        while board.missing() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        if speak:
            await _await_speech(board)
        stop.set()
        refresher.cancel()
        live.update(board.table())
    await listener
    return board


async def _await_speech(board: CaptionBoard) -> None:
    """Wait until every final's speech came, for at most SPEECH_TIMEOUT_S, or SPEECH_IDLE_S without any."""
    loop = asyncio.get_running_loop()
    deadline, heard, last_new = loop.time() + SPEECH_TIMEOUT_S, len(board.speech), loop.time()
    while board.unspoken() and loop.time() < deadline and loop.time() - last_new < SPEECH_IDLE_S:
        await asyncio.sleep(0.2)
        if len(board.speech) != heard:
            heard, last_new = len(board.speech), loop.time()


def _write_speech(board: CaptionBoard, finals: list[Received], target_lang: str, out_dir: Path,
                  whisper_dir: Path) -> Path | None:
    """``speech.<lang>.wav`` on the call's timeline; prints Whisper's WER of it against the captions."""
    if not board.speech or board.run is None:
        console.print("[red]No speech arrived[/]")
        return None
    track, starts = speech_timeline(board.speech, board.run.t0)
    path = out_dir / f"speech.{target_lang}.wav"
    write_wav(track, path)
    backends = sorted({r.speech.tts_backend for r in board.speech})
    console.print(f"Speech: {len(board.speech)} sentences ({', '.join(backends)}), {len(track) / 48000:.1f} s, "
                  f"first at {starts[0]:.1f} s; {len(board.unspoken())} finals unspoken")
    heard = transcribe(track, target_lang, whisper_dir)
    wer = speech_wer([r.caption.translation.text for r in finals if r.caption.translation.text], heard, target_lang)
    (out_dir / f"speech.{target_lang}.txt").write_text(heard + "\n", encoding="utf-8")
    console.print(f"Whisper base hears in {path.name}: WER {wer:.3f} against the {target_lang} captions")
    return path


async def _refresh(live: Live, board: CaptionBoard) -> None:
    while True:
        live.update(board.table())
        await asyncio.sleep(0.125)


def run_demo(
    *,
    audio: Path,
    source_lang: str,
    target_lang: str,
    out_dir: Path,
    gateway_url: str | None,
    realtime: bool,
    state_dir: Path,
    speak: bool = False,
    whisper_dir: Path = Path("models/whisper-base"),
) -> int:
    """Run the demo; returns the process exit code (0 when every accepted segment got its final)."""
    with contextlib.ExitStack() as stack:
        if gateway_url is None:
            console.print("[bold]Starting the local stack[/] (postgres, redis, gateway, stt, mt)…")
            local = stack.enter_context(LocalStack(state_dir=state_dir / "demo", tts=speak))
            gateway_url = local.gateway_url
            console.print(f"Ready: gateway {gateway_url}, logs in {state_dir / 'demo' / 'logs'}")
        board, history = asyncio.run(_run(gateway_url, audio, source_lang, target_lang, realtime, speak))
    finals = sorted(board.finals, key=lambda r: r.caption.room_seq)
    paths = write_all(
        [r.caption for r in finals],
        out_dir,
        client_timings=[{"received_at": r.at, "final_latency_ms": board.latency_ms(r)} for r in finals],
    )
    latencies = sorted(x for r in finals if (x := board.latency_ms(r)) is not None)
    for r in finals:
        spoken = r.caption.language + (" (detected)" if r.caption.language_detected else "")
        console.print(f"[bold]{spoken}[/] {r.caption.text}\n[bold]{target_lang}[/] {r.caption.translation.text}")
    if latencies:
        p50 = latencies[len(latencies) // 2]
        console.print(f"{len(finals)} finals, final latency p50 {p50:.0f} ms, max {latencies[-1]:.0f} ms")
    for name, body in history.exports.items():
        (out_dir / name).write_text(body, encoding="utf-8")
        paths.append(out_dir / name)
    if speak and (speech_path := _write_speech(board, finals, target_lang, out_dir, whisper_dir)) is not None:
        paths.append(speech_path)
    console.print("Wrote " + ", ".join(str(p) for p in paths))
    stored = {s["segment_id"] for s in history.segments if s["translations"].get(target_lang)}
    unsaved = {r.caption.segment_id for r in finals if r.caption.text} - stored
    console.print(f"Database: {len(history.segments)} transcript segments of room {history.room_id} "
                  f"({len(unsaved)} finals missing)")
    missing = board.missing()
    if missing:
        console.print(f"[red]{len(missing)} segments got no final[/]")
    if unsaved:
        console.print(f"[red]{len(unsaved)} finals are not in the database[/]")
    return 1 if missing or unsaved else 0
