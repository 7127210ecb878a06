# Speech and translation quality per language (issue 9). Included by the top-level Makefile.
#
#   make eval   every manifest of $(EVAL_MANIFESTS) streamed in real time through a local stack (Redis,
#               gateway, STT, MT) and transcribed offline with the same model: streaming and offline
#               WER, finals ending at a sentence end or a pause, final latency, chrF/BLEU where the
#               manifest has reference translations; then text-only MT over $(EVAL_MT_DIR) (NTREX-128)
#               per language pair. eval-out/eval.json and eval-out/eval.md. About 20 min on 2 cores.
#
#   EVAL_STT_MODELS  --stt-model options: MODEL for every language, LANG=MODEL for one (default: Whisper
#                    base for all, English on the bundled tiny.en)
#   EVAL_SPEED       1 = real time (latency measured); 0 = as fast as possible
#   EVAL_LEADS       ms of silence before each clip, one run per lead, pooled (default 0,110,220: a
#                    language's WER moves by points with where its clips start; docs/stt-models.md)
#
# Data and manifests: tests/data/eval/*.tsv (clips in tests/data/speech and tests/data/speech-multi,
# with their ATTRIBUTION.md). Recipes use only names prefixed EVAL_.

EVAL_BABELROOM ?= .venv/bin/babelroom
EVAL_MANIFESTS ?= $(sort $(wildcard tests/data/eval/*.tsv))
EVAL_MT_DIR ?= tests/data/mt
EVAL_STT_MODELS ?= --stt-model $(MODELS_DIR)/whisper-base --stt-model en=tiny.en
EVAL_SPEED ?= 1
EVAL_LEADS ?= 0,110,220
EVAL_OUT ?= eval-out

.PHONY: eval

# models-offline, not $(MODELS_OFFLINE): mk/models.mk is read after this file, so the variable is empty here.
eval: system-deps $(DEV) models-offline
	$(EVAL_BABELROOM) eval $(EVAL_MANIFESTS) $(EVAL_STT_MODELS) --speed $(EVAL_SPEED) --leads-ms $(EVAL_LEADS) \
	  --mt-dir $(EVAL_MT_DIR) --out $(EVAL_OUT)
