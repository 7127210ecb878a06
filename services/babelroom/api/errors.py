"""Error bodies of the HTTP API, their OpenAPI documentation, and the handlers that produce them.

Every error is JSON with ``error`` (a stable code) and ``detail`` (for people). Tier limits add which
limit, its value, the tier and when it resets (:class:`LimitErrorBody`); a full pool adds which pool
(:class:`CapacityErrorBody`) and a ``Retry-After`` header. A request that fails validation gets 422 with
``error: "validation_error"``, a one-line ``detail`` and the list of ``errors`` (:class:`ValidationErrorBody`),
documented instead of FastAPI's ``HTTPValidationError`` on every operation.

The room manager's refusals (:mod:`babelroom.rooms.errors`, :class:`~babelroom.capacity.NoCapacity`) and
the tier limits (:class:`~babelroom.tiers.LimitExceeded`) are domain errors; the handlers here turn
them into status codes and bodies.

A request that fails because Redis or PostgreSQL cannot be reached gets 503 with
``error: "dependency_unavailable"``, the ``dependency`` and a ``Retry-After`` header
(:class:`DependencyErrorBody`), counted in ``babelroom_dependency_unavailable_total``;
:func:`unavailable_dependency` tells such errors apart (the sockets use it too).
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from babelroom import metrics
from babelroom.capacity import NoCapacity
from babelroom.rooms.errors import NotAdmitted, RoomClosed, RoomError, RoomNotFound
from babelroom.tiers import LimitExceeded


class ErrorBody(BaseModel):
    """Any error."""

    error: str = Field(description="Stable machine-readable code", examples=["not_found"])
    detail: str = Field(description="What went wrong, for people", examples=["no such room"])


class LimitErrorBody(ErrorBody):
    """A tier limit refused the request (403 for quotas and features, 429 for the request rate)."""

    limit: str = Field(description="The limit's name", examples=["participants_per_room"])
    allowed: int | None = Field(description="Its value for this account (null: a feature that is off)")
    tier: str = Field(examples=["free"])
    current: int | None = Field(None, description="How much of it is in use")
    resets_at: datetime | None = Field(None, description="When it frees up, when a time is known")
    reset_hint: str = Field("", description="What frees it up", examples=["when a participant leaves"])
    retry_after_s: int | None = Field(None, description="For 429: seconds until a request passes")


class CapacityErrorBody(ErrorBody):
    """No STT or MT instance has a free speaking-stream slot."""

    pool: str = Field(examples=["stt"])
    retry_after_s: int = Field(description="Estimate; also in the Retry-After header", examples=[60])


class DependencyErrorBody(ErrorBody):
    """Redis or PostgreSQL cannot be reached: retry after ``retry_after_s``."""

    dependency: Literal["redis", "postgres"] = Field(examples=["postgres"])
    retry_after_s: int = Field(description="Also in the Retry-After header", examples=[5])


Dependency = Literal["redis", "postgres"]

#: Modules whose frames in a bare OSError's traceback say which dependency it came from.
_OSERROR_SOURCES: tuple[tuple[str, Dependency], ...] = (
    ("/asyncpg/", "postgres"), ("/sqlalchemy/", "postgres"), ("/redis/", "redis"),
)


def unavailable_dependency(exc: BaseException) -> Dependency | None:
    """``"redis"`` or ``"postgres"`` when ``exc`` (or an exception it was raised from) means that
    dependency cannot be reached; None for any other error.

    Counted as unreachable: redis-py's ``ConnectionError`` and ``TimeoutError``; SQLAlchemy's
    ``OperationalError``, ``InterfaceError`` and any ``DBAPIError`` that invalidated its connection;
    asyncpg's connection errors; a bare ``OSError`` (refused, reset, timed out) raised inside asyncpg,
    SQLAlchemy or redis-py (asyncpg's connect raises those unwrapped).
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, RedisConnectionError | RedisTimeoutError):
            return "redis"
        if isinstance(current, OperationalError | InterfaceError) or (
            isinstance(current, DBAPIError) and current.connection_invalidated
        ):
            return "postgres"
        if isinstance(current, asyncpg.PostgresConnectionError | asyncpg.InterfaceError):
            return "postgres"
        if isinstance(current, OSError):
            files = [frame.f_code.co_filename for frame, _ in traceback.walk_tb(current.__traceback__)]
            for marker, dependency in _OSERROR_SOURCES:
                if any(marker in f for f in files):
                    return dependency
        current = current.__cause__ or current.__context__
    return None


