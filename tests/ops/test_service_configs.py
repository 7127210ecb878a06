"""The configuration files the stack mounts, run by the real programs: Janus, redis-server, the backup
script (with a stand-in pg_dump) and the image's healthcheck."""

from __future__ import annotations

import http.server
import importlib.util
import os
import subprocess
import threading
from pathlib import Path

import opschecks
import pytest


def test_janus_loads_only_videoroom_and_http_websocket_transports(janus_binary):
    result = opschecks.check_janus_config()
    assert result.ok, result.output
    assert list(result.data["plugins"]) == ["janus.plugin.videoroom"]
    assert sorted(result.data["transports"]) == ["janus.transport.http", "janus.transport.websockets"]


def test_redis_config_runs_with_aof_volatile_lru_and_stream_limits(redis_binary):
    result = opschecks.check_redis_config()
    assert result.ok, result.output
    problems = opschecks.redis_policy_problems(result.data)
    assert not problems, f"{problems}\n{result.data}"
    assert result.data["maxmemory-policy"] == "volatile-lru"  # only TTL'd keys are evictable, never a stream


def _fake_bin(tmp_path: Path, exit_code: int = 0) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pg_dump"
    # Writes the file named after -f, like pg_dump -Fc -f FILE would.
    fake.write_text(
        "#!/bin/sh\n"
        'while [ $# -gt 0 ]; do if [ "$1" = -f ]; then out="$2"; fi; shift; done\n'
        f'[ {exit_code} -eq 0 ] && echo "dump of $PGDATABASE as $PGUSER with $PGPASSWORD" > "$out"\n'
        f"exit {exit_code}\n"
    )
    fake.chmod(0o755)
    return bin_dir


def _run_backup(tmp_path: Path, bin_dir: Path, keep: int = 7) -> subprocess.CompletedProcess[str]:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "BACKUP_DIR": str(tmp_path / "backups"),
           "BACKUP_KEEP": str(keep), "PGDATABASE": "babelroom", "PGUSER": "babelroom",
           "PGPASSWORD_FILE": str(secret)}
    return subprocess.run(["sh", str(opschecks.BACKUP_SCRIPT), "once"], env=env, capture_output=True, text=True,
                          check=False)


def test_backup_script_passes_shellcheck():
    result = opschecks.check_shell()
    assert result.ok, result.output


def test_backup_keeps_the_newest_seven(tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    for day in range(1, 10):  # nine older dumps
        (backups / f"babelroom-2026-01-0{day}T030000Z.dump").write_text("old")
    proc = _run_backup(tmp_path, _fake_bin(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    kept = sorted(p.name for p in backups.glob("*.dump"))
    assert len(kept) == 7
    assert kept[:6] == [f"babelroom-2026-01-0{d}T030000Z.dump" for d in range(4, 10)]
    newest = backups / kept[-1]
    assert newest.read_text().strip() == "dump of babelroom as babelroom with s3cret"
    assert not list(backups.glob("*.partial"))


def test_failed_dump_leaves_no_partial_file_and_fails(tmp_path):
    proc = _run_backup(tmp_path, _fake_bin(tmp_path, exit_code=1))
    assert proc.returncode != 0
    assert "pg_dump failed" in proc.stdout
    assert not list((tmp_path / "backups").iterdir())


def _load_healthcheck():
    spec = importlib.util.spec_from_file_location("healthcheck", opschecks.ROOT / "docker" / "healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_healthcheck_infers_the_port_from_the_command_line():
    hc = _load_healthcheck()
    assert hc.default_url(["/opt/venv/bin/python", "/opt/venv/bin/babelroom", "stt"], {}) == "http://127.0.0.1:9101/healthz"
    assert hc.default_url(["babelroom", "gateway"], {"BABELROOM_GATEWAY_PORT": "8080"}) == "http://127.0.0.1:8080/healthz"
    with pytest.raises(SystemExit):
        hc.default_url(["babelroom", "--help"], {})


def test_healthcheck_against_a_local_server():
    hc = _load_healthcheck()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/healthz" else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        assert hc.main([f"http://127.0.0.1:{port}/healthz"]) == 0
        assert hc.main([f"http://127.0.0.1:{port}/readyz"]) == 1
    finally:
        server.shutdown()
    assert hc.main([f"http://127.0.0.1:{opschecks.free_port()}/healthz"]) == 1
