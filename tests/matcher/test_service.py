"""The HTTP service: same answers as solve_json, status codes by outcome, and its OpenAPI spec
checked by schemathesis against the ASGI app in process (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from matcher.models import schema_documents
from matcher.portal import Limits, solve_json
from matcher.service import app, create_app
from tests.matcher.payloads import sample_season, tiny_request

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app)


def _strip_timing(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "timing"}


def test_health_and_schemas(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["ok"] and "cpsat" in health["strategies"]
    assert client.get("/schema").json() == schema_documents()
    published = json.loads((SCHEMAS / "policy.schema.json").read_text(encoding="utf-8"))
    assert client.get("/schema/policy").json() == published
    assert client.get("/schema/nope").status_code == 404


def test_solve_answers_as_the_library_does(client: TestClient) -> None:
    request = tiny_request(strategy="greedy", deterministic=True)
    response = client.post("/solve", json=request)
    assert response.status_code == 200
    answer = response.json()
    assert answer["ok"] and answer["metrics"]["audit_ok"]
    assert _strip_timing(answer) == _strip_timing(solve_json(request))


@pytest.mark.parametrize("body, code", [
    (b"not json", 422),
    (b"[]", 422),
    (json.dumps({"season": {}}).encode(), 422),
    (b'{"season": ' + b" " * 5000 + b"}", 413),
])
def test_bad_bodies_get_typed_errors(body: bytes, code: int) -> None:
    small = TestClient(create_app(limits=Limits(max_bytes=4000)))
    response = small.post("/solve", content=body, headers={"content-type": "application/json"})
    assert response.status_code == code
    answer = response.json()
    assert answer["ok"] is False and answer["errors"][0]["message"]


def test_season_errors_are_422_with_places(client: TestClient) -> None:
    request = tiny_request()
    request["season"]["slots"][0]["enterprise_id"] = "E404"
    response = client.post("/solve", json=request)
    assert response.status_code == 422
    assert ("season.json[slots]", 1, "enterprise_id") in {
        (e["file"], e["row"], e["column"]) for e in response.json()["errors"]}


def test_isolated_service_stops_at_the_hard_limit() -> None:
    isolated = TestClient(create_app(isolate=True, hard_limit=0.3))
    request = {"season": sample_season(), "time_limit": 60, "deterministic": True}  # seconds
    response = isolated.post("/solve", json=request)
    assert response.status_code == 504
    assert response.json()["status"] == "timeout"


def test_openapi_spec_names_the_models(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/solve"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/SolveRequest"}
    for name in ("SolveRequest", "SeasonPayload", "PolicyModel", "SolveResponse"):
        assert name in spec["components"]["schemas"]
    assert set(spec["paths"]) == {"/solve", "/schema", "/schema/{name}", "/health"}


schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

_SPEC = schemathesis.openapi.from_asgi("/openapi.json", app)
_SPEC.config.phases.update(phases=["examples", "fuzzing"])


@_SPEC.parametrize()
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.data_too_large])
def test_openapi_contract(case: schemathesis.Case) -> None:
    """Generated requests, valid and not: no 5xx, documented status codes and content types,
    and every body matching its documented schema. (Schemathesis' coverage phase is left out:
    it takes about half a minute on a 2-core machine.)"""
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance,
                                   content_type_conformance, response_schema_conformance])
