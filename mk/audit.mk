# Known-vulnerability audit of the dependencies (issue 8). Included by the top-level Makefile.
#
#   make audit   pip-audit on the Python lock file and npm audit on the web app's package-lock.json;
#                fails on a known vulnerability unless audit-waivers.toml waives it with a reason
#                (scripts/audit.py; docs/security.md, "Dependency audit"). Needs internet access:
#                offline it says so and exits 69.
#
#   AUDIT_LOCK     the pinned requirements to audit (default: requirements/runtime.txt, what the
#                  production image installs, when it exists, else services/requirements.lock)
#   AUDIT_WAIVERS  the waivers file (default audit-waivers.toml)
#   PIP_AUDIT      the pip-audit command (default: pip-audit next to the venv's Python, else on PATH;
#                  `pip install pip-audit` or `pipx install pip-audit` on the connected machine)
#
# Recipes use only names prefixed AUDIT_.

AUDIT_LOCK ?= $(firstword $(wildcard requirements/runtime.txt) services/requirements.lock)
AUDIT_WAIVERS ?= audit-waivers.toml
AUDIT_PYTHON ?= $(or $(wildcard .venv/bin/python),python3)

.PHONY: audit

audit:
	$(AUDIT_PYTHON) scripts/audit.py --lock $(AUDIT_LOCK) --waivers $(AUDIT_WAIVERS) --frontend frontend
