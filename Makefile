# Babelroom: `make demo` runs the main job, `make test` the tests. Both install what they need.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
BASE := $(VENV)/.base-installed
DEV := $(VENV)/.dev-installed
APT_PACKAGES := redis-server apertium apertium-eng-spa apertium-fr-es apertium-es-pt espeak-ng ffmpeg prometheus janus iproute2 libopus0 chromium coturn
export BABELROOM_LOG_JSON ?= true

.PHONY: help install system-deps demo test bench clean up web

help:
	@echo "make demo   - stream the bundled real clip through the pipeline, show live en→es captions"
	@echo "make test   - run every test against real Redis and real models"
	@echo "make bench  - latency/cost benchmark with 1, 2 and 4 concurrent speakers"
	@echo "make eval   - WER, sentence finals, latency and chrF/BLEU per language on real speech (eval-out/)"
	@echo "make up     - the whole platform with Janus for a browser on this machine (root); prints the URL"
	@echo "make models - fetch production weights (connected machine only)"

# Debian packages: installed with apt-get when root, else they must already be there.
system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "apt-get install $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Missing Debian packages (run as root or install them): $$missing"; exit 1; fi; \
	fi

# Pinned, hash-checked installs from the locks in requirements/ (`make lock` regenerates them from
# services/pyproject.toml); the stamps make a second run a no-op until a lock changes.
$(BASE): requirements/demo.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --require-hashes -r requirements/demo.txt
	$(PIP) install -q --no-deps -e services
	touch $@

# The tests build a tiny NLLB with transformers + torch. torch (the CPU wheel on disk) goes in
# first and stays out of the hashed lock (its local +cpu build has no PyPI hash), or a dependency
# would pull a multi-GB CUDA build of it.
$(DEV): $(BASE) requirements/dev.txt
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q --require-hashes -r requirements/dev.txt
	touch $@

install: system-deps $(BASE)

demo: install
	$(VENV)/bin/babelroom demo --audio assets/demo/demo_en.wav --source-lang en --target-lang es --out out

# The web app's static build (frontend/dist), served by the gateway.
web:
	@test -f frontend/dist/index.html || { cd frontend && { test -d node_modules || npm ci --no-audit --no-fund; } && npm run build; }

# Everything on this machine with Janus in a network namespace (babelroom.dev.up); Ctrl-C stops it.
up: install web
	$(PY) -m babelroom.dev.up

test: system-deps $(DEV)
	$(PY) -m pytest tests

bench: system-deps $(DEV)
	$(VENV)/bin/babelroom bench --speakers 1,2,4 --out bench-out

clean:
	rm -rf .state out bench-out

-include mk/*.mk
