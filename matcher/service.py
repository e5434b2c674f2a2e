"""A thin HTTP service over `solve_json` (optional extra `[service]`: fastapi, uvicorn).

    uvicorn matcher.service:app --host 127.0.0.1 --port 8000

POST /solve takes a `SolveRequest` and answers a `SolveResponse`: 200 when solved, 422 for bad
input, 413 for a body over the size limit, 504 when the sandbox's hard limit stopped the solve,
500 for an engine failure (a bug). GET /schema lists the JSON Schemas, GET /schema/{name} gives
one, GET /health says the service is up. The body is read once, bounded, and handed to the same
`solve_json` the library offers, so HTTP and library callers get the same answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

import matcher
from matcher.errors import Issue
from matcher.models import SolveRequest, SolveResponse, schema_documents
from matcher.portal import LIMITS, Limits, error_answer, solve_json

__all__ = ["app", "create_app"]

_REF = "#/components/schemas/{model}"


def status_code(answer: dict) -> int:
    """The HTTP status of an answer (413, a body over the size limit, is decided earlier)."""
    if answer["ok"]:
        return 200
    if answer.get("status") == "timeout":
        return 504
    files = {e["file"] for e in answer["errors"]}
    if files & {"engine", "audit"} or answer.get("status") == "crashed":
        return 500
    return 422


async def _body(request: Request, max_bytes: int) -> bytes | None:
    """The request body, or None as soon as it grows past `max_bytes` (nothing more is read)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(limits: Limits = LIMITS, isolate: bool = False,
               hard_limit: float | None = None) -> FastAPI:
    """The service. With `isolate`, each solve runs in a child process killed at `hard_limit`
    seconds (default: the request's time limit plus a grace period)."""
    api = FastAPI(title="chanjiao-matcher portal", version=matcher.__version__,
                  description=__doc__.split("\n\n")[2].replace("\n", " "))

    def solve(body: bytes) -> dict:
        if isolate:
            from matcher.sandbox import solve_json_isolated

            return solve_json_isolated(body, hard_limit=hard_limit, limits=limits)
        return solve_json(body, limits=limits)

    answers: dict[int | str, dict[str, Any]] = {
        code: {"model": SolveResponse, "description": text}
        for code, text in ((413, "body over the size limit"), (422, "bad input: see errors"),
                           (500, "engine failure"), (504, "stopped at the hard limit"))}

    @api.post("/solve", response_model=SolveResponse, responses=answers, openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": _REF.format(model="SolveRequest")}}}}})
    async def post_solve(request: Request) -> JSONResponse:
        """Solve one season: a SolveRequest in, a SolveResponse out."""
        body = await _body(request, limits.max_bytes)
        if body is None:
            return JSONResponse(error_answer([Issue(
                "request", None, None, f"larger than the limit of {limits.max_bytes:,} bytes")]),
                status_code=413)
        answer = await run_in_threadpool(solve, body)
        return JSONResponse(answer, status_code=status_code(answer))

    @api.get("/schema")
    def get_schemas() -> dict[str, dict]:
        """Every published JSON Schema, by name (as in the repository's schemas/ folder)."""
        return schema_documents()

    @api.get("/schema/{name}", responses={404: {"description": "no such schema"}})
    def get_schema(name: str) -> dict:
        """One JSON Schema: season, policy, solve-request or solve-response."""
        docs = schema_documents()
        if name not in docs:
            raise HTTPException(404, f"unknown schema {name!r}; known: {', '.join(docs)}")
        return docs[name]

    @api.get("/health")
    def health() -> dict[str, Any]:
        """Up, with the engine's version and strategies."""
        from solvers.registry import strategies

        return {"ok": True, "version": matcher.__version__, "strategies": strategies()}

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            spec = get_openapi(title=api.title, version=api.version,
                               description=api.description, routes=api.routes)
            request = SolveRequest.model_json_schema(ref_template=_REF)
            components = spec.setdefault("components", {}).setdefault("schemas", {})
            components.update(request.pop("$defs", {}))
            components["SolveRequest"] = request
            api.openapi_schema = spec
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
    return api


app = create_app()
