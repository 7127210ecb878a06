"""`babelroom demo` with a Spanish speaker, told (``--source-lang es``) or identified (``--source-lang auto``):
Spanish finals heard by Whisper base, English captions by the route table's es→en route, nothing downloaded."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from babelroom.config import Settings
from babelroom.mt.factory import installed_capabilities
from babelroom.mt.routes import RouteTable

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "tests" / "data" / "speech-multi" / "es_picovoice-leopard_test_es.wav"  # see its ATTRIBUTION.md


@pytest.mark.parametrize("source_lang", ["es", "auto"])
def test_demo_with_a_spanish_speaker(tmp_path, project_state_dir, source_lang):
    out = tmp_path / "out"
    state = project_state_dir(f"demo-{source_lang}")
    result = subprocess.run(
        [sys.executable, "-m", "babelroom.cli", "demo", "--no-realtime", "--audio", str(CLIP),
         "--source-lang", source_lang, "--target-lang", "en", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "BABELROOM_STATE_DIR": str(state), "HOME": str(tmp_path),
             "HF_HUB_OFFLINE": "1",  # no download
             **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}},  # a worktree's own code
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    finals = [c for c in json.loads((out / "captions.json").read_text()) if c["type"] == "final"]
    assert finals
    assert all(c["language"] == "es" and c["language_detected"] == (source_lang == "auto") for c in finals)
    spanish = " ".join(c["text"] for c in finals).lower()
    english = " ".join(c["translation"]["text"] for c in finals).lower()
    assert "arenas" in spanish and "grano" in spanish
    # Apertium, or through Portuguese to Bergamot when `models install --offline` put Bergamot there.
    route = RouteTable(installed_capabilities(Settings())).best("es", "en")
    assert route is not None and route.name in ("apertium", "apertium>pt>bergamot")
    assert all(c["translation"]["language"] == "en" and c["translation"]["backend"] == route.name for c in finals)
    assert "sands" in english
    printed = " ".join(result.stdout.split())
    assert ("es (detected) las arenas" if source_lang == "auto" else "es las arenas") in printed.lower()