def dependency_unavailable_response(request: Request, dependency: Dependency) -> JSONResponse:
    """The 503 answer while ``dependency`` is unreachable (counted)."""
    retry = request.app.state.settings.dependency_retry_after_s
    metrics.DEPENDENCY_UNAVAILABLE.labels(dependency, "http").inc()
    body = DependencyErrorBody(
        error="dependency_unavailable", dependency=dependency, retry_after_s=retry,
        detail=f"{'PostgreSQL' if dependency == 'postgres' else 'Redis'} is unavailable: try again later",
    )
    return JSONResponse(body.model_dump(mode="json"), 503,
                        headers=_with_rate_headers(request, {"Retry-After": str(retry)}))


class FieldError(BaseModel):
    """One reason a request failed validation (pydantic's error without its input)."""

    loc: list[str | int] = Field(description="Where: body, query, path or header, then the field",
                                 examples=[["body", "password"]])
    msg: str = Field(examples=["String should have at least 8 characters"])
    type: str = Field(description="pydantic's error type", examples=["string_too_short"])


class ValidationErrorBody(ErrorBody):
    """The request failed validation (422): ``detail`` sums ``errors`` up in one line."""

    errors: list[FieldError]


class ApiError(Exception):
    """An error answer: ``status``, ``error`` code, ``detail``; extra body fields and headers optional."""

    def __init__(self, status: int, error: str, detail: str, *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail
        self.headers, self.extra = headers or {}, extra


_EXAMPLES: dict[int, tuple[type[ErrorBody], dict[str, Any], str]] = {
    400: (ErrorBody, {"error": "bad_request", "detail": "There was an error parsing the body"},
          "Bad request: an unparsable body or a bad parameter"),
    401: (ErrorBody, {"error": "unauthorized", "detail": "token expired"}, "Missing, invalid or expired token"),
    403: (LimitErrorBody, {
        "error": "tier_limit", "detail": "the free tier allows 6 participants per room",
        "limit": "participants_per_room", "allowed": 6, "tier": "free", "current": 6, "resets_at": None,
        "reset_hint": "when a participant leaves", "retry_after_s": None,
    }, "Forbidden: a tier limit, a missing feature, or not allowed (then a plain error body)"),
    404: (ErrorBody, {"error": "not_found", "detail": "no such room"}, "Not found"),
    409: (ErrorBody, {"error": "conflict", "detail": "this e-mail is already registered"}, "Conflict"),
    422: (ValidationErrorBody, {
        "error": "validation_error", "detail": "password: String should have at least 8 characters",
        "errors": [{"loc": ["body", "password"], "msg": "String should have at least 8 characters",
                    "type": "string_too_short"}],
    }, "Validation error: the request's body, query or path does not match the schema"),
    429: (LimitErrorBody, {
        "error": "rate_limited", "detail": "the free tier allows 100 requests per hour",
        "limit": "requests_per_hour", "allowed": 100, "tier": "free", "current": 100,
        "resets_at": "2025-01-01T12:00:00Z", "reset_hint": "sliding one-hour window", "retry_after_s": 42,
    }, "Too many requests (RateLimit-* and Retry-After headers say when)"),
    503: (CapacityErrorBody, {
        "error": "no_capacity", "detail": "no STT capacity left: every instance is full, draining or gone",
        "pool": "stt", "retry_after_s": 60,
    }, "No capacity (Retry-After header)"),
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given error status codes, with models and examples."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        model, example, description = _EXAMPLES[code]
        out[code] = {"model": model, "description": description,
                     "content": {"application/json": {"example": example}}}
    return out


def _limit_body(exc: LimitExceeded) -> dict[str, Any]:
    return LimitErrorBody(
        error="rate_limited" if exc.status == 429 else "tier_limit", detail=exc.detail, limit=exc.limit,
        allowed=exc.allowed, tier=exc.tier, current=exc.current, resets_at=exc.resets_at,
        reset_hint=exc.reset_hint, retry_after_s=exc.retry_after_s,
    ).model_dump(mode="json")


def _with_rate_headers(request: Request, headers: dict[str, str]) -> dict[str, str]:
    return {**getattr(request.state, "rate_limit_headers", {}), **headers}


def install(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into the bodies above."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        body = {"error": exc.error, "detail": exc.detail, **exc.extra}
        return JSONResponse(body, exc.status, headers=_with_rate_headers(request, exc.headers))

    @app.exception_handler(LimitExceeded)
    async def limit_exceeded(request: Request, exc: LimitExceeded) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s is not None else {}
        return JSONResponse(_limit_body(exc), exc.status, headers=_with_rate_headers(request, headers))

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        """PostgreSQL unreachable: 503; text it cannot store (a NUL character): the client's fault, a 400."""
        dependency = unavailable_dependency(exc)
        if dependency is not None:
            return dependency_unavailable_response(request, dependency)
        if "invalid byte sequence" not in str(exc.orig):
            raise exc
        return JSONResponse({"error": "bad_request", "detail": "text must not contain NUL characters"}, 400,
                            headers=_with_rate_headers(request, {}))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse({"error": code, "detail": str(exc.detail)}, exc.status_code,
                            headers=_with_rate_headers(request, dict(exc.headers or {})))

    @app.exception_handler(RoomError)
    async def room_refused(request: Request, exc: RoomError) -> JSONResponse:
        status, code = _ROOM_ERRORS[type(exc)]
        return JSONResponse({"error": code, "detail": str(exc)}, status, headers=_with_rate_headers(request, {}))

    @app.exception_handler(NoCapacity)
    async def no_capacity(request: Request, exc: NoCapacity) -> JSONResponse:
        retry = exc.retry_after_s
        if retry is None:
            retry = request.app.state.settings.capacity_retry_after_s
        body = CapacityErrorBody(error="no_capacity", detail=str(exc), pool=exc.pool, retry_after_s=retry)
        return JSONResponse(body.model_dump(mode="json"), 503,
                            headers=_with_rate_headers(request, {"Retry-After": str(retry)}))

    async def unreachable(request: Request, exc: Exception) -> JSONResponse:
        dependency = unavailable_dependency(exc)
        if dependency is None:
            raise exc
        return dependency_unavailable_response(request, dependency)

    for error in (RedisConnectionError, RedisTimeoutError, asyncpg.PostgresConnectionError,
                  asyncpg.InterfaceError, OSError):
        app.add_exception_handler(error, unreachable)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(exc.errors()).model_dump(mode="json"), 422,
                            headers=_with_rate_headers(request, {}))

    document_validation_errors(app)


#: Status and error code of each room refusal.
_ROOM_ERRORS: dict[type[RoomError], tuple[int, str]] = {
    RoomNotFound: (404, "not_found"), RoomClosed: (409, "room_closed"), NotAdmitted: (403, "not_admitted"),
}


def validation_body(errors: Sequence[Any]) -> ValidationErrorBody:
    """The 422 body of pydantic's ``errors()``; ``detail`` is ``loc: msg`` joined by ``; `` (``body``
    left out of the location, as the fields of a JSON body are what people know)."""
    fields = [FieldError(loc=list(e["loc"]), msg=e["msg"], type=e["type"]) for e in errors]
    detail = "; ".join(
        f"{'.'.join(map(str, f.loc[1:] if f.loc[:1] == ['body'] else f.loc))}: {f.msg}" if f.loc else f.msg
        for f in fields
    )
    return ValidationErrorBody(error="validation_error", detail=detail or "invalid request", errors=fields)


def document_validation_errors(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI schema document :class:`ValidationErrorBody` for every 422 FastAPI adds
    (in place of its ``HTTPValidationError``, whose two component schemas are dropped).

    Source: FastAPI, "Extending OpenAPI" (overriding ``app.openapi``),
    https://fastapi.tiangolo.com/how-to/extending-openapi/
    """
    generate = app.openapi
    model, example, description = _EXAMPLES[422]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        body = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in body.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components[model.__name__] = body
        ref = {"$ref": f"#/components/schemas/{model.__name__}"}
        for methods in schema.get("paths", {}).values():
            for operation in methods.values():
                if "422" in operation.get("responses", {}):
                    content = {"application/json": {"schema": ref, "example": example}}
                    operation["responses"]["422"] = {"description": description, "content": content}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def resets_in(seconds: float) -> datetime:
    """The UTC time ``seconds`` from now."""
    return datetime.now(UTC) + timedelta(seconds=seconds)
