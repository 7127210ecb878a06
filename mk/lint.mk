# Lint and type-check (issue 8). Included by the top-level Makefile (include mk/*.mk).
#
#   make lint   ruff over services/ and tests/, mypy over the babelroom package
#
# The settings are in services/pyproject.toml ([tool.ruff], [tool.mypy]); ruff.toml at the top
# extends them so that tests/ is checked with the same rules. `make test` runs lint before pytest.

.PHONY: lint

lint: $(DEV)
	$(VENV)/bin/ruff check services tests
	cd services && $(abspath $(VENV))/bin/mypy

test: lint
