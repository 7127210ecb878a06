"""The gateway's FastAPI application: the HTTP API, audio ingest, caption delivery and the ops routes.

:func:`create_app` composes three parts: the lifespan (:mod:`babelroom.gateway.lifespan`), the
middleware (:mod:`babelroom.gateway.middleware`) and the routes (:mod:`babelroom.gateway.routes`).
The OpenAPI schema is at ``/openapi.json``, the docs at ``/docs``.
"""

from __future__ import annotations

from fastapi import FastAPI

from babelroom import __version__
from babelroom.api import errors
from babelroom.api.operation_ids import operation_id
from babelroom.config import Settings, get_settings
from babelroom.gateway.lifespan import gateway_lifespan
from babelroom.gateway.middleware import install_middleware
from babelroom.gateway.routes import include_routes


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway app; Redis and PostgreSQL are connected in the lifespan."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Babelroom API",
        version=__version__,
        lifespan=gateway_lifespan(settings),
        generate_unique_id_function=operation_id,
        description="Accounts and tiers, rooms with capacity admission, transcript history and "
        "administration. Errors are JSON `{error, detail}`; tier limits add `limit`, `allowed`, `tier`, "
        "`resets_at`. Every `/api` response carries `RateLimit-*` headers.",
    )
    errors.install(app)
    install_middleware(app, settings)
    include_routes(app, settings)
    return app
