"""``babelroom``: one command per service, so one image serves every Swarm service.

Examples::

    babelroom gateway            # HTTP API + WebSockets on BABELROOM_GATEWAY_PORT
    babelroom stt                # an STT worker (consumer group "stt")
    babelroom mt                 # an MT worker (consumer group "mt")
    babelroom tts                # a TTS worker (consumer group "tts"): speech for audio listeners
    babelroom media              # the RTP audio tap of the SFU (UDP BABELROOM_MEDIA_RTP_PORT)
    babelroom janus-config --out conf/   # render stack/janus with the secrets, for a local Janus
    babelroom migrate            # bring the database schema up to date
    babelroom set-user ana@example.org --role admin --tier pro
    babelroom jobs --beat        # Celery worker of the background jobs, with the beat scheduler
    babelroom demo --audio clip.wav --source-lang en --target-lang es --out out/
    babelroom bench --speakers 1,2,4
    babelroom eval tests/data/eval/en.tsv --stt-model models/whisper-base --stt-model en=tiny.en --out eval-out
    babelroom chaos --out chaos-out              # fault scenarios against the local stack
    babelroom soak --minutes 30 --speakers 4     # RSS and file descriptors over a long run
    babelroom openapi --out frontend/openapi.json --messages-out frontend/socket-messages.json
    babelroom models list        # model weights: list, install --offline, verify, fetch
    babelroom --version

Bad arguments (a list item that is not a number, a role or tier that does not exist) are usage
errors: a message naming the option and exit status 2, no traceback. A command that cannot start
(a setting that does not parse; unsafe secrets or a missing model in production; for the gateway,
``migrate`` and ``set-user``, Redis or the database unreachable for ``startup_wait_s``) prints one
line and exits with a sysexits(3) status (babelroom.startup, docs/security.md). The workers (stt, mt,
tts, media, jobs) do not wait: they start, retry Redis themselves and say so in ``/readyz``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from babelroom import __version__
from babelroom.accounts import Role, TierName
from babelroom.autoscaler.cli import run as autoscaler_run
from babelroom.config import get_settings
from babelroom.logs import configure_logging
from babelroom.models.cli import app as models_app
from babelroom.startup import Dependency, StartupError, invalid_settings, preflight

app = typer.Typer(help="Babelroom services and tools.", no_args_is_help=True)
app.command("autoscaler")(autoscaler_run)
app.add_typer(models_app, name="models")

DEFAULT_CLIP = Path(__file__).resolve().parents[2] / "assets" / "demo" / "demo_en.wav"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"babelroom {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the version and exit"),
) -> None:
    """Babelroom services and tools."""


def _whole_numbers(value: str, wanted: str, low: int, high: int | None = None) -> list[int]:
    """``"1, 2,4,"`` → ``[1, 2, 4]``, each in [``low``, ``high``].

    Raises:
        typer.BadParameter: "give ``wanted``": an item is not a whole number in range, or there is none.
    """
    try:
        numbers = [int(n) for n in value.split(",") if n.strip()]
    except ValueError:
        numbers = []
    if not numbers or min(numbers) < low or (high is not None and max(numbers) > high):
        raise typer.BadParameter(f"give {wanted} (got {value!r})")
    return numbers


def speaker_counts(value: str) -> list[int]:
    """``"1,2,4"`` → ``[1, 2, 4]``.

    Raises:
        typer.BadParameter: an item is not a positive integer, or there is none.
    """
    return _whole_numbers(value, "positive whole numbers separated by commas, e.g. 1,2,4", 1)


def leads(value: str) -> list[int]:
    """``"0,110,220"`` → ``[0, 110, 220]`` (ms of silence before each eval clip).

    Raises:
        typer.BadParameter: an item is not a whole number of ms from 0 to 10000, or none is given.
    """
    return _whole_numbers(value, "leads in ms such as 0,110,220, each 0-10000", 0, 10_000)


def _validated(parse: Callable[[str], object]) -> Callable[[str], str]:
    """A Typer callback that refuses what ``parse`` refuses (a usage error naming the option) and keeps
    the text, which the command parses again."""

    def check(value: str) -> str:
        parse(value)
        return value

    return check


def _check_port_range(value: str | None) -> str | None:
    """``LOW-HIGH`` UDP ports, 1 ≤ LOW ≤ HIGH ≤ 65535 (Janus's ``rtp_port_range``), or None."""
    low, _, high = (value or "").partition("-")
    if value is not None and not (low.isdigit() and high.isdigit() and 1 <= int(low) <= int(high) <= 65535):
        raise typer.BadParameter(f"give LOW-HIGH UDP ports, e.g. 20000-20099 (got {value!r})")
    return value


@contextmanager
def _startup_errors() -> Iterator[None]:
    """A :class:`StartupError` inside ends the command: its line on stderr, its exit status."""
    try:
        yield
    except StartupError as exc:
        typer.echo(f"babelroom: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None


def _setup(*needs: Dependency, tokens: bool = False) -> None:
    """Logging, then the start-up checks (secrets, the JWT keys with ``tokens``; ``needs`` reachable
    within ``startup_wait_s``).

    Raises:
        StartupError: a check failed (inside :func:`_startup_errors`, the command ends with its status).
    """
    try:
        settings = get_settings()
    except ValidationError as exc:
        raise invalid_settings(exc) from None
    configure_logging(settings.log_level, settings.log_json)
    preflight(settings, needs, tokens)


@app.command()
def gateway(
    host: str = typer.Option(None, help="Bind address (default: BABELROOM_GATEWAY_HOST)"),
    port: int = typer.Option(None, help="Port (default: BABELROOM_GATEWAY_PORT)"),
) -> None:
    """Run the API gateway: audio ingest and caption WebSockets."""
    import uvicorn

    from babelroom.gateway import access_log
    from babelroom.gateway.app import create_app

    with _startup_errors():
        _setup("redis", "database", tokens=True)
    access_log.install()
    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.gateway_host,
        port=port or settings.gateway_port,
        log_config=None,
        ws_max_size=settings.ws_max_message_bytes,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


@app.command()
def stt() -> None:
    """Run a speech-to-text worker."""
    from babelroom.stt.models import check_stt_model
    from babelroom.stt.worker import serve

    with _startup_errors():
        _setup()  # Redis is waited for by the runner, which reports it in /readyz (docs/failures.md)
        check_stt_model(get_settings())
        asyncio.run(serve(get_settings()))


@app.command()
def mt() -> None:
    """Run a translation worker."""
    from babelroom.mt.factory import check_mt_models
    from babelroom.mt.worker import serve

    with _startup_errors():
        _setup()  # Redis: as for stt
        check_mt_models(get_settings())
        asyncio.run(serve(get_settings()))


@app.command()
def tts() -> None:
    """Run a text-to-speech worker: speaks translated finals for the rooms' audio listeners."""
    from babelroom.tts.factory import check_tts_models
    from babelroom.tts.worker import serve

    with _startup_errors():
        _setup()  # Redis: as for stt
        check_tts_models(get_settings())
        asyncio.run(serve(get_settings()))


@app.command()
def migrate(revision: str = typer.Option("head", help="Alembic revision to migrate to")) -> None:
    """Bring the database (BABELROOM_DATABASE_URL, else the embedded one) up to ``revision``."""
    from babelroom.db.migrate import upgrade
    from babelroom.db.session import database_url

    with _startup_errors():
        _setup("database")
    upgrade(database_url(get_settings()), revision)
    typer.echo(f"database at {revision}")


@app.command("set-user")
def set_user(
    email: str = typer.Argument(..., help="The account's e-mail"),
    role: Annotated[Role | None, typer.Option(help="The account's role")] = None,
    tier: Annotated[TierName | None, typer.Option(help="The account's tier")] = None,
) -> None:
    """Change an account's role or tier (how the first admin is made)."""
    from babelroom.db.users import update_user

    with _startup_errors():
        _setup("database")
    if role is None and tier is None:
        raise typer.BadParameter("give --role and/or --tier")
    if not asyncio.run(update_user(get_settings(), email, role=role and role.value, tier=tier and tier.value)):
        typer.echo(f"no account {email}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{email}: updated")


@app.command()
def jobs(
    queue: str = typer.Option("maintenance", help="Celery queue(s) to consume, comma-separated"),
    beat: bool = typer.Option(False, help="Also run the beat scheduler (one per deployment)"),
) -> None:
    """Run a Celery worker of the background jobs (``/healthz``, ``/metrics`` on BABELROOM_JOBS_METRICS_PORT)."""
    from babelroom.jobs.worker import run_worker

    with _startup_errors():
        _setup()  # Celery retries its broker by itself
    run_worker(get_settings(), queues=queue, beat=beat)


@app.command()
def xtts() -> None:
    """Run the cloned-voice worker: a Celery worker on queue xtts (XTTS-v2 from BABELROOM_MODELS_DIR/xtts-v2,
    loaded before the first job; needs the jobs image or .venv-xtts)."""
    from babelroom.jobs.worker import run_worker
    from babelroom.jobs.xtts import voice
    from babelroom.startup import EX_CONFIG
    from babelroom.voice.xtts import XttsUnavailable

    with _startup_errors():
        _setup()  # Celery retries its broker by itself
        try:
            voice(get_settings())
        except XttsUnavailable as exc:
            raise StartupError(str(exc), EX_CONFIG) from exc
    run_worker(get_settings(), queues="xtts", beat=False)


@app.command()
def media() -> None:
    """Run the media service: Janus's RTP audio forwards in, speech segments on the bus out."""
    from babelroom.media.service import serve

    with _startup_errors():
        _setup()  # Redis: the service retries and reports it in /readyz
        asyncio.run(serve(get_settings()))


@app.command("janus-config")
def janus_config(
    out: Path = typer.Option(..., file_okay=False, help="Folder to write the rendered *.jcfg into"),
    http_port: int = typer.Option(8088, help="Janus HTTP API port"),
    ws_port: int = typer.Option(8188, help="Janus WebSocket API port (0: WebSocket transport off)"),
    rtp_port_range: str = typer.Option(None, callback=_check_port_range, help="RTP/RTCP UDP ports, e.g. 20000-20099"),
    src: Path = typer.Option(None, file_okay=False, help="Configuration to render (default: stack/janus)"),
) -> None:
    """Render the repository's Janus configuration (stack/janus) with this deployment's secrets."""
    from babelroom.sfu.janus_config import REPO_CONFIG, render_from_settings

    config = render_from_settings(get_settings(), out, src=src or REPO_CONFIG, http_port=http_port,
                                  ws_port=ws_port or None, rtp_port_range=rtp_port_range)
    typer.echo(f"janus --configs-folder={config.folder} --config={config.main}")


@app.command()
def demo(
    audio: Path = typer.Option(DEFAULT_CLIP, exists=True, dir_okay=False, help="wav/flac/mp3/ogg"),
    source_lang: str = typer.Option("en", help="Language spoken in the clip (ISO 639-1), or auto: identified"),
    target_lang: str = typer.Option("es", help="Language of the listener (ISO 639-1)"),
    out: Path = typer.Option(Path("out"), help="Where SRT, WebVTT and JSON are written"),
    gateway_url: str = typer.Option(None, help="Use a running gateway instead of a local stack"),
    realtime: bool = typer.Option(True, help="Stream at real-time pace"),
    speak: bool = typer.Option(False, help="Also run babelroom tts, listen in audio mode, write speech.<lang>.wav "
                               "and score it with Whisper base against the captions"),
) -> None:
    """Stream a clip into a room and show the live translated captions."""
    from babelroom.dev.demo import run_demo

    settings = get_settings()
    configure_logging("WARNING", json=True)  # the live table owns the terminal
    raise typer.Exit(
        run_demo(
            audio=audio,
            source_lang=source_lang,
            target_lang=target_lang,
            out_dir=out,
            gateway_url=gateway_url,
            realtime=realtime,
            state_dir=settings.state_dir,
            speak=speak,
            whisper_dir=settings.models_dir / "whisper-base",
        )
    )


@app.command()
def bench(
    speakers: str = typer.Option("1,2,4", callback=_validated(speaker_counts),
                                 help="Concurrent speaker counts, comma-separated (with --find-max: the largest "
                                 "is the search's limit)"),
    audio: Annotated[list[Path] | None, typer.Option(
        exists=True, dir_okay=False, help="Speech clip(s), joined with 0.8 s gaps; repeatable (default: the demo clip)"
    )] = None,
    language: str = typer.Option("en", help="Language spoken in the clips (ISO 639-1)"),
    stt_model: str = typer.Option(None, help="STT model, name or path (default: BABELROOM_STT_MODEL)"),
    seconds: float = typer.Option(60.0, help="Audio per speaker per run (s)"),
    stt_workers: int = typer.Option(2, help="STT worker processes"),
    room_size: int = typer.Option(4, min=1, max=5, help="Speakers per room, rooms added past it (a free-tier room "
                                  "holds 6 participants: 5 speakers and the listener)"),
    find_max: bool = typer.Option(False, help="Search the largest speaker count that holds the p95 limit"),
    p95_limit_ms: float = typer.Option(1500.0, help="Final latency p95 a run must hold (--find-max)"),
    out: Path = typer.Option(Path("bench-out"), help="Where JSON, Markdown and the plot go"),
    speak: bool = typer.Option(False, help="Audio mode: run babelroom tts, listeners with audio=1; adds audio "
                               "latency and final -> audio"),
    tts_backends: str = typer.Option(None, help="With --speak: BABELROOM_TTS_BACKENDS of the stack (kokoro, piper, "
                                     "espeak …; default: the settings' own)"),
) -> None:
    """Measure latency and cost with N concurrent real-time speakers."""
    from babelroom.dev.bench import run_bench

    settings = get_settings()
    configure_logging("WARNING", json=True)
    run_bench(
        speaker_counts=speaker_counts(speakers),
        audios=audio or [DEFAULT_CLIP],
        language=language,
        stt_model=stt_model,
        seconds=seconds,
        stt_workers=stt_workers,
        room_size=room_size,
        find_max=find_max,
        p95_limit_ms=p95_limit_ms,
        out_dir=out,
        state_dir=settings.state_dir,
        speak=speak,
        tts_backends=tts_backends,
    )


def stt_model_map(values: list[str]) -> dict[str | None, str]:
    """``["models/whisper-base", "en=tiny.en"]`` → ``{None: "models/whisper-base", "en": "tiny.en"}``.

    Raises:
        typer.BadParameter: an empty model, or two models for the same language (or for every language).
    """
    models: dict[str | None, str] = {}
    for value in values:
        language, sep, model = value.partition("=")
        key = language.strip() if sep and language.strip().isalpha() else None
        model = (model if key else value).strip()
        if not model or key in models:
            raise typer.BadParameter(f"give MODEL (every language) or LANG=MODEL, once each (got {value!r})")
        models[key] = model
    return models


def language_pairs(value: str | None) -> list[tuple[str, str]] | None:
    """``"en-es,es-en"`` → ``[("en", "es"), ("es", "en")]``; None stays None.

    Raises:
        typer.BadParameter: an item is not two language codes joined by ``-``.
    """
    if value is None:
        return None
    pairs = [tuple(item.strip().split("-")) for item in value.split(",") if item.strip()]
    if not pairs or any(len(p) != 2 or not all(code.isalpha() for code in p) for p in pairs):
        raise typer.BadParameter(f"give pairs such as en-es,es-en (got {value!r})")
    return [(p[0], p[1]) for p in pairs]


@app.command("eval")
def eval_(
    manifests: Annotated[list[Path] | None, typer.Argument(
        dir_okay=False, help="TSV manifests: audio, language, reference[, translation] (babelroom.dev.eval_manifest)"
    )] = None,
    out: Path = typer.Option(Path("eval-out"), help="Where eval.json and eval.md go"),
    stt_model: Annotated[list[str] | None, typer.Option(
        help="STT model (name or path) for every language, or LANG=MODEL for one; repeatable "
        "(default: BABELROOM_STT_MODEL)")] = None,
    speed: float = typer.Option(1.0, min=0.0, help="Streaming pace: 1 real time (latency reported), 2 twice as "
                                "fast, 0 as fast as possible"),
    target_lang: str = typer.Option(None, help="Listener language (default: es for English, else en)"),
    mt_dir: Path = typer.Option(None, file_okay=False, exists=True,
                                help="Line-aligned text sets for text-only MT (e.g. tests/data/mt)"),
    mt_pairs: str = typer.Option(None, help="Text MT pairs, e.g. en-es,es-en (default: every pair of mt-dir)"),
    mt_lines: int = typer.Option(None, min=1, help="Score only the first N lines of each text set"),
    leads_ms: str = typer.Option(
        "0", callback=_validated(leads), help="Silence before each clip (ms), comma-separated: each clip runs once per "
        "lead, streamed and offline, and the figures pool the runs (e.g. 0,110,220)"),
    mt_every_route: bool = typer.Option(False, "--mt-every-route", help="Score each route of a text MT pair "
                                        "(direct and pivots), not only its best (babelroom.mt.routes.MEASURED)"),
    diarization: bool = typer.Option(False, "--diarization", help="Score speaker diarization (DER) of --audio "
                                     "against --rttm instead (babelroom.dev.eval_diarization)"),
    audio: Path = typer.Option(None, exists=True, dir_okay=False, help="--diarization: mono 16 kHz recording"),
    rttm: Path = typer.Option(None, exists=True, dir_okay=False, help="--diarization: its reference RTTM"),
    context: Path = typer.Option(None, "--context", exists=True, dir_okay=False,
                                 help="Term recall and WER of clips without and with their room document, from this "
                                 "TSV (e.g. tests/data/context/terms.tsv; babelroom.dev.eval_context)"),
) -> None:
    """Streaming and offline WER, sentence finals, latency and chrF/BLEU per language; text MT per pair; DER;
    document context's term recall."""
    from babelroom.dev.eval import run_eval
    from babelroom.dev.eval_manifest import ManifestError

    if diarization:
        _eval_diarization(audio, rttm, out)
        return
    if context is not None:
        _eval_context(context, out)
        return
    models, pairs = stt_model_map(stt_model or []), language_pairs(mt_pairs)
    if not manifests and mt_dir is None:
        raise typer.BadParameter("give a manifest, --mt-dir, or both")
    settings = get_settings()
    configure_logging("WARNING", json=True)
    try:
        run_eval(manifests=manifests or [], out_dir=out, settings=settings, stt_models=models, target=target_lang,
                 speed=speed, mt_dir=mt_dir, mt_pairs=pairs, mt_lines=mt_lines,
                 mt_every_route=mt_every_route, leads_ms=leads(leads_ms))
    except (ManifestError, ValueError) as exc:
        typer.echo(f"babelroom eval: {exc}", err=True)
        raise typer.Exit(2) from None


def _eval_diarization(audio: Path | None, rttm: Path | None, out: Path) -> None:
    """``babelroom eval --diarization``: DER of the configured diarizer (babelroom.dev.eval_diarization)."""
    from babelroom.dev.eval_diarization import run_diarization_eval

    if audio is None or rttm is None:
        raise typer.BadParameter("--diarization needs --audio and --rttm")
    configure_logging("WARNING", json=True)
    try:
        report = run_diarization_eval(audio, rttm, out, get_settings())
    except ValueError as exc:
        typer.echo(f"babelroom eval: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo((out / "diarization.md").read_text())
    typer.echo(f"backend {report['backend']}; wrote {out / 'diarization.json'}")


def _eval_context(manifest: Path, out: Path) -> None:
    """``babelroom eval --context``: term recall with and without documents (babelroom.dev.eval_context)."""
    from babelroom.dev.eval_context import run_context_eval

    configure_logging("WARNING", json=True)
    try:
        run_context_eval(manifest, out, get_settings())
    except ValueError as exc:
        typer.echo(f"babelroom eval: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo((out / "context.md").read_text())


@app.command()
def chaos(
    audio: Path = typer.Option(DEFAULT_CLIP, exists=True, dir_okay=False, help="Speech streamed in each scenario"),
    out: Path = typer.Option(Path("chaos-out"), help="Where chaos.json and chaos.md go"),
    only: str = typer.Option(None, help="Run only these scenarios (comma-separated names)"),
) -> None:
    """Break parts of the local stack while real speech streams; report lost finals and recovery."""
    from babelroom.dev.chaos import run_chaos

    settings = get_settings()
    configure_logging("WARNING", json=True)
    names = [n.strip() for n in only.split(",") if n.strip()] if only else None
    raise typer.Exit(run_chaos(audio=audio, out_dir=out, state_dir=settings.state_dir, only=names))


@app.command()
def soak(
    minutes: float = typer.Option(30.0, help="How long the speakers talk (min)"),
    speakers: int = typer.Option(4, min=1, help="Concurrent speakers through the one gateway"),
    audio: Path = typer.Option(DEFAULT_CLIP, exists=True, dir_okay=False, help="Clip each speaker loops"),
    out: Path = typer.Option(Path("soak-out"), help="Where soak.json and soak.md go"),
) -> None:
    """Run speakers for a long time; report RSS and open file descriptors growth per process."""
    from babelroom.dev.soak import run_soak

    settings = get_settings()
    configure_logging("WARNING", json=True)
    raise typer.Exit(run_soak(minutes=minutes, speakers=speakers, audio=audio, out_dir=out,
                              state_dir=settings.state_dir))


@app.command()
def openapi(
    out: Annotated[Path, typer.Option(dir_okay=False, help="Where the gateway's OpenAPI document goes")],
    messages_out: Annotated[
        Path | None, typer.Option(dir_okay=False, help="Where the socket messages' schemas go")
    ] = None,
) -> None:
    """Write the API's OpenAPI document (and the caption socket's message schemas) as stable JSON."""
    from babelroom.gateway.schema_export import openapi_document, render, socket_messages_document

    out.write_text(render(openapi_document()), encoding="utf-8")
    if messages_out is not None:
        messages_out.write_text(render(socket_messages_document()), encoding="utf-8")


if __name__ == "__main__":
    app()
