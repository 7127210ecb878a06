# Fault scenarios and the soak (issue 8, hardening). Included by the top-level Makefile (include mk/*.mk).
#
#   make chaos   every scenario of babelroom.dev.chaos on fresh local stacks (about 20 min); chaos-out/
#   make soak    4 speakers for 30 min through one gateway, RSS and file descriptors per process; soak-out/
#
# See docs/chaos.md for what each scenario does and how to read the tables. Recipes use only names
# prefixed CHAOS_.

CHAOS_BABELROOM ?= .venv/bin/babelroom
CHAOS_OUT ?= chaos-out
CHAOS_SOAK_OUT ?= soak-out
CHAOS_SOAK_MINUTES ?= 30
CHAOS_SOAK_SPEAKERS ?= 4

.PHONY: chaos soak

chaos: system-deps $(DEV)
	$(CHAOS_BABELROOM) chaos --audio assets/demo/demo_en.wav --out $(CHAOS_OUT)

soak: system-deps $(DEV)
	$(CHAOS_BABELROOM) soak --minutes $(CHAOS_SOAK_MINUTES) --speakers $(CHAOS_SOAK_SPEAKERS) --out $(CHAOS_SOAK_OUT)
