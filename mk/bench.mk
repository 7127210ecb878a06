# More of `make bench` (issue 9). Included by the top-level Makefile, whose `bench` recipe runs tiny.en
# on the English demo clip with 1, 2 and 4 speakers; this file adds, as prerequisites of `bench`:
#
#   make bench-multilingual   Whisper base on Spanish speech (the es clips of tests/data/speech-multi
#                             joined), 1 and 2 speakers: bench-out/whisper-base/
#
# and, on its own (about 15-25 min; take its figures on a quiet machine):
#
#   make bench-capacity       for tiny.en (English) and Whisper base (Spanish): the largest number of
#                             concurrent real-time speakers whose final latency p95 stays <= 1.5 s with
#                             nothing lost (doubling, then binary search up to BENCH_MAX_SPEAKERS;
#                             speakers spread over rooms of BENCH_ROOM_SIZE, workers given enough slots):
#                             bench-out/capacity-*/
#
# Recipes use only names prefixed BENCH_.

BENCH_BABELROOM ?= .venv/bin/babelroom
BENCH_MULTI_MODEL ?= $(MODELS_DIR)/whisper-base
BENCH_MULTI_AUDIO ?= $(sort $(wildcard tests/data/speech-multi/es_*))
BENCH_MAX_SPEAKERS ?= 16
BENCH_ROOM_SIZE ?= 4
BENCH_SECONDS ?= 45

.PHONY: bench-multilingual bench-capacity

bench: bench-multilingual

# models-offline, not $(MODELS_OFFLINE): mk/models.mk is read after this file.
bench-multilingual: system-deps $(DEV) models-offline
	$(BENCH_BABELROOM) bench --speakers 1,2 --language es --stt-model $(BENCH_MULTI_MODEL) \
	  $(addprefix --audio ,$(BENCH_MULTI_AUDIO)) --out bench-out/whisper-base

bench-capacity: system-deps $(DEV) models-offline
	$(BENCH_BABELROOM) bench --find-max --speakers $(BENCH_MAX_SPEAKERS) --room-size $(BENCH_ROOM_SIZE) \
	  --seconds $(BENCH_SECONDS) --stt-model tiny.en --out bench-out/capacity-tiny.en
	$(BENCH_BABELROOM) bench --find-max --speakers $(BENCH_MAX_SPEAKERS) --room-size $(BENCH_ROOM_SIZE) \
	  --seconds $(BENCH_SECONDS) --language es --stt-model $(BENCH_MULTI_MODEL) \
	  $(addprefix --audio ,$(BENCH_MULTI_AUDIO)) --out bench-out/capacity-whisper-base

# Audio mode (issue 10): `make bench-audio` runs babelroom tts in the bench's stack, listeners with audio=1,
# 1 and 4 speakers, once per quick backend (BENCH_AUDIO_BACKENDS): audio latency (first translated audio
# byte at the listener minus the segment's last speech sample sent) and text final -> first audio byte,
# in bench-out/audio-<backend>/. Spanish speech (Whisper base) to English listeners: the only direction
# every quick backend speaks (Piper's voice is English only). Take its figures on a quiet machine.
BENCH_AUDIO_BACKENDS ?= kokoro piper espeak
BENCH_AUDIO_SECONDS ?= 45

.PHONY: bench-audio

bench-audio: system-deps $(DEV) models-offline
	set -e; for backend in $(BENCH_AUDIO_BACKENDS); do \
	  $(BENCH_BABELROOM) bench --speak --tts-backends $$backend --speakers 1,4 --seconds $(BENCH_AUDIO_SECONDS) \
	    --language es --stt-model $(BENCH_MULTI_MODEL) $(addprefix --audio ,$(BENCH_MULTI_AUDIO)) \
	    --out bench-out/audio-$$backend; \
	done
