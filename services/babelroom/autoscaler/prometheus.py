"""Instant queries through Prometheus' HTTP API (``GET /api/v1/query``).

Source: https://prometheus.io/docs/prometheus/latest/querying/api/#instant-queries
"""

from __future__ import annotations

import math

import httpx


class PrometheusError(RuntimeError):
    """Prometheus was unreachable or refused the query."""


class PrometheusClient:
    """Evaluates PromQL expressions that reduce to one number."""

    def __init__(self, base_url: str, timeout_s: float = 5.0, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout_s)

    def query(self, expr: str, at: float | None = None) -> float | None:
        """The value of ``expr`` now (or at Unix time ``at``).

        Returns:
            The single value; the largest when several series come back; ``None`` when there is no
            series or the value is NaN (nothing to decide on).

        Raises:
            PrometheusError: HTTP failure, or a query error (bad PromQL, timeout).
        """
        params: dict[str, str] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        try:
            resp = self._client.get(f"{self.base_url}/api/v1/query", params=params)
        except httpx.HTTPError as exc:
            raise PrometheusError(f"{self.base_url} unreachable: {exc}") from exc
        try:
            body = resp.json()
        except ValueError as exc:
            raise PrometheusError(f"HTTP {resp.status_code}: not JSON") from exc
        if resp.status_code != 200 or body.get("status") != "success":
            raise PrometheusError(f"HTTP {resp.status_code}: {body.get('errorType')}: {body.get('error')}")
        data = body["data"]
        if data["resultType"] == "scalar":
            values = [float(data["result"][1])]
        elif data["resultType"] == "vector":
            values = [float(series["value"][1]) for series in data["result"]]
        else:
            raise PrometheusError(f"{expr!r} returned a {data['resultType']}, not a number")
        values = [v for v in values if not math.isnan(v)]
        return max(values) if values else None

    def close(self) -> None:
        self._client.close()
