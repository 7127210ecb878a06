"""The autoscaler: scales STT, MT and the gateway between bounds from Prometheus metrics.

- :mod:`.rules` — the decision logic, pure: a rule, the metrics sampled now, the state kept between
  steps (since when a condition has held, when the service last changed) → the replicas wanted.
- :mod:`.prometheus` — instant queries through Prometheus' HTTP API (httpx).
- :mod:`.swarm` — reads and sets a Swarm service's replicas through the Docker Engine API (docker SDK).
- :mod:`.engine` — one step for every rule, and the loop with its /healthz and /metrics server.
- :mod:`.cli` — ``babelroom autoscaler`` (Typer).
"""
