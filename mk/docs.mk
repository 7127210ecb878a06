# Generated documentation. Included by the top-level Makefile (include mk/*.mk).
#
#   make asyncapi   docs/asyncapi.yaml (the WebSocket protocols, AsyncAPI 3.0) from the message models;
#                   tests/gateway/test_asyncapi.py fails when the committed file is stale

.PHONY: asyncapi

asyncapi: $(DEV)
	$(PY) -m babelroom.gateway.asyncapi > docs/asyncapi.yaml.tmp && mv docs/asyncapi.yaml.tmp docs/asyncapi.yaml
