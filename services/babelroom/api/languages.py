"""``GET /api/languages``: the languages one can speak, with the speech-to-text model that hears them,
and for each the languages its captions can be read in, by which route, backend and licence.

The routes are :mod:`babelroom.mt.routes`' best for each pair over the MT backends installed on this
host (read from the model files, nothing loaded); ``libretranslate`` is not listed (what it serves is
only known by asking it). A pair that is not listed has no route: its captions show the source text,
flagged ``backend="no_route"``.
"""

from __future__ import annotations

from typing import cast

import redis.asyncio as aioredis
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from babelroom.api.deps import rate_limit, settings_of
from babelroom.api.errors import responses
from babelroom.config import Settings
from babelroom.mt.factory import installed_capabilities
from babelroom.mt.routes import OFFERED_LANGUAGES, RouteTable
from babelroom.startup import StartupError
from babelroom.stt.models import SERVED_MODELS_KEY, resolve_model

router = APIRouter(tags=["languages"], dependencies=[Depends(rate_limit)], responses=responses(429))


class TargetOut(BaseModel):
    """A language the source can be read in."""

    language: str = Field(examples=["pt"])
    route: list[str] = Field(description="Languages the text passes through", examples=[["es", "en", "pt"]])
    backend: str = Field(description="What captions carry as translation.backend", examples=["apertium>en>bergamot"])
    licence: str = Field(description="Licences of the models on the route", examples=["GPL-2.0 + MPL-2.0"])
    chrf: float = Field(description="chrF of the route (measured, or the ranking prior when not)", examples=[52.6])
    measured: bool = Field(description="Whether chrf was measured on this route (NTREX-128)")


class SourceLanguageOut(BaseModel):
    """A language one can speak."""

    language: str = Field(examples=["es"])
    stt_model: str = Field(description="The speech-to-text model that hears it (Settings.stt_models, else "
                           "stt_model; auto: the best installed)", examples=["base"])
    targets: list[TargetOut]


def stt_model_name(settings: Settings, language: str, served: dict[str, str]) -> str:
    """The model serving ``language``: as the STT workers wrote it when they started (``served``), else
    as a worker with these settings would load it (files only, nothing loaded), else ``missing: …``."""
    if language in served:
        return served[language]
    try:
        return resolve_model(settings, language, warn=False).name
    except (FileNotFoundError, StartupError) as exc:
        return f"missing: {exc}"


async def served_models(redis: aioredis.Redis) -> dict[str, str]:
    """Language → model name, as the STT workers wrote it (:data:`~babelroom.stt.models.SERVED_MODELS_KEY`)."""
    raw = cast(dict[bytes, bytes], await redis.hgetall(SERVED_MODELS_KEY))
    return {key.decode(): value.decode() for key, value in raw.items()}


def catalogue_of(settings: Settings, served: dict[str, str] | None = None) -> list[SourceLanguageOut]:
    """Every offered language with its STT model (``served``: see :func:`stt_model_name`) and its reachable
    targets (best route each), in offer order."""
    table = RouteTable(installed_capabilities(settings))
    out = []
    for src in OFFERED_LANGUAGES:
        targets = []
        for tgt in OFFERED_LANGUAGES:
            route = table.best(src, tgt)
            if route is not None:
                targets.append(TargetOut(language=tgt, route=route.languages, backend=route.name,
                                         licence=route.licence, chrf=route.chrf, measured=route.measured))
        stt_model = stt_model_name(settings, src, served or {})
        out.append(SourceLanguageOut(language=src, stt_model=stt_model, targets=targets))
    return out


@router.get("/api/languages", response_model=list[SourceLanguageOut])
async def catalogue(request: Request, settings: Settings = Depends(settings_of)) -> list[SourceLanguageOut]:
    """The spoken languages, their STT model, and the caption languages each reaches (route, backend,
    licence, chrF). Public."""
    return catalogue_of(settings, await served_models(request.app.state.redis))
