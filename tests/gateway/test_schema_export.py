"""The web app's committed API schemas match the code: ``frontend/openapi.json`` is the gateway's OpenAPI
document and ``frontend/socket-messages.json`` the caption socket's messages, as ``babelroom openapi``
(``make api-types``) writes them. A route, model or message changed without regenerating fails here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from babelroom.cli import app
from babelroom.gateway.schema_export import render

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
FILES = ("openapi.json", "socket-messages.json")


def _changed(committed: str, current: str) -> list[str]:
    """Top-level entries, paths and component schemas that differ between two documents."""
    old, new = json.loads(committed), json.loads(current)
    changed = [key for key in sorted(old.keys() | new.keys()) if key not in ("paths", "components")
               and old.get(key) != new.get(key)]
    for section, a, b in (
        ("paths", old.get("paths", {}), new.get("paths", {})),
        ("schemas", old.get("components", {}).get("schemas", {}), new.get("components", {}).get("schemas", {})),
    ):
        changed += [f"{section}[{key}]" for key in sorted(a.keys() | b.keys()) if a.get(key) != b.get(key)]
    return changed


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files ``babelroom openapi`` writes now (no database or Redis: the app's lifespan does not run)."""
    out = tmp_path_factory.mktemp("api")
    result = CliRunner().invoke(
        app, ["openapi", "--out", str(out / FILES[0]), "--messages-out", str(out / FILES[1])]
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("name", FILES)
def test_committed_schema_matches_the_code(exported: Path, name: str) -> None:
    committed = (FRONTEND / name).read_text(encoding="utf-8")
    current = (exported / name).read_text(encoding="utf-8")
    if committed != current:
        pytest.fail(
            f"frontend/{name} is stale ({', '.join(_changed(committed, current)) or 'formatting'}): "
            "run `make api-types` and commit frontend/*.json and frontend/src/api/*.d.ts",
            pytrace=False,
        )


def test_export_is_stable(exported: Path) -> None:
    """Rendering twice gives the same text, and sorted keys: a regeneration without a change is no diff."""
    text = (exported / FILES[0]).read_text(encoding="utf-8")
    document = json.loads(text)
    assert render(document) == text
    assert list(document) == sorted(document)
    assert list(document["paths"]) == sorted(document["paths"])
