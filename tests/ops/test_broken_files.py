"""Every check fails on a deliberately broken copy of the file it checks.

For each case: copy the deployment files to a temporary directory, break one file in one way, run the
same checker the other tests run on the committed file, and expect a failure that names the problem.
(`pytest tests/ops/test_broken_files.py -rA -s` prints each checker's complaint.)
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import opschecks
import pytest
import yaml
from opschecks import ROOT, Result


def copy_tree(tmp: Path) -> Path:
    for name in ("stack", "traefik", "monitoring", "janus", "docker"):
        shutil.copytree(ROOT / name, tmp / name)
    for name in ("Dockerfile", ".hadolint.yaml"):
        shutil.copy(ROOT / name, tmp / name)
    return tmp


def replace_once(old: str, new: str) -> Callable[[str], str]:
    def mutate(text: str) -> str:
        assert old in text, f"mutation anchor {old!r} not found"
        return text.replace(old, new, 1)

    return mutate


def yaml_edit(edit: Callable[[dict], None]) -> Callable[[str], str]:
    def mutate(text: str) -> str:
        data = yaml.safe_load(text)
        edit(data)
        return yaml.safe_dump(data, sort_keys=False)

    return mutate


def stack_check(path: Path) -> Result:
    """docker stack config, then the design checks on its output (as test_stack does)."""
    res = opschecks.check_stack_file(path)
    if not res.ok:
        return res
    base = path.parent.parent
    return opschecks.from_problems(opschecks.stack_problems(
        res.data, yaml.safe_load(path.read_text()),
        yaml.safe_load((base / "traefik/dynamic.yml").read_text()),
        yaml.safe_load((base / "traefik/traefik.yml").read_text()),
    ))


def janus_check(path: Path) -> Result:
    res = opschecks.check_janus_config(path.parent)
    if res.ok and list(res.data["plugins"]) != ["janus.plugin.videoroom"]:
        return Result(False, f"Janus loaded plugins {sorted(res.data['plugins'])}, not only janus.plugin.videoroom")
    return res


def redis_check(path: Path) -> Result:
    res = opschecks.check_redis_config(path)
    return opschecks.from_problems(opschecks.redis_policy_problems(res.data)) if res.ok else res


def move_gateway_labels_to_service_level(data: dict) -> None:
    gw = data["services"]["gateway"]
    gw["labels"] = gw["deploy"].pop("labels")


@dataclass(frozen=True)
class Case:
    id: str
    file: str
    mutate: Callable[[str], str]
    check: Callable[[Path], Result]
    needs: str = ""  # a fixture that provides the checker binary


CASES = [
    Case("stack: not valid for docker stack config", "stack/docker-stack.yml",
         replace_once("      replicas: 2\n", "      replicas: two\n"), stack_check, "docker_cli"),
    Case("stack: routing labels at service level", "stack/docker-stack.yml",
         yaml_edit(move_gateway_labels_to_service_level), stack_check, "docker_cli"),
    Case("stack: STT CPU limit off the design", "stack/docker-stack.yml",
         replace_once('limits: {cpus: "2", memory: 2G}', 'limits: {cpus: "3", memory: 2G}'), stack_check, "docker_cli"),
    Case("stack: router to a service that does not exist", "stack/docker-stack.yml",
         replace_once("traefik.http.routers.gateway-ws.service: gateway-ws",
                      "traefik.http.routers.gateway-ws.service: gateway-wss"),
         stack_check, "docker_cli"),
    Case("stack: secret file no Settings field reads", "stack/docker-stack.yml",
         replace_once("BABELROOM_JWT_SECRET_FILE: /run/secrets/jwt_secret",
                      "BABELROOM_JWT_KEY_FILE: /run/secrets/jwt_secret"),
         stack_check, "docker_cli"),
    Case("stack: update order start-first on Postgres", "stack/docker-stack.yml",
         yaml_edit(lambda d: d["services"]["postgres"]["deploy"].update(update_config={
             "parallelism": 1, "order": "start-first", "failure_action": "rollback"})), stack_check, "docker_cli"),
    Case("prometheus.yml: bad duration", "monitoring/prometheus.yml",
         replace_once("scrape_interval: 15s", "scrape_interval: 15 seconds"), opschecks.check_prometheus_config,
         "promtool"),
    Case("alerts.yml: PromQL syntax error", "monitoring/rules/alerts.yml",
         replace_once("expr: up == 0", "expr: up == "), opschecks.check_rules, "promtool"),
    Case("alerts.yml: metric the code does not export", "monitoring/rules/alerts.yml",
         replace_once("max by (stream) (babelroom_bus_queue_depth) > 10",
                      "max by (stream) (babelroom_bus_queue_deep) > 10"),
         opschecks.check_rule_metric_names),
    Case("alerts.yml: threshold changed under its unit test", "monitoring/rules/alerts.yml",
         replace_once("babelroom:memory_utilisation:ratio > 0.90", "babelroom:memory_utilisation:ratio > 0.95"),
         lambda p: opschecks.check_rule_tests(p.parent.parent / "tests" / "alerts_test.yml"), "promtool"),
    Case("alerts_test.yml: wrong expectation", "monitoring/tests/alerts_test.yml",
         replace_once("summary: \"/ on node1 is 96% full\"", "summary: \"/ on node1 is 50% full\""),
         opschecks.check_rule_tests, "promtool"),
    Case("dashboard: metric the code does not export", "monitoring/grafana/dashboards/babelroom-overview.json",
         replace_once("babelroom_mt_cache_hits_total", "babelroom_mt_cache_hit_total"), opschecks.check_dashboard),
    Case("dashboard: not JSON", "monitoring/grafana/dashboards/babelroom-overview.json",
         lambda t: t[:-3], opschecks.check_dashboard),
    Case("dashboard: panel on an unknown datasource", "monitoring/grafana/dashboards/babelroom-overview.json",
         lambda t: t.replace('"uid": "prometheus"', '"uid": "prom"', 1), opschecks.check_dashboard),
    Case("traefik.yml: services exposed by default", "traefik/traefik.yml",
         replace_once("exposedByDefault: false", "exposedByDefault: true"), opschecks.check_traefik_static),
    Case("traefik.yml: misspelt key", "traefik/traefik.yml",
         replace_once("certificatesResolvers:", "certificateResolvers:"), opschecks.check_traefik_static),
    Case("traefik.yml: not YAML", "traefik/traefik.yml",
         replace_once("entryPoints:\n", "entryPoints:\n\t"), opschecks.check_traefik_static),
    Case("dynamic.yml: unknown middleware type", "traefik/dynamic.yml",
         replace_once("      rateLimit:\n        average: 20", "      ratelimit:\n        average: 20"),
         opschecks.check_traefik_dynamic),
    Case("dynamic.yml: middleware a router uses is gone", "traefik/dynamic.yml",
         replace_once("    rate-limit-ws:\n", "    rate-limit-sockets:\n"),
         lambda p: stack_check(p.parent.parent / "stack" / "docker-stack.yml"), "docker_cli"),
    Case("Dockerfile: hadolint (apt-get without -y, recommends)", "Dockerfile",
         replace_once("apt-get install -y --no-install-recommends apertium", "apt-get install apertium"),
         lambda p: opschecks.check_dockerfile(p, "babelroom")),
    Case("Dockerfile: runs as root", "Dockerfile",
         lambda t: t.replace("USER 10001:10001\n", ""), lambda p: opschecks.check_dockerfile(p, "babelroom")),
    Case("Dockerfile: torch in the runtime image", "Dockerfile",
         replace_once("RUN pip install --no-deps ./services",
                      "RUN pip install torch && pip install --no-deps ./services"),
         lambda p: opschecks.check_dockerfile(p, "babelroom")),
    Case("janus/Dockerfile: root user", "janus/Dockerfile",
         replace_once("USER 10002:10002", "USER root"), lambda p: opschecks.check_dockerfile(p, "janus")),
    Case("janus.jcfg: every plugin loaded", "stack/janus/janus.jcfg",
         lambda t: "\n".join(ln for ln in t.splitlines() if "libjanus_audiobridge.so,libjanus_duktape" not in ln),
         janus_check, "janus_binary"),
    Case("janus.jcfg: syntax error", "stack/janus/janus.jcfg",
         replace_once("plugins: {", "plugins: {{"), janus_check, "janus_binary"),
    Case("redis.conf: allkeys-lru evicts streams", "stack/redis/redis.conf",
         replace_once("maxmemory-policy volatile-lru", "maxmemory-policy allkeys-lru"), redis_check, "redis_binary"),
    Case("redis.conf: unknown directive value", "stack/redis/redis.conf",
         replace_once("appendfsync everysec", "appendfsync sometimes"), redis_check, "redis_binary"),
    Case("pg-backup.sh: unquoted variable", "stack/backup/pg-backup.sh",
         replace_once('rm -f "$old"', "rm -f $old"), opschecks.check_shell),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_copy_fails_its_check(case: Case, tmp_path: Path, request: pytest.FixtureRequest):
    if case.needs:
        request.getfixturevalue(case.needs)
    base = copy_tree(tmp_path)
    target = base / case.file
    original = target.read_text()
    assert case.check(target).ok, f"the committed {case.file} must pass this check"
    target.write_text(case.mutate(original))
    result = case.check(target)
    print(f"\n--- {case.id}: {case.file} broken, the check says:\n{result.output[-1500:]}")
    assert not result.ok, f"{case.id}: the broken copy passed"
