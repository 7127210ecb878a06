"""Two network namespaces joined by a veth pair: where WebRTC media may flow in the tests.

Janus does not gather loopback ICE candidates, and media must never reach this machine's own
external address or another host. So the media tests put Janus in one namespace (``server``) and
the WebRTC client in another (``client``), each with only ``lo`` and its end of a veth pair, with
addresses that exist inside those namespaces only and no default route: nothing can leave them.

The test process itself stays in the root namespace and reaches into the server namespace with
sockets created there (:func:`socket_in`, a thread that ``setns``-es before creating the socket: a
socket keeps the namespace it was made in), e.g. the media service's RTP socket and a TCP relay to
Janus's HTTP API (:class:`TcpRelay`).

Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2; :func:`unavailable` says why not.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import socket
import subprocess
import threading
import uuid
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000
SUBNET = "10.77.0"  # a /30 inside the two namespaces only


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=20)


def unavailable() -> str | None:
    """Why namespaces cannot be made here, or None if they can."""
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    probe = f"brprobe{uuid.uuid4().hex[:6]}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


@dataclass
class NetnsPair:
    """``server`` and ``client`` namespaces; ``server_if``/``client_if`` their veth ends."""

    server: str
    client: str
    server_if: str
    client_if: str
    server_ip: str = f"{SUBNET}.1"
    client_ip: str = f"{SUBNET}.2"

    @classmethod
    def create(cls) -> NetnsPair:
        """Make both namespaces and the veth pair; on any failure, undo what was made.

        Raises:
            subprocess.CalledProcessError: an ``ip`` command failed.
        """
        tag = uuid.uuid4().hex[:6]
        pair = cls(f"br-{tag}-srv", f"br-{tag}-cli", f"brs{tag}", f"brc{tag}")
        try:
            _ip("netns", "add", pair.server)
            _ip("netns", "add", pair.client)
            # Both ends are made inside the namespaces: the root namespace never sees them.
            _ip("-n", pair.server, "link", "add", pair.server_if, "type", "veth", "peer", "name",
                pair.client_if, "netns", pair.client)
            for ns, dev, ip in ((pair.server, pair.server_if, pair.server_ip),
                                (pair.client, pair.client_if, pair.client_ip)):
                _ip("-n", ns, "addr", "add", f"{ip}/30", "dev", dev)
                _ip("-n", ns, "link", "set", dev, "up")
                _ip("-n", ns, "link", "set", "lo", "up")
        except BaseException:
            pair.delete()
            raise
        return pair

    def delete(self) -> None:
        """Remove both namespaces (the veth pair goes with them). Never raises."""
        for ns in (self.client, self.server):
            _ip("netns", "del", ns, check=False)

    def exec_prefix(self, ns: str) -> list[str]:
        """Command prefix that runs a program inside ``ns``."""
        return ["ip", "netns", "exec", ns]


def socket_in(ns: str, family: int = socket.AF_INET, kind: int = socket.SOCK_DGRAM) -> socket.socket:
    """A socket that belongs to network namespace ``ns`` (usable from any thread afterwards)."""
    libc = ctypes.CDLL(None, use_errno=True)
    result: dict[str, object] = {}

    def make() -> None:
        try:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns({ns})")
            finally:
                os.close(fd)
            result["socket"] = socket.socket(family, kind)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=make)  # the thread (and its namespace) ends right after
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["socket"]  # type: ignore[return-value]


class TcpRelay:
    """Listens on 127.0.0.1 (root namespace) and relays each connection to ``host:port`` inside
    ``ns`` (the test process's way to Janus's HTTP API). Threads; :meth:`close` stops it."""

    def __init__(self, ns: str, host: str, port: int) -> None:
        self.ns, self.target = ns, (host, port)
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket_in(self.ns, kind=socket.SOCK_STREAM)
                upstream.connect(self.target)
            except OSError:
                conn.close()
                continue
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
