"""stack/docker-stack.yml: valid for `docker stack config`, and saying what the design asks."""

from __future__ import annotations

import re
import warnings

import opschecks
import pytest


def test_docker_stack_config_passes(docker_cli):
    result = opschecks.check_stack_file()
    assert result.ok, result.output
    assert set(opschecks.DESIGN_RESOURCES) <= set(result.data["services"])


def test_required_variables_fail_loudly_when_unset(docker_cli):
    env = opschecks.load_env_file()
    del env["DOMAIN"]
    result = opschecks.check_stack_file(env=env)
    assert not result.ok
    assert "DOMAIN" in result.output


def test_env_example_sets_every_variable_the_stack_uses(stack_raw):
    text = opschecks.STACK.read_text()
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    missing = used - set(opschecks.load_env_file())
    assert not missing, f"stack/.env.example does not mention {sorted(missing)}"


def test_design_resources_placement_policies_secrets_and_routes(stack_config, stack_raw, traefik_dynamic,
                                                                 traefik_static):
    problems = opschecks.stack_problems(stack_config, stack_raw, traefik_dynamic, traefik_static)
    assert not problems, "\n".join(problems)
    for field, why in opschecks.PENDING_SETTINGS.items():
        if field not in opschecks.settings_fields():
            warnings.warn(f"stack sets BABELROOM_{field.upper()}_FILE before Settings has {field}: {why}",
                          stacklevel=1)


def test_routing_labels_only_under_deploy_labels(stack_raw):
    for name, svc in stack_raw["services"].items():
        assert not any(str(k).startswith("traefik.") for k in opschecks.parse_labels(svc.get("labels"))), name


def test_stt_and_mt_sit_on_the_ai_node_with_the_manager(stack_config):
    for name in ("stt", "mt"):
        constraints = stack_config["services"][name]["deploy"]["placement"]["constraints"]
        assert constraints == ["node.labels.babelroom.ai == true"]


