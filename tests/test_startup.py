"""Start-up as an operator sees it: the real ``babelroom`` CLI in a subprocess refuses unsafe secrets in
production (exit 78), and the gateway and ``migrate`` give up on an unreachable Redis or database after
``startup_wait_s`` with one readable line (exit 69), never a traceback. (The workers start without
Redis and retry: tests/test_runner_recovery.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from tests.conftest import ROOT

from babelroom.config import Settings
from babelroom.dev.devstack import free_port
from babelroom.startup import EX_CONFIG, EX_UNAVAILABLE, redacted, secret_problems

STRONG = "k" * 32


def babelroom(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``babelroom ARGS`` from this tree with ``env`` (BABELROOM_ names) on top of a clean environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("BABELROOM_")}
    base["PYTHONPATH"] = str(ROOT / "services")
    return subprocess.run([sys.executable, "-m", "babelroom.cli", *args], env={**base, **env}, capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The stderr of a refused start-up: exactly one short line, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr and len(lines[0]) < 400, result.stderr
    return lines[0]


def test_production_refuses_the_default_jwt_secret_with_exit_78():
    result = babelroom("gateway", BABELROOM_ENVIRONMENT="production", BABELROOM_REDIS_URL="redis://127.0.0.1:1/0")
    assert result.returncode == EX_CONFIG
    assert "BABELROOM_JWT_SECRET is a default or shorter than 32 bytes" in one_line(result)


def test_workers_need_no_jwt_secret(redis_url):
    """The stack gives the JWT secret to the gateway only: an STT worker with the default must not stop
    for it (it stops further on, at the missing model, which proves it got past the secrets)."""
    result = babelroom("stt", BABELROOM_ENVIRONMENT="production", BABELROOM_REDIS_URL=redis_url,
                       BABELROOM_MODELS_DIR="/nonexistent")
    assert result.returncode == EX_CONFIG and "STT model auto (small, base) for 'es' missing" in one_line(result)


def test_production_refuses_short_secrets_and_default_passwords_naming_each(tmp_path):
    secret_file = tmp_path / "jwt_secret"
    secret_file.write_text("short-but-not-default\n")
    result = babelroom("gateway", BABELROOM_ENVIRONMENT="production", BABELROOM_JWT_SECRET_FILE=str(secret_file),
                       BABELROOM_DATABASE_URL="postgresql+asyncpg://babelroom:postgres@127.0.0.1:1/babelroom",
                       BABELROOM_JANUS_ENABLED="true")
    assert result.returncode == EX_CONFIG
    line = one_line(result)
    for problem in ("BABELROOM_JWT_SECRET ", "BABELROOM_DATABASE_URL has a default password",
                    "BABELROOM_JANUS_ADMIN_KEY is unset"):
        assert problem in line
    assert "postgres@" not in line  # the password itself is not printed


def test_secret_rules():
    assert secret_problems(Settings()) == []  # development: the default key is fine (the local stack)
    prod = Settings(environment="production", jwt_secret=STRONG)
    assert secret_problems(prod) == []
    assert secret_problems(Settings(environment="production"), tokens=False) == []  # a worker
    assert secret_problems(prod.model_copy(update={"jwt_retired_keys": "k0:dev-only-change-me"}))
    assert secret_problems(prod.model_copy(update={"janus_enabled": True, "janus_admin_key": "supersecret"}))
    assert not secret_problems(prod.model_copy(update={"janus_enabled": True, "janus_admin_key": STRONG}))
    assert redacted("redis://:hunter2@redis:6379/0") == "redis://:***@redis:6379/0"


@pytest.mark.parametrize(("command", "env"), [
    ("gateway", "BABELROOM_REDIS_URL"),
    ("migrate", "BABELROOM_DATABASE_URL"),
])
def test_an_unreachable_dependency_is_one_line_and_exit_69_after_the_bounded_wait(command, env):
    port = free_port()
    url = (f"redis://:pw@127.0.0.1:{port}/0" if env == "BABELROOM_REDIS_URL"
           else f"postgresql+asyncpg://u:pw@127.0.0.1:{port}/db")
    started = time.monotonic()
    result = babelroom(command, **{env: url, "BABELROOM_STARTUP_WAIT_S": "2"})
    elapsed = time.monotonic() - started
    assert result.returncode == EX_UNAVAILABLE, result.stderr[-2000:]
    line = one_line(result)
    assert line.startswith("babelroom: cannot reach ") and f"127.0.0.1:{port}" in line and ":pw@" not in line
    print(f"{command}: gave up after {elapsed:.1f} s (wait 2 s): {line}")
    assert 2 <= elapsed < 20


def test_no_platformdirs_warning_at_start_up():
    """The embedded PostgreSQL's library used to print a RuntimeDirWarning on every start without
    XDG_RUNTIME_DIR (a container, ssh): importing it, as the gateway and ``migrate`` do, is now silent."""
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env.update(PYTHONPATH=str(ROOT / "services"), PYTHONWARNINGS="default")
    result = subprocess.run([sys.executable, "-c", "import babelroom.db.embedded, babelroom.gateway.app"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr


LOG_ONE_LINE = ("from babelroom.config import get_settings; from babelroom.logs import configure_logging; "
                "import structlog; s = get_settings(); configure_logging(s.log_level, s.log_json); "
                "structlog.get_logger().info('hello', n=1)")


def _log_line(stderr_is_tty: bool, **env: str) -> str:
    import pty

    base = {k: v for k, v in os.environ.items() if not k.startswith("BABELROOM_")}
    base.update(PYTHONPATH=str(ROOT / "services"), NO_COLOR="1", **env)
    leader, follower = pty.openpty() if stderr_is_tty else (None, subprocess.PIPE)
    proc = subprocess.run([sys.executable, "-c", LOG_ONE_LINE], env=base, stderr=follower, timeout=60)
    if leader is None:
        return proc.stderr.decode()
    os.close(follower)
    out = os.read(leader, 65536).decode()
    os.close(leader)
    return out


def test_logs_are_plain_text_on_a_terminal_and_json_otherwise_unless_set(monkeypatch):
    monkeypatch.delenv("BABELROOM_LOG_JSON", raising=False)  # `make test` exports it
    assert _log_line(False).startswith('{"n": 1, "event": "hello"')
    plain = _log_line(True)
    assert "hello" in plain and not plain.lstrip().startswith("{")
    assert _log_line(True, BABELROOM_LOG_JSON="true").lstrip().startswith("{")  # the Makefile's explicit setting
    assert Settings().log_json == "auto"


def test_a_setting_that_does_not_parse_is_one_line_and_exit_78():
    result = babelroom("stt", BABELROOM_STT_CPU_THREADS="two", BABELROOM_ENVIRONMENT="staging")
    assert result.returncode == EX_CONFIG
    line = one_line(result)
    assert line.startswith("babelroom: invalid settings: ")
    assert "BABELROOM_STT_CPU_THREADS: " in line and "(got 'two')" in line
    assert "BABELROOM_ENVIRONMENT: Input should be 'development' or 'production'" in line
