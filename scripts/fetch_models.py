#!/usr/bin/env python3
"""Fetch every model Babelroom runs into MODELS_DIR (``make models``). Needs internet access.

Run it on a machine that reaches the Hugging Face hub, then copy MODELS_DIR to each node's
``MODELS_HOST_DIR`` (docs/deploy.md). What it writes, one directory per model:

=================================  ===========================================  ====================
directory                          from                                         licence
=================================  ===========================================  ====================
faster-whisper-small               Systran/faster-whisper-small (CTranslate2)   MIT
nllb-200-distilled-600M-int8       facebook/nllb-200-distilled-600M, converted  CC-BY-NC-4.0
                                   with ct2-transformers-converter, int8
xtts-v2                            coqui/XTTS-v2                                CPML (non-commercial)
pyannote-speaker-diarization-3.1   pyannote/speaker-diarization-3.1 + its       MIT (+ CC-BY-4.0)
                                   segmentation-3.0 and wespeaker models
=================================  ===========================================  ====================

The pyannote models are gated: accept their conditions on the hub with your account, then pass a
token in the environment variable named by ``--hf-token-env`` (default ``HF_TOKEN``).
Licences are printed at the end and written to ``MODELS_DIR/LICENSES.md``.

Examples::

    python scripts/fetch_models.py --models-dir /srv/babelroom/models
    python scripts/fetch_models.py --only faster-whisper-small --only nllb-200-distilled-600M-int8
    python scripts/fetch_models.py --dry-run          # print the plan, fetch nothing
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ENDPOINT = "https://huggingface.co"
COMPLETE_MARKER = ".complete.json"


@dataclass(frozen=True)
class Source:
    """One hub repository and the files taken from it."""

    repo_id: str
    allow_patterns: tuple[str, ...]
    licence: str
    licence_url: str
    gated: bool = False
    subdir: str = ""  # where under the model's directory its files go ("" = the directory itself)


@dataclass(frozen=True)
class ModelSpec:
    name: str  # the output directory under MODELS_DIR, exactly what the services look for
    purpose: str
    sources: tuple[Source, ...]
    method: str  # "snapshot", "ct2-nllb" or "pyannote"
    required_files: tuple[str, ...]
    notes: str = ""

    @property
    def needs_token(self) -> bool:
        return any(s.gated for s in self.sources)


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="faster-whisper-small",
        purpose="speech-to-text (STT workers)",
        sources=(
            Source(
                "Systran/faster-whisper-small",
                ("config.json", "model.bin", "tokenizer.json", "vocabulary.*", "preprocessor_config.json"),
                "MIT",
                "https://huggingface.co/Systran/faster-whisper-small",
            ),
        ),
        method="snapshot",
        required_files=("model.bin", "config.json", "tokenizer.json"),
        notes="OpenAI Whisper small, converted to CTranslate2 by Systran; loaded with compute_type int8.",
    ),
    ModelSpec(
        name="nllb-200-distilled-600M-int8",
        purpose="translation (MT workers, backend nllb)",
        sources=(
            Source(
                "facebook/nllb-200-distilled-600M",
                (),
                "CC-BY-NC-4.0",
                "https://huggingface.co/facebook/nllb-200-distilled-600M",
            ),
        ),
        method="ct2-nllb",
        required_files=("model.bin", "sentencepiece.bpe.model", "shared_vocabulary.json"),
        notes="NON-COMMERCIAL licence. Without it, MT falls back to apertium (GPL, Debian package).",
    ),
    ModelSpec(
        name="xtts-v2",
        purpose="voice cloning (xtts jobs worker)",
        sources=(
            Source(
                "coqui/XTTS-v2",
                ("config.json", "model.pth", "vocab.json", "speakers_xtts.pth", "dvae.pth", "mel_stats.pth",
                 "LICENSE.txt"),
                "CPML-1.0 (Coqui Public Model License)",
                "https://coqui.ai/cpml",
            ),
        ),
        method="snapshot",
        required_files=("config.json", "model.pth", "vocab.json"),
        notes="NON-COMMERCIAL licence (CPML): outputs may not be used commercially.",
    ),
    ModelSpec(
        name="pyannote-speaker-diarization-3.1",
        purpose="speaker diarization (diarization jobs worker)",
        sources=(
            Source(
                "pyannote/speaker-diarization-3.1",
                ("config.yaml",),
                "MIT",
                "https://huggingface.co/pyannote/speaker-diarization-3.1",
                gated=True,
            ),
            Source(
                "pyannote/segmentation-3.0",
                ("config.yaml", "pytorch_model.bin"),
                "MIT",
                "https://huggingface.co/pyannote/segmentation-3.0",
                gated=True,
                subdir="segmentation-3.0",
            ),
            Source(
                "pyannote/wespeaker-voxceleb-resnet34-LM",
                ("config.yaml", "pytorch_model.bin"),
                "CC-BY-4.0",
                "https://huggingface.co/pyannote/wespeaker-voxceleb-resnet34-LM",
                subdir="wespeaker-voxceleb-resnet34-LM",
            ),
        ),
        method="pyannote",
        required_files=("config.yaml", "segmentation-3.0/pytorch_model.bin",
                        "wespeaker-voxceleb-resnet34-LM/pytorch_model.bin"),
        notes="Gated on the hub: accept the conditions of speaker-diarization-3.1 and segmentation-3.0. "
        "config.yaml is rewritten to point at the local segmentation and embedding checkpoints.",
    ),
)

BY_NAME = {m.name: m for m in MODELS}


class PlanError(ValueError):
    """The request cannot be carried out as given (unknown model, missing token or tool)."""


class HubUnreachable(RuntimeError):
    """The hub did not answer: no internet here, or a mirror is down."""


@dataclass
class Plan:
    models_dir: Path
    runtime_dir: str
    fetch: list[ModelSpec] = field(default_factory=list)
    skip: list[ModelSpec] = field(default_factory=list)  # already complete
    token: str | None = None
    problems: list[str] = field(default_factory=list)  # what stops the fetch (reported by --dry-run)
    converter: str | None = None


def is_complete(target: Path, spec: ModelSpec) -> bool:
    """Whether ``target`` holds a finished fetch of ``spec`` (marker written last, files present)."""
    return (target / COMPLETE_MARKER).is_file() and all((target / f).exists() for f in spec.required_files)


def find_converter(which=shutil.which) -> str | None:
    """``ct2-transformers-converter`` on PATH, or beside this Python (a venv not on PATH)."""
    found = which("ct2-transformers-converter")
    if found:
        return found
    beside = Path(sys.executable).parent / "ct2-transformers-converter"
    return str(beside) if beside.is_file() else None


def build_plan(
    models_dir: Path,
    only: Sequence[str] = (),
    force: bool = False,
    runtime_dir: str = "/models",
    token_env: str = "HF_TOKEN",
    environ: Mapping[str, str] | None = None,
    which=shutil.which,
) -> Plan:
    """What to fetch, and what would stop it, decided before anything is downloaded.

    Raises:
        PlanError: an unknown name in ``only``.
    """
    environ = os.environ if environ is None else environ
    unknown = [n for n in only if n not in BY_NAME]
    if unknown:
        raise PlanError(f"unknown model {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    wanted = [m for m in MODELS if not only or m.name in only]
    plan = Plan(models_dir=models_dir, runtime_dir=runtime_dir.rstrip("/") or "/")
    for spec in wanted:
        (plan.skip if not force and is_complete(models_dir / spec.name, spec) else plan.fetch).append(spec)
    if any(m.needs_token for m in plan.fetch):
        plan.token = environ.get(token_env) or None
        if not plan.token:
            gated = sorted({s.repo_id for m in plan.fetch for s in m.sources if s.gated})
            plan.problems.append(
                f"the pyannote models are gated: set ${token_env} to a Hugging Face access token of an "
                f"account that accepted the conditions of {', '.join(gated)} "
                f"(or leave them out with --only)"
            )
    if any(m.method == "ct2-nllb" for m in plan.fetch):
        plan.converter = find_converter(which)
        if not plan.converter:
            plan.problems.append(
                "ct2-transformers-converter not found: install ctranslate2, transformers and a CPU torch "
                "first (pip install -e 'services[models]')"
            )
    return plan


def rewrite_pyannote_config(text: str, model_dir_at_runtime: str) -> str:
    """Point the pipeline's ``segmentation`` and ``embedding`` at the local checkpoints.

    The hub's config names other hub repositories (``pyannote/segmentation-3.0`` …); at run time the
    services are offline, so they must be paths as the containers see them.
    """
    import yaml

    config = yaml.safe_load(text)
    params = config["pipeline"]["params"]
    params["segmentation"] = f"{model_dir_at_runtime}/segmentation-3.0/pytorch_model.bin"
    params["embedding"] = f"{model_dir_at_runtime}/wespeaker-voxceleb-resnet34-LM/pytorch_model.bin"
    return yaml.safe_dump(config, sort_keys=False)


def licences_markdown(specs: Sequence[ModelSpec], fetched_at: str) -> str:
    lines = [
        "# Model licences",
        "",
        f"Written by scripts/fetch_models.py on {fetched_at}. Each model keeps its own licence; read it",
        "before you deploy. NLLB-200 and XTTS-v2 are **non-commercial**.",
        "",
        "| directory | used for | source | licence |",
        "| --- | --- | --- | --- |",
    ]
    for spec in specs:
        for src in spec.sources:
            where = f"{spec.name}/{src.subdir}" if src.subdir else spec.name
            lines.append(f"| `{where}` | {spec.purpose} | [{src.repo_id}]({src.licence_url}) | {src.licence} |")
    lines.append("")
    for spec in specs:
        if spec.notes:
            lines.append(f"- **{spec.name}**: {spec.notes}")
    return "\n".join(lines) + "\n"


def check_hub(endpoint: str, timeout_s: float = 10.0) -> None:
    """Fail fast, with a clear message, when the hub cannot be reached.

    Raises:
        HubUnreachable: no answer, or a server error.
    """
    import httpx

    url = f"{endpoint.rstrip('/')}/api/models/{MODELS[0].sources[0].repo_id}"
    try:
        resp = httpx.get(url, timeout=timeout_s, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise HubUnreachable(
            f"cannot reach the Hugging Face hub at {endpoint} ({type(exc).__name__}: {exc}).\n"
            "`make models` downloads several GB: run it on a machine with internet access, then copy the\n"
            "models directory to MODELS_HOST_DIR on every node (docs/deploy.md, 'Models').\n"
            "Behind a mirror, set HF_ENDPOINT."
        ) from None
    if resp.status_code >= 500:
        raise HubUnreachable(f"the hub at {endpoint} answers HTTP {resp.status_code}; try again later")


def _hub_licence(repo_id: str, token: str | None) -> str | None:
    from huggingface_hub import HfApi

    try:
        info = HfApi().model_info(repo_id, token=token)
    except Exception:  # noqa: BLE001 - informative only
        return None
    card = getattr(info, "card_data", None) or getattr(info, "cardData", None)
    licence = card.get("license") if card is not None and hasattr(card, "get") else None
    return str(licence) if licence else None


def _snapshot(src: Source, dest: Path, token: str | None) -> str:
    from huggingface_hub import snapshot_download

    dest.mkdir(parents=True, exist_ok=True)
    snapshot_download(
        repo_id=src.repo_id,
        allow_patterns=list(src.allow_patterns) or None,
        local_dir=str(dest),
        token=token,
    )
    return src.repo_id


def _fetch_one(spec: ModelSpec, plan: Plan, index: int, total: int) -> None:
    final = plan.models_dir / spec.name
    print(f"\n[{index}/{total}] {spec.name}  <-  {', '.join(s.repo_id for s in spec.sources)}", flush=True)
    print(f"       for {spec.purpose}; licence {', '.join(sorted({s.licence for s in spec.sources}))}", flush=True)
    for src in spec.sources:
        declared = _hub_licence(src.repo_id, plan.token)
        if declared and declared.lower() not in src.licence.lower():
            print(f"       note: the hub now declares {src.repo_id} as {declared!r}", flush=True)
    work = Path(tempfile.mkdtemp(prefix=f".{spec.name}.", dir=plan.models_dir))
    try:
        if spec.method == "snapshot":
            _snapshot(spec.sources[0], work, plan.token)
        elif spec.method == "ct2-nllb":
            out = work / "out"
            cmd = [
                plan.converter or "ct2-transformers-converter",
                "--model", spec.sources[0].repo_id,
                "--quantization", "int8",
                "--output_dir", str(out),
                "--copy_files", "sentencepiece.bpe.model", "tokenizer.json", "tokenizer_config.json",
                "special_tokens_map.json",
            ]
            print("       $ " + " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True)
            for item in out.iterdir():
                item.rename(work / item.name)
            out.rmdir()
        elif spec.method == "pyannote":
            for src in spec.sources:
                _snapshot(src, work / src.subdir if src.subdir else work, plan.token)
            config = work / "config.yaml"
            config.write_text(rewrite_pyannote_config(config.read_text(), f"{plan.runtime_dir}/{spec.name}"))
        else:  # pragma: no cover - a spec's method is one of the above
            raise ValueError(spec.method)
        missing = [f for f in spec.required_files if not (work / f).exists()]
        if missing:
            raise RuntimeError(f"{spec.name}: expected files missing after the fetch: {', '.join(missing)}")
        shutil.rmtree(work / ".cache", ignore_errors=True)  # huggingface_hub's download bookkeeping
        (work / COMPLETE_MARKER).write_text(json.dumps({
            "sources": [s.repo_id for s in spec.sources],
            "licences": [s.licence for s in spec.sources],
            "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }, indent=2) + "\n")
        if final.exists():
            shutil.rmtree(final)
        work.rename(final)
        print(f"       done: {final}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models-dir", type=Path, default=Path(os.environ.get("MODELS_DIR", "models")),
                   help="where the model directories go (default: $MODELS_DIR or ./models)")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help=f"fetch only this model (repeatable): {', '.join(BY_NAME)}")
    p.add_argument("--force", action="store_true", help="fetch again even when a model is complete")
    p.add_argument("--runtime-dir", default="/models",
                   help="where the containers mount MODELS_DIR (used in pyannote's config.yaml)")
    p.add_argument("--hf-token-env", default="HF_TOKEN", help="environment variable holding the hub token")
    p.add_argument("--endpoint", default=os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT),
                   help="hub URL (default: $HF_ENDPOINT or the public hub)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and the licences, fetch nothing")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Exit codes: 0 done (or dry run), 2 the plan cannot run or the hub is unreachable, 1 a fetch failed."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        plan = build_plan(args.models_dir, args.only, args.force, args.runtime_dir, args.hf_token_env)
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Models directory: {plan.models_dir.resolve()}")
    for spec in plan.skip:
        print(f"  complete, skipped: {spec.name} (--force to fetch again)")
    for spec in plan.fetch:
        print(f"  to fetch:          {spec.name}  <-  {', '.join(s.repo_id for s in spec.sources)}")
    for problem in plan.problems:
        print(f"{'would fail' if args.dry_run else 'error'}: {problem}", file=sys.stderr)
    if plan.problems and not args.dry_run:
        return 2
    chosen = [m for m in MODELS if m in plan.fetch or m in plan.skip]
    if not args.dry_run and plan.fetch:
        os.environ["HF_ENDPOINT"] = args.endpoint
        try:
            check_hub(args.endpoint)
        except HubUnreachable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        plan.models_dir.mkdir(parents=True, exist_ok=True)
        for i, spec in enumerate(plan.fetch, 1):
            try:
                _fetch_one(spec, plan, i, len(plan.fetch))
            except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
                print(f"error: {spec.name}: {exc}", file=sys.stderr)
                return 1
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    text = licences_markdown(chosen, now)
    print("\n" + text)
    if not args.dry_run:
        plan.models_dir.mkdir(parents=True, exist_ok=True)
        (plan.models_dir / "LICENSES.md").write_text(text)
        print(f"Licences written to {plan.models_dir / 'LICENSES.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
