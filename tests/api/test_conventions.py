"""The API's conventions, in its OpenAPI schema and its answers: ``<tag>-<action>`` operation ids,
one error body family for every 4xx (422 included), and room refusals mapped from domain errors."""

import pytest

from babelroom.api.operation_ids import PATTERN
from babelroom.config import Settings
from babelroom.gateway.app import create_app

SCHEMA = create_app(Settings()).openapi()
OPERATIONS = [(path, method, op) for path, methods in SCHEMA["paths"].items() for method, op in methods.items()]
ERROR_BODIES = {"ErrorBody", "LimitErrorBody", "CapacityErrorBody", "ValidationErrorBody", "VoiceSampleErrorBody",
                "DocumentErrorBody"}


def test_operation_ids_are_tag_dash_action_and_unique():
    ids = [op["operationId"] for _, _, op in OPERATIONS]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for path, method, op in OPERATIONS:
        assert len(op.get("tags", [])) == 1, (method, path)
        assert PATTERN.match(op["operationId"]) and op["operationId"].startswith(op["tags"][0] + "-"), (method, path)
    assert {"rooms-create", "rooms-join", "auth-login", "admin-put-tier"} <= set(ids)


def test_every_4xx_documents_an_error_body_with_an_example():
    assert "HTTPValidationError" not in SCHEMA["components"]["schemas"]
    for path, method, op in OPERATIONS:
        for code, response in op["responses"].items():
            if code.startswith("4"):
                content = response["content"]["application/json"]
                assert content["schema"]["$ref"].rsplit("/", 1)[1] in ERROR_BODIES, (method, path, code)
                assert content["example"]["error"], (method, path, code)
        has_input = op.get("parameters") or op.get("requestBody")
        assert ("422" in op["responses"]) == bool(has_input), (method, path)


def test_a_bad_request_gets_the_one_error_shape(gateway, accounts):
    bad = gateway.post("/api/auth/register", json={"email": "ana@example.org", "password": "short", "extra": 1})
    assert bad.status_code == 422
    body = bad.json()
    assert body["error"] == "validation_error"
    assert body["errors"][0]["loc"][:1] == ["body"] and {"loc", "msg", "type"} == set(body["errors"][0])
    assert all(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" in body["detail"] for e in body["errors"])
    unparsable = gateway.post("/api/auth/login", content=b"{not json", headers={"Content-Type": "application/json"})
    assert unparsable.status_code == 422 and unparsable.json()["errors"][0]["type"] == "json_invalid"
    headers = accounts.create().headers
    query = gateway.get("/api/transcripts/search", params={"q": "x", "limit": "many"}, headers=headers)
    assert query.status_code == 422 and query.json()["detail"].startswith("query.limit: ")


@pytest.mark.parametrize(("path", "status", "error"), [
    ("/api/rooms/00000000-0000-0000-0000-000000000000/join", 404, "not_found"),
    ("/api/rooms/{room}/leave", 403, "not_admitted"),
])
def test_room_refusals_keep_their_status_and_code(gateway, accounts, path, status, error):
    owner, guest = accounts.create(), accounts.create()
    room = gateway.post("/api/rooms", json={"name": "r"}, headers=owner.headers).json()["id"]
    answer = gateway.post(path.format(room=room), json={}, headers=guest.headers)
    assert answer.status_code == status and answer.json()["error"] == error and answer.json()["detail"]