def test_secrets_reach_services_through_FILE_variables(stack_config):
    gateway = stack_config["services"]["gateway"]["environment"]
    assert gateway["BABELROOM_JWT_SECRET_FILE"] == "/run/secrets/jwt_secret"
    assert gateway["BABELROOM_REDIS_URL_FILE"] == "/run/secrets/redis_url"
    assert "jwt_secret" in opschecks.settings_fields() and "redis_url" in opschecks.settings_fields()
    pg = stack_config["services"]["postgres"]["environment"]
    assert pg["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    grafana_env = stack_config["services"]["grafana"]["environment"]
    assert grafana_env["GF_SECURITY_ADMIN_PASSWORD__FILE"].startswith("/run/secrets/")
    for name, secret in stack_config["secrets"].items():
        assert secret.get("external") is True, f"secret {name} must be created by the admin, not from a file"


def test_no_plain_secret_values_in_environment(stack_config):
    for name, svc in stack_config["services"].items():
        for key, value in (svc.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|TOKEN", key) and not key.endswith(("_FILE", "__FILE")):
                raise AssertionError(f"{name}: {key}={value!r} in clear; use a secret and *_FILE")


def test_templated_configs_get_their_variables_and_secrets(stack_config, stack_raw):
    problems = opschecks.template_problems(stack_config, stack_raw)
    assert not problems, "\n".join(problems)


def test_networks_and_volumes(stack_config):
    nets = stack_config["networks"]
    assert nets["public"]["name"] == "babelroom_public" and nets["public"]["driver"] == "overlay"
    assert nets["backend"]["driver"] == "overlay" and nets["backend"].get("internal") is True
    for vol in ("models", "pgdata", "redis-data", "voice-samples"):
        assert vol in stack_config["volumes"]
    gateway = stack_config["services"]["gateway"]
    samples = "/state/voice-samples"
    assert {"type": "volume", "source": "voice-samples", "target": samples} in gateway["volumes"]
    assert gateway["environment"]["BABELROOM_VOICE_SAMPLE_DIR"] == samples
    for name in ("stt", "mt", "tts"):
        mounts = stack_config["services"][name]["volumes"]
        assert {"type": "volume", "source": "models", "target": "/models", "read_only": True} in mounts, name


def test_janus_rtp_ports_match_its_config(stack_config):
    jcfg = (opschecks.JANUS_DIR / "janus.jcfg").read_text()
    low, high = map(int, re.search(r'rtp_port_range = "(\d+)-(\d+)"', jcfg).groups())
    ports = stack_config["services"]["janus"]["ports"]
    udp = sorted(p["published"] for p in ports if p["protocol"] == "udp")
    assert udp == list(range(low, high + 1))
    assert all(p["mode"] == "host" and p["target"] == p["published"] for p in ports)


def test_prometheus_retention_and_configs(stack_config):
    cmd = stack_config["services"]["prometheus"]["command"]
    assert "--storage.tsdb.retention.time=15d" in cmd
    for svc in stack_config["services"].values():
        for cfg in svc.get("configs") or []:
            assert cfg["source"] in stack_config["configs"]
    for cfg in stack_config["configs"].values():
        assert cfg["name"].endswith("_1"), "configs are versioned by CONFIG_VERSION"


@pytest.fixture(scope="module")
def single_host_config(docker_cli) -> dict:
    result = opschecks.check_stack_file(overrides=[opschecks.SINGLE_HOST])
    assert result.ok, result.output
    return result.data


@pytest.mark.parametrize("variant", ["three nodes", "single host"])
def test_every_babelroom_command_in_the_stack_is_a_real_cli_command(variant, stack_config, stack_raw, request):
    """``babelroom <command> --help`` through the Typer app: the command and each option exist."""
    from typer.testing import CliRunner

    from babelroom.cli import app

    config = stack_config if variant == "three nodes" else request.getfixturevalue("single_host_config")
    runner = CliRunner()
    checked = []
    for name, svc in stack_raw["services"].items():
        if not str(svc.get("image", "")).startswith(opschecks.BABELROOM_IMAGES):
            continue
        command = config["services"][name]["command"]
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, f"{name}: `babelroom {' '.join(command)}`: {result.output}"
        checked.append(name)
    assert {"gateway", "stt", "mt", "media", "autoscaler", "diarization"} <= set(checked)


def test_single_host_variant_runs_every_service_on_one_node(stack_config, single_host_config):
    assert set(single_host_config["services"]) == set(stack_config["services"])
    one_node = {"node.role == manager"} | {f"node.labels.babelroom.{role} == true" for role in opschecks.NODES}
    cpus = memory = 0.0
    command = single_host_config["services"]["autoscaler"]["command"]
    max_replicas = int(next(a.split("=", 1)[1] for a in command if a.startswith("--max-replicas=")))
    for name, svc in single_host_config["services"].items():
        deploy = svc["deploy"]
        assert set(deploy["placement"]["constraints"]) <= one_node, f"{name}: {deploy['placement']}"
        replicas = max_replicas if name in opschecks.AUTOSCALED_MAX else deploy.get("replicas", 1)
        cpus += replicas * float(deploy["resources"]["reservations"]["cpus"])
        memory += replicas * opschecks._bytes(deploy["resources"]["reservations"]["memory"])
    # One 8 vCPU / 16 GB machine holds every reservation even at the autoscaler's maximum.
    assert cpus <= 8 and memory <= 16 * 1024**3, (cpus, memory / 1024**3)


def test_workers_health_checks_probe_what_tells_the_truth(stack_config):
    """STT, MT and TTS: /healthz, which turns 503 when the consume loop died or stalled (a restart helps),
    but not during a Redis or Postgres outage the worker rides out by itself (restarting every worker
    then would only add model loading to the outage; /readyz reports that for alerts). media: /readyz."""
    for name, path in (("stt", "/healthz"), ("mt", "/healthz"), ("tts", "/healthz"), ("media", "/readyz")):
        test = stack_config["services"][name]["healthcheck"]["test"]
        assert test[-1].endswith(path), f"{name}: {test}"


@pytest.mark.parametrize("variant", ["three nodes", "single host"])
def test_context_worker_consumes_its_queue_on_the_jobs_image(variant, stack_config, stack_raw, request):
    """The Celery worker of the document-context jobs: the `context` queue the gateway and STT send to, the
    torch image, the database (it writes the chunks), and one torch thread per CPU of its limit."""
    from babelroom.context.queueing import CONTEXT_QUEUE

    config = stack_config if variant == "three nodes" else request.getfixturevalue("single_host_config")
    svc = config["services"]["context"]
    assert svc["command"] == ["jobs", "--queue", CONTEXT_QUEUE]
    assert str(stack_raw["services"]["context"]["image"]).startswith("${BABELROOM_JOBS_IMAGE")
    env = svc["environment"]
    assert env["BABELROOM_DATABASE_URL_FILE"] == "/run/secrets/database_url"
    assert float(env["OMP_NUM_THREADS"]) == float(svc["deploy"]["resources"]["limits"]["cpus"])


@pytest.mark.parametrize("variant", ["three nodes", "single host"])
def test_diarization_worker_consumes_its_queue_on_the_jobs_image(variant, stack_config, stack_raw, request):
    """The Celery worker of babelroom.diarize: the `diarization` queue, the torch image, the database (it
    writes the labels), a CPU limit its torch threads match, and a reservation that fits the node."""
    config = stack_config if variant == "three nodes" else request.getfixturevalue("single_host_config")
    svc = config["services"]["diarization"]
    assert svc["command"] == ["jobs", "--queue", "diarization"]
    assert str(stack_raw["services"]["diarization"]["image"]).startswith("${BABELROOM_JOBS_IMAGE")
    env = svc["environment"]
    assert env["BABELROOM_DATABASE_URL_FILE"] == "/run/secrets/database_url"
    limits = svc["deploy"]["resources"]["limits"]
    assert float(env["BABELROOM_DIARIZATION_THREADS"]) == float(limits["cpus"])
    assert svc["healthcheck"]["test"][-1] == f"http://127.0.0.1:{env['BABELROOM_JOBS_METRICS_PORT']}/healthz"


@pytest.mark.parametrize("variant", ["three nodes", "single host"])
def test_retention_runs_with_exactly_one_beat(variant, stack_config, stack_raw, request):
    """Retention (every tier's history_days) is scheduled by Celery beat: one service runs `jobs --beat`
    on the maintenance queue, one replica, stopped before its successor starts (two beats would both
    schedule), beside the voice samples it purges; it also runs their one-speaker check (queue `voice`: CAM++,
    so the torch image, with the samples on the same volume and path as the gateway's)."""
    from babelroom.voice.queueing import VOICE_QUEUE

    config = stack_config if variant == "three nodes" else request.getfixturevalue("single_host_config")
    beats = {name: svc for name, svc in config["services"].items() if "--beat" in (svc.get("command") or [])}
    assert list(beats) == ["maintenance"]
    svc = beats["maintenance"]
    assert svc["command"] == ["jobs", "--beat", "--queue", f"maintenance,{VOICE_QUEUE}"]
    assert str(stack_raw["services"]["maintenance"]["image"]).startswith("${BABELROOM_JOBS_IMAGE")
    gateway = config["services"]["gateway"]
    assert svc["environment"]["BABELROOM_VOICE_SAMPLE_DIR"] == gateway["environment"]["BABELROOM_VOICE_SAMPLE_DIR"]
    samples = {(v["source"], v["target"]) for v in gateway["volumes"] if v["source"] == "voice-samples"}
    assert {(v["source"], v["target"]) for v in svc["volumes"]} == samples
    assert svc["deploy"]["replicas"] == 1 and svc["deploy"]["update_config"]["order"] == "stop-first"
