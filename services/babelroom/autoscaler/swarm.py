"""Reads and sets the replicas of Swarm services through the Docker Engine API (docker SDK).

Endpoints used (all the stand-in server in tests/ops speaks): ``GET /version`` (API negotiation),
``GET /services/{name}``, ``GET /services/{id}?insertDefaults=true`` and
``POST /services/{id}/update?version=N``. The update sends the whole current spec with only
``Mode.Replicated.Replicas`` changed, so labels (Traefik's routing among them), resources and
everything else stay as deployed.

Source: https://docker-py.readthedocs.io/en/stable/services.html (``Service.scale``),
https://docs.docker.com/reference/api/engine/ (``ServiceUpdate``).
"""

from __future__ import annotations

from dataclasses import dataclass

import docker
import docker.errors
import requests


class SwarmError(RuntimeError):
    """The Engine API refused or failed a call."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    replicas: int
    updating: bool


class SwarmScaler:
    """Scales ``<stack>_<service>`` services."""

    def __init__(self, client: docker.DockerClient, stack: str) -> None:
        self.client = client
        self.stack = stack

    @classmethod
    def from_url(cls, base_url: str, stack: str, timeout_s: int = 10) -> SwarmScaler:
        """A scaler on the Engine API at ``base_url``; the API version is negotiated (``GET /version``).

        Raises:
            SwarmError: the Engine does not answer.
        """
        try:
            return cls(docker.DockerClient(base_url=base_url, version="auto", timeout=timeout_s), stack)
        except (docker.errors.DockerException, requests.RequestException) as exc:
            raise SwarmError(f"Engine API at {base_url}: {exc}") from exc

    def full_name(self, service: str) -> str:
        return f"{self.stack}_{service}" if self.stack else service

    def status(self, service: str) -> ServiceStatus:
        """Replicas wanted by the service's spec, and whether a rolling update is under way.

        Raises:
            SwarmError: no such service, a global service, or an API failure.
        """
        name = self.full_name(service)
        try:
            svc = self.client.services.get(name)
        except docker.errors.NotFound as exc:
            raise SwarmError(f"no service {name}") from exc
        except (docker.errors.DockerException, requests.RequestException) as exc:
            raise SwarmError(f"inspecting {name}: {exc}") from exc
        mode = svc.attrs["Spec"].get("Mode", {})
        if "Replicated" not in mode:
            raise SwarmError(f"{name} is not a replicated service")
        state = (svc.attrs.get("UpdateStatus") or {}).get("State", "")
        replicas = int(mode["Replicated"].get("Replicas", 1))
        return ServiceStatus(name, replicas, state in ("updating", "rollback_started"))

    def scale(self, service: str, replicas: int) -> None:
        """Set the service's replicas; one retry when the spec changed between read and write.

        Raises:
            SwarmError: the update failed.
        """
        name = self.full_name(service)
        for attempt in (1, 2):
            try:
                svc = self.client.services.get(name)
                svc.scale(replicas)
                return
            except docker.errors.APIError as exc:
                if attempt == 1 and "out of sequence" in str(exc):
                    continue  # someone else updated the service: read the new version and retry
                raise SwarmError(f"scaling {name} to {replicas}: {exc}") from exc
            except (docker.errors.DockerException, requests.RequestException) as exc:
                raise SwarmError(f"scaling {name} to {replicas}: {exc}") from exc

    def close(self) -> None:
        self.client.close()
