"""Fixtures of the deployment checks: the checker binaries (installed from Debian when root), and the
stack as `docker stack config` renders it."""

from __future__ import annotations

import os
import shutil
import subprocess

import opschecks
import pytest
import yaml


def _apt_install(package: str) -> None:
    """``apt-get install`` (with one ``apt-get update`` retry); only as root."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]
    if subprocess.run(cmd, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
        subprocess.run(cmd, env=env, capture_output=True, check=True)


def require_binary(binary: str, package: str) -> str:
    """The path of ``binary``; installed from Debian's ``package`` when missing and root; else a skip
    that says why."""
    path = shutil.which(binary)
    if path is None and os.geteuid() == 0:
        _apt_install(package)
        path = shutil.which(binary)
    if path is None:
        pytest.skip(f"{binary} is missing and this is not root: apt-get install {package} (make ops-setup)")
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    return require_binary("promtool", "prometheus")


@pytest.fixture(scope="session")
def prometheus_server() -> str:
    return require_binary("prometheus", "prometheus")


@pytest.fixture(scope="session")
def janus_binary() -> str:
    return require_binary("janus", "janus")


@pytest.fixture(scope="session")
def turnserver() -> str:
    return require_binary("turnserver", "coturn")


@pytest.fixture(scope="session")
def turnutils_uclient() -> str:
    return require_binary("turnutils_uclient", "coturn")


@pytest.fixture(scope="session")
def redis_binary() -> str:
    return require_binary("redis-server", "redis-server")


@pytest.fixture(scope="session")
def docker_cli() -> str:
    path = shutil.which("docker")
    if path is None:
        pytest.skip("the docker CLI is missing (it works offline for `docker stack config`)")
    return path


@pytest.fixture(scope="session")
def stack_config(docker_cli: str) -> dict:
    """stack/docker-stack.yml after `docker stack config` (variables from stack/.env.example)."""
    result = opschecks.check_stack_file()
    assert result.ok, result.output
    return result.data


@pytest.fixture(scope="session")
def stack_raw() -> dict:
    """stack/docker-stack.yml as written (before interpolation)."""
    return yaml.safe_load(opschecks.STACK.read_text())


@pytest.fixture(scope="session")
def traefik_dynamic() -> dict:
    return yaml.safe_load(opschecks.TRAEFIK_DYNAMIC.read_text())


@pytest.fixture(scope="session")
def traefik_static() -> dict:
    return yaml.safe_load(opschecks.TRAEFIK_STATIC.read_text())
