# The web app's API types, generated (issue 8). Included by the top-level Makefile (include mk/*.mk).
#
#   make api-types   frontend/openapi.json (the gateway's /openapi.json) and frontend/socket-messages.json
#                    (the caption socket's messages) from the Python code (`babelroom openapi`), then
#                    frontend/src/api/schema.d.ts and socket-messages.d.ts from them (`npm run gen:api`,
#                    openapi-typescript)
#
# Run it after changing a route, a request or response model, an error body or a socket message, and
# commit the four files: tests/gateway/test_schema_export.py fails until the JSON files match the code,
# and `make frontend` fails until the .d.ts files match the JSON (npm run check:api) and the app
# type-checks against them. Output is deterministic (sorted keys), so a rerun changes nothing.

.PHONY: api-types

api-types: $(BASE) frontend/node_modules/.installed
	PYTHONPATH=$(CURDIR)/services $(PY) -m babelroom.cli openapi \
	  --out frontend/openapi.json --messages-out frontend/socket-messages.json
	cd frontend && npm run --silent gen:api
