"""Error bodies of the HTTP API, their OpenAPI documentation, and the handlers that produce them.

Every error is JSON with ``error`` (a stable code) and ``detail`` (for people). Tier limits add which
limit, its value, the tier and when it resets (:class:`LimitErrorBody`); a full pool adds which pool
(:class:`CapacityErrorBody`) and a ``Retry-After`` header. Validation errors keep FastAPI's 422 shape.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

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
    async def unstorable_text(request: Request, exc: DBAPIError) -> JSONResponse:
        """PostgreSQL refuses text it cannot store (a NUL character): the client's fault, a 400."""
        if "invalid byte sequence" not in str(exc.orig):
            raise exc
        return JSONResponse({"error": "bad_request", "detail": "text must not contain NUL characters"}, 400,
                            headers=_with_rate_headers(request, {}))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse({"error": code, "detail": str(exc.detail)}, exc.status_code,
                            headers=_with_rate_headers(request, dict(exc.headers or {})))


def resets_in(seconds: float) -> datetime:
    """The UTC time ``seconds`` from now."""
    return datetime.now(UTC) + timedelta(seconds=seconds)
