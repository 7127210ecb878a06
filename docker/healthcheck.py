#!/usr/bin/env python3
"""Docker HEALTHCHECK of every Babelroom service: ``GET /healthz`` on the service's own port.

Usage: ``babelroom-healthcheck [URL]``. Exit 0 when the URL answers 2xx within the timeout, else 1.

Without a URL, the service is the first word after ``babelroom`` in PID 1's command line (the image's
``ENTRYPOINT ["babelroom"]``), and its port comes from the same environment variable the Settings object
reads (``BABELROOM_GATEWAY_PORT`` …) or the default port of that service. The stack passes an explicit
URL anyway; the inference serves a plain ``docker run``.

Standard library only: it runs in the image's venv python and must not import the services.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

#: service -> (environment variable holding its HTTP port, default port)
PORTS: dict[str, tuple[str | None, int]] = {
    "gateway": ("BABELROOM_GATEWAY_PORT", 8000),
    "stt": ("BABELROOM_STT_METRICS_PORT", 9101),
    "mt": ("BABELROOM_MT_METRICS_PORT", 9102),
    "tts": (None, 9103),
    "jobs": (None, 9104),
    "xtts": ("BABELROOM_JOBS_METRICS_PORT", 9104),
    "autoscaler": (None, 9105),
}


def service_from_cmdline(argv: list[str]) -> str | None:
    """The first known service name in a command line (``['babelroom', 'stt', ...]`` -> ``stt``)."""
    for arg in argv:
        if arg in PORTS:
            return arg
    return None


def default_url(argv: list[str], environ: dict[str, str]) -> str:
    """``http://127.0.0.1:<port>/healthz`` for the service in ``argv``.

    Raises:
        SystemExit: no known service in the command line.
    """
    service = service_from_cmdline(argv)
    if service is None:
        raise SystemExit(f"babelroom-healthcheck: no known service in {argv!r}; pass a URL")
    env, port = PORTS[service]
    if env and environ.get(env):
        port = int(environ[env])
    return f"http://127.0.0.1:{port}/healthz"


def pid1_cmdline() -> list[str]:
    try:
        with open("/proc/1/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def check(url: str, timeout_s: float = 4.0) -> tuple[bool, str]:
    """Whether ``url`` answers 2xx, and a one-line reason."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            return 200 <= resp.status < 300, f"{url} -> {resp.status}"
    except urllib.error.HTTPError as exc:
        return False, f"{url} -> {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return False, f"{url} unreachable: {exc}"


def main(args: list[str]) -> int:
    url = args[0] if args else default_url(pid1_cmdline(), dict(os.environ))
    ok, reason = check(url)
    print(reason)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
