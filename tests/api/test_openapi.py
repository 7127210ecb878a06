"""Schemathesis against the gateway's OpenAPI schema: generated requests to every operation (as an
admin of the enterprise tier, so that no limit hides a route) never get a server error (a documented
503 for a full pool is an answer, not an error), and every answer's status code, content type and
body are the ones the schema documents.

Bounded: ``MAX_EXAMPLES`` generated cases per operation, on the in-process app (a TestClient).
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from babelroom.config import Settings
from babelroom.gateway.app import create_app

MAX_EXAMPLES = 8


def no_server_error(ctx, response, case) -> None:
    """5xx fails, except the documented 503 ``no_capacity`` (the test instances have few slots)."""
    if response.status_code >= 500 and not (response.status_code == 503 and "no_capacity" in response.text):
        raise AssertionError(f"server error {response.status_code}: {response.text[:300]}")


CHECKS = [no_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


@pytest.fixture
def admin_headers(accounts):
    return accounts.create("enterprise", role="admin").headers


def test_every_operation_documents_its_errors_with_examples():
    operations = schema.raw_schema["paths"]
    for path, methods in operations.items():
        if not path.startswith("/api/"):
            continue
        for method, op in methods.items():
            assert op.get("summary") and op.get("responses"), (method, path)
            assert "429" in op["responses"], (method, path)
            for code, response in op["responses"].items():
                if code.startswith(("4", "5")) and code != "422":
                    assert response["content"]["application/json"]["example"]["error"], (method, path, code)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_server_errors_on_generated_input(case, gateway, admin_headers):
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=admin_headers)
    kwargs.pop("cookies", None)
    if "data" in kwargs:  # requests' raw body argument; httpx calls it content
        kwargs["content"] = kwargs.pop("data")
    response = gateway.request(**kwargs)
    case.validate_response(response, checks=CHECKS)
