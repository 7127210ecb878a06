# The web app (issue 4, frontend/): React + TypeScript + Vite, built to frontend/dist, which the gateway
# serves at / (Settings.frontend_dir). Included by the top-level Makefile (include mk/*.mk).
#
#   make frontend   npm ci (when package-lock.json changed), generated API types up to date (make api-types),
#                   ESLint, type-check + build, Vitest unit tests
#
# Node.js >= 20.19 and npm come with the machine (Vite 8 needs them); npm installs only from the npm
# registry, and package-lock.json records no download addresses. Takes well under a minute, so
# `make test` runs it first.

FRONTEND_DIR := frontend
FRONTEND_STAMP := $(FRONTEND_DIR)/node_modules/.installed

.PHONY: frontend

$(FRONTEND_STAMP): $(FRONTEND_DIR)/package.json $(FRONTEND_DIR)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing: the web app needs Node.js >= 20.19 with npm" >&2; exit 1; }
	cd $(FRONTEND_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

frontend: $(FRONTEND_STAMP)
	cd $(FRONTEND_DIR) && { npm run --silent check:api || { echo "src/api/*.d.ts are stale: run make api-types" >&2; exit 1; }; } \
	  && npm run --silent lint && npm run --silent build && npm test --silent

test: frontend
