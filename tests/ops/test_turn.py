"""TURN for participants behind NAT: the credentials the gateway hands out (babelroom.sfu.turn) let a
client allocate a relay on the real coturn (Debian's turnserver) run with stack/coturn/turnserver.conf,
and stop working once expired or when signed with another secret."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import opschecks
import pytest

from babelroom.config import Settings
from babelroom.sfu.turn import IceServer, ice_servers

SECRET = "turn-secret-for-tests"
CONF = opschecks.ROOT / "stack" / "coturn" / "turnserver.conf"


def loopback_conf(port: int) -> str:
    """The stack's coturn configuration rendered as Swarm would, moved onto loopback at ``port`` (and
    allowed to relay to loopback peers: the test's two clients)."""
    text = opschecks.render_swarm_template(CONF.read_text(), {"TURN_EXTERNAL_IP": "127.0.0.1", "TURN_REALM": "test"},
                                           {"turn_secret": SECRET})
    lines = [ln for ln in text.splitlines()
             if not ln.startswith(("listening-port=", "external-ip=", "denied-peer-ip=127.", "log-file="))]
    return "\n".join([*lines, f"listening-port={port}", "listening-ip=127.0.0.1", "relay-ip=127.0.0.1",
                      "allow-loopback-peers", "log-file=stdout", ""])


@pytest.fixture(scope="module")
def turn_port(tmp_path_factory, turnserver) -> Iterator[int]:
    port = opschecks.free_port()
    conf = tmp_path_factory.mktemp("coturn") / "turnserver.conf"
    conf.write_text(loopback_conf(port))
    proc = subprocess.Popen([turnserver, "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError(f"turnserver did not listen on {port}")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def allocate(uclient: str, port: int, ice: IceServer) -> subprocess.CompletedProcess[str]:
    """Two clients allocate relays with ``ice``'s credentials and send 3 packets to each other through
    them (turnutils_uclient -y)."""
    return subprocess.run([uclient, "-y", "-c", "-n", "3", "-m", "1", "-p", str(port), "-u", str(ice.username),
                           "-w", str(ice.credential), "127.0.0.1"], capture_output=True, text=True, timeout=30,
                          check=False)


def settings(secret: str = SECRET) -> Settings:
    return Settings(turn_urls=["turn:127.0.0.1:3478"], turn_secret=secret, turn_credential_ttl_s=600)


def test_the_gateways_credentials_allocate_a_relay(turn_port, turnutils_uclient):
    [ice] = ice_servers(settings(), "7f1b2c3d-user")
    result = allocate(turnutils_uclient, turn_port, ice)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "Total lost packets 0" in result.stdout


def test_expired_credentials_are_refused(turn_port, turnutils_uclient):
    [ice] = ice_servers(settings(), "7f1b2c3d-user", now=time.time() - 601)
    result = allocate(turnutils_uclient, turn_port, ice)
    assert result.returncode != 0 and "Cannot complete Allocation" in result.stdout


def test_credentials_signed_with_another_secret_are_refused(turn_port, turnutils_uclient):
    [ice] = ice_servers(settings("not-the-servers-secret"), "7f1b2c3d-user")
    result = allocate(turnutils_uclient, turn_port, ice)
    assert result.returncode != 0 and "Cannot complete Allocation" in result.stdout


def test_ice_servers_without_turn_settings():
    assert ice_servers(Settings(turn_urls=[]), "u") == []
    assert ice_servers(Settings(turn_urls=["stun:stun.example.org:3478"], turn_secret=None), "u") == [
        IceServer(urls=["stun:stun.example.org:3478"])]


def test_relay_ports_are_the_ones_the_stack_publishes(stack_config):
    conf = dict(ln.split("=", 1) for ln in CONF.read_text().splitlines() if ln.startswith(("min-port", "max-port")))
    ports = stack_config["services"]["coturn"]["ports"]
    relay = sorted(p["published"] for p in ports if p["protocol"] == "udp" and p["published"] != 3478)
    assert relay == list(range(int(conf["min-port"]), int(conf["max-port"]) + 1))
    assert all(p["mode"] == "host" and p["target"] == p["published"] for p in ports)
    assert {(3478, "udp"), (3478, "tcp")} <= {(p["published"], p["protocol"]) for p in ports}
