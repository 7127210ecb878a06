# The voice-cloning worker's environment (issue 10): .venv-xtts, beside the main .venv. Included by the Makefile.
#
#   make xtts-venv   torch 2.9.1 + torchaudio + torchcodec + coqui-tts 0.28 (requirements/xtts.txt), then the
#                    babelroom package under the same pins; 8.0 GB, 4-12 minutes. coqui-tts cannot go in
#                    the main venv (its torch 2.13.0 CPU wheel has no matching torchaudio/torchcodec).
#                    `babelroom xtts` runs from it (`$(XTTS_VENV)/bin/babelroom xtts`), and the tests run their
#                    xtts worker with its Python (tests/voice/test_xtts_job.py).
#
# `make test` depends on its stamp, so the cloned-voice tests run rather than skip. The stamp is redone when
# the pins or the package's dependencies change.

XTTS_VENV ?= .venv-xtts
XTTS_STAMP := $(XTTS_VENV)/.xtts-installed

.PHONY: xtts-venv

$(XTTS_STAMP): requirements/xtts.txt services/pyproject.toml
	test -x $(XTTS_VENV)/bin/python || python3 -m venv $(XTTS_VENV)
	$(XTTS_VENV)/bin/pip install -q -r requirements/xtts.txt
	$(XTTS_VENV)/bin/pip install -q --constraint requirements/xtts.txt -e services
	$(XTTS_VENV)/bin/python -c "import TTS.tts.models.xtts, babelroom.jobs.xtts"
	touch $@

xtts-venv: $(XTTS_STAMP)

test: $(XTTS_STAMP)
