"""A Janus child process on a rendered configuration (the local stack and the tests).

``prefix`` puts a command in front of ``janus`` (the tests run it inside a network namespace with
``ip netns exec NAME``); readiness is Janus's own log line that its HTTP transport is up, so it works
whichever namespace Janus is in.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from babelroom.sfu.janus_config import JanusConfig

READY_LINE = "HTTP webserver started"


class JanusProcess:
    """Runs ``janus`` on ``config`` until :meth:`stop`; logs to ``log_path``.

    Raises:
        RuntimeError: janus is not installed, exits, or is not ready within ``timeout_s``.
    """

    def __init__(self, config: JanusConfig, log_path: Path, *, prefix: list[str] | None = None,
                 extra_args: list[str] | None = None) -> None:
        self.config, self.log_path = config, log_path
        self.prefix, self.extra_args = prefix or [], extra_args or []
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 20.0) -> JanusProcess:
        janus = shutil.which("janus")
        if janus is None:
            raise RuntimeError("janus is not installed (Debian package janus)")
        argv = [*self.prefix, janus, f"--configs-folder={self.config.folder}", f"--config={self.config.main}",
                "--log-stdout", "--disable-colors", *self.extra_args]
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"janus exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            if READY_LINE in self.log():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"janus not ready after {timeout_s} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL after 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> JanusProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
