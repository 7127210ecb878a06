"""``make up`` (``python -m babelroom.dev.up``): the whole platform on this machine, for a browser here.

Starts PostgreSQL (embedded) and Redis, the gateway (API, sockets, the web app from
``frontend/dist``, calls on), STT, MT, the media service and Janus; prints the URL; stops everything
and removes the network namespace on Ctrl-C.

Why a network namespace: Janus does not gather loopback ICE candidates, and the browser's media must
not go out through this machine's external address. So Janus runs in its own namespace
(``babelroom-up``) joined to this one by a veth pair with host-only addresses (10.78.0.1 on Janus's
side, 10.78.0.2 here), and ``ice_enforce_list`` limits Janus's ICE to that veth: the browser reaches
Janus's API and media at 10.78.0.1, and Janus RTP-forwards audio to the media service at 10.78.0.2.
Nothing is routed anywhere else. Needs root (namespaces); as another user it says so and exits.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import typer

from babelroom.dev.devstack import LocalStack, free_port, free_udp_port
from babelroom.sfu.janus_config import render
from babelroom.sfu.janus_process import JanusProcess

ROOT = Path(__file__).resolve().parents[3]
NS, HOST_IF, JANUS_IF = "babelroom-up", "brup-host", "brup-janus"
JANUS_IP, HOST_IP = "10.78.0.1", "10.78.0.2"
JANUS_PORT = 8088


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True, text=True, timeout=20)


def make_namespace() -> None:
    """Janus's namespace and the veth pair (a leftover from a killed run is removed first)."""
    remove_namespace()
    _ip("netns", "add", NS)
    _ip("link", "add", HOST_IF, "type", "veth", "peer", "name", JANUS_IF, "netns", NS)
    _ip("addr", "add", f"{HOST_IP}/30", "dev", HOST_IF)
    _ip("link", "set", HOST_IF, "up")
    _ip("-n", NS, "addr", "add", f"{JANUS_IP}/30", "dev", JANUS_IF)
    _ip("-n", NS, "link", "set", JANUS_IF, "up")
    _ip("-n", NS, "link", "set", "lo", "up")


def remove_namespace() -> None:
    """Remove the namespace (its veth end goes with it, and so does ours). Never raises."""
    _ip("netns", "del", NS, check=False)
    _ip("link", "del", HOST_IF, check=False)


def main() -> int:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        typer.echo("make up needs root and iproute2: Janus runs in a network namespace (see README, 'make up').")
        return 1
    dist = ROOT / "frontend" / "dist"
    if not (dist / "index.html").exists():
        typer.echo("frontend/dist is missing: `make up` builds it (cd frontend && npm ci && npm run build)")
        return 1
    state = ROOT / ".state" / "up"
    state.mkdir(parents=True, exist_ok=True)
    admin_key = os.environ.get("BABELROOM_JANUS_ADMIN_KEY") or os.urandom(16).hex()
    rtp_port = free_udp_port()
    make_namespace()
    janus: JanusProcess | None = None
    try:
        config = render(state / "janus", http_port=JANUS_PORT, ws_port=None, admin_key=admin_key,
                        ice_enforce_list=JANUS_IF, rtp_port_range="20000-20099")
        janus = JanusProcess(config, state / "janus.log", prefix=["ip", "netns", "exec", NS]).start()
        env = {
            "BABELROOM_FRONTEND_DIR": str(dist),
            "BABELROOM_JANUS_ENABLED": "true",
            "BABELROOM_JANUS_URL": f"http://{JANUS_IP}:{JANUS_PORT}/janus",
            "BABELROOM_JANUS_PUBLIC_URL": f"http://{JANUS_IP}:{JANUS_PORT}/janus",
            "BABELROOM_JANUS_ADMIN_KEY": admin_key,
            "BABELROOM_MEDIA_ADVERTISE_HOST": HOST_IP,
            "BABELROOM_MEDIA_RTP_PORT": str(rtp_port),
            "BABELROOM_LOG_JSON": "false",
        }
        with LocalStack(state_dir=state, env=env) as stack:
            port = free_port()
            stack._spawn_service("media", {"BABELROOM_MEDIA_METRICS_PORT": str(port),
                                           "BABELROOM_MEDIA_HOST": HOST_IP}, port)
            stack._wait_ready()
            typer.echo(f"\nBabelroom is up: open {stack.gateway_url}/ in a browser on this machine "
                       f"(Janus at http://{JANUS_IP}:{JANUS_PORT}/janus, logs in {state}/logs). Ctrl-C stops it.\n")
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
    finally:
        if janus is not None:
            janus.stop()
        remove_namespace()
    return 0


if __name__ == "__main__":
    sys.exit(main())
