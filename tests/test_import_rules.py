"""The import rules of docs/ARCHITECTURE.md ("Import rules"), checked on every module of
``services/babelroom`` by parsing its imports with ``ast`` (nothing is imported to check)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "services" / "babelroom"

WORKERS = {"stt", "mt", "tts", "media", "persist", "jobs"}
#: Shared pieces below the rooms and the API: the pipeline and the platform's building blocks.
FOUNDATIONS = {"config", "logs", "metrics", "languages", "accounts", "ops_http", "runner", "ingest", "audio", "bus",
               "captions", "db", "auth", "capacity", "tiers", "startup", "models", "voice", "diarization", "chains",
               "context"}
CONTROL = {"rooms", "api", "gateway"}

#: unit → the units it must not import (a unit is ``babelroom.<unit>``: a subpackage or a module).
FORBIDDEN: dict[str, set[str]] = {
    **{unit: CONTROL | WORKERS | {"sfu", "dev", "cli", "autoscaler"} for unit in FOUNDATIONS},
    **{unit: CONTROL | {"dev", "cli"} for unit in WORKERS | {"sfu"}},
    "rooms": {"api", "gateway", "dev", "cli"},
    "api": {"gateway", "dev", "cli"},
    "gateway": {"dev", "cli"},
    "dev": CONTROL | {"cli"},
    "autoscaler": CONTROL | WORKERS | FOUNDATIONS - {"logs", "metrics"} | {"sfu", "dev", "cli"},
}


def unit_of(module: str) -> str:
    """``babelroom.api.errors`` → ``api``; ``babelroom`` → ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports(module: str, source: str, is_package: bool = False) -> list[tuple[str, int, bool]]:
    """``(imported babelroom module, line, lazy)`` for each import of ``source``; lazy: inside a
    function. Relative imports are resolved against ``module``."""
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, lazy) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = module.split(".")[: len(module.split(".")) - child.level + (1 if is_package else 0)]
                    base = ".".join(anchor + ([base] if base else []))
                found.extend((f"{base}.{a.name}", child.lineno, lazy) for a in child.names)
            visit(child, inner)

    visit(ast.parse(source), False)
    return [(name, line, lazy) for name, line, lazy in found if name.split(".")[0] == "babelroom"]


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """Every import of ``source`` (the module ``module``) that breaks a rule, described."""
    unit, out = unit_of(module), []
    for target, line, lazy in imports(module, source, is_package):
        other = unit_of(target)
        if other == unit:
            continue
        if other in FORBIDDEN.get(unit, set()):
            out.append(f"{module}:{line} imports {target} ({unit} must not import {other})")
        elif other == "dev" and not (unit == "cli" and lazy):
            out.append(f"{module}:{line} imports {target} (only babelroom.dev and cli.py's commands, lazily, may)")
        elif other == "cli":
            out.append(f"{module}:{line} imports {target} (nothing imports the CLI)")
        elif other == "gateway" and unit != "cli":
            out.append(f"{module}:{line} imports {target} (only the CLI starts the gateway)")
    return out


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return out


def test_every_module_keeps_the_import_rules():
    found = [v for module, path in modules() for v in violations(module, path.read_text(), path.stem == "__init__")]
    assert not found, "\n".join(found)


def test_every_unit_has_rules():
    units = {unit_of(module) for module, _ in modules()} - {""}
    assert units - set(FORBIDDEN) == {"cli"}


@pytest.mark.parametrize(("module", "source", "broken"), [
    ("babelroom.stt.worker", "from babelroom.rooms.manager import RoomManager", True),
    ("babelroom.mt.worker", "import babelroom.api.errors", True),
    ("babelroom.rooms.manager", "from babelroom.api.errors import ApiError", True),
    ("babelroom.persist", "from babelroom import gateway", True),
    ("babelroom.api.rooms", "from babelroom.dev.client import ApiClient", True),
    ("babelroom.cli", "from babelroom.dev.bench import run_bench", True),
    ("babelroom.cli", "def bench():\n    from babelroom.dev.bench import run_bench", False),
    ("babelroom.autoscaler.cli", "from .engine import Autoscaler\nfrom babelroom.logs import configure_logging", False),
    ("babelroom.autoscaler.cli", "from ..rooms import manager", True),
    ("babelroom.api.rooms", "from babelroom.rooms.manager import RoomManager", False),
])
def test_the_checker_catches_what_it_should(module, source, broken):
    assert bool(violations(module, source)) == broken
