"""A stand-in for the few Docker Engine API endpoints the autoscaler uses, on 127.0.0.1.

It is the one place a stand-in for Docker is used (no engine runs here). It speaks:

- ``GET /version`` (the SDK's API-version negotiation) and ``GET /_ping``;
- ``GET /v<api>/services/<id or name>`` (with or without ``insertDefaults``);
- ``POST /v<api>/services/<id>/update?version=N``: the whole new spec; refused with the Engine's own
  "update out of sequence" error when N is not the service's current version, as Swarm does.

Every request is recorded in :attr:`EngineStub.requests` for the tests to look at.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

API_VERSION = "1.45"


def service(name: str, replicas: int, labels: dict[str, str] | None = None, global_mode: bool = False) -> dict:
    """A service object as ``GET /services/{id}`` returns it (the fields the SDK and we read)."""
    return {
        "ID": f"id-{name}",
        "Version": {"Index": 10},
        "Spec": {
            "Name": name,
            "Labels": labels or {},
            "TaskTemplate": {
                "ContainerSpec": {"Image": "registry.example.org/babelroom:0.1.0", "Args": [name.split("_")[-1]]},
                "Resources": {"Limits": {"NanoCPUs": 2_000_000_000, "MemoryBytes": 2 * 1024**3}},
                "Networks": [{"Target": "babelroom_backend"}],
            },
            "Mode": {"Global": {}} if global_mode else {"Replicated": {"Replicas": replicas}},
            "UpdateConfig": {"Parallelism": 1, "Order": "start-first", "FailureAction": "rollback"},
            "EndpointSpec": {"Mode": "vip"},
        },
    }


MODES = ("Replicated", "Global", "ReplicatedJob", "GlobalJob")


def canonical_spec(spec: dict) -> dict:
    """The spec as the Engine stores it. Go's JSON decoding matches field names case-insensitively and
    the Engine answers with canonical names, so the SDK's ``{"replicated": {...}}`` comes back as
    ``{"Replicated": {...}}``."""
    spec = copy.deepcopy(spec)
    mode = spec.get("Mode") or {}
    spec["Mode"] = {next((m for m in MODES if m.lower() == k.lower()), k): v for k, v in mode.items()}
    return spec


class EngineStub:
    def __init__(self) -> None:
        self.services: dict[str, dict] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # one write per response (flushed by http.server), no delayed-ACK stalls
            disable_nagle_algorithm = True

            def _reply(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Api-Version", API_VERSION)
                self.end_headers()
                self.wfile.write(data)

            def _find(self, ident: str) -> dict | None:
                for svc in stub.services.values():
                    if ident in (svc["ID"], svc["Spec"]["Name"]):
                        return svc
                return None

            def do_GET(self) -> None:
                url = urlparse(self.path)
                with stub.lock:
                    stub.requests.append(("GET", url.path, parse_qs(url.query)))
                    if re.fullmatch(r"(/v[\d.]+)?/version", url.path):
                        return self._reply(200, {"ApiVersion": API_VERSION, "MinAPIVersion": "1.24",
                                                 "Version": "stub", "Os": "linux", "Arch": "amd64"})
                    if re.fullmatch(r"(/v[\d.]+)?/_ping", url.path):
                        return self._reply(200, "OK")
                    m = re.fullmatch(r"/v[\d.]+/services/([^/]+)", url.path)
                    if m:
                        svc = self._find(m.group(1))
                        if svc is None:
                            return self._reply(404, {"message": f"service {m.group(1)} not found"})
                        return self._reply(200, svc)
                    return self._reply(404, {"message": f"page not found: {url.path}"})

            def do_POST(self) -> None:
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                with stub.lock:
                    stub.requests.append(("POST", url.path, body))
                    m = re.fullmatch(r"/v[\d.]+/services/([^/]+)/update", url.path)
                    if not m:
                        return self._reply(404, {"message": f"page not found: {url.path}"})
                    svc = self._find(m.group(1))
                    if svc is None:
                        return self._reply(404, {"message": f"service {m.group(1)} not found"})
                    version = int(parse_qs(url.query).get("version", ["-1"])[0])
                    if version != svc["Version"]["Index"]:
                        return self._reply(500, {"message": "rpc error: code = Unknown desc = update out of sequence"})
                    svc["Spec"] = canonical_spec(body)
                    svc["Version"]["Index"] += 1
                    return self._reply(200, {"Warnings": None})

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"tcp://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def add(self, svc: dict) -> None:
        with self.lock:
            self.services[svc["Spec"]["Name"]] = copy.deepcopy(svc)

    def replicas(self, name: str) -> int:
        with self.lock:
            return self.services[name]["Spec"]["Mode"]["Replicated"]["Replicas"]

    def updates(self) -> list[tuple[str, Any]]:
        return [(path, body) for method, path, body in self.requests if method == "POST"]

    def __enter__(self) -> EngineStub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
