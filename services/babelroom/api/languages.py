"""``GET /api/languages``: the languages one can speak, with the speech-to-text model that hears them,
and for each the languages its captions can be read in, by which route, backend and licence.

The routes are :mod:`babelroom.mt.routes`' best for each pair over the MT backends installed on this
host (read from the model files, nothing loaded); ``libretranslate`` is not listed (what it serves is
only known by asking it). A pair that is not listed has no route: its captions show the source text,
flagged ``backend="no_route"``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from babelroom.api.deps import rate_limit, settings_of
from babelroom.api.errors import responses
from babelroom.config import Settings
from babelroom.mt.factory import installed_capabilities
from babelroom.mt.routes import OFFERED_LANGUAGES, RouteTable

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
    stt_model: str = Field(description="The speech-to-text model (Settings.stt_model)", examples=["small"])
    targets: list[TargetOut]


def catalogue_of(settings: Settings) -> list[SourceLanguageOut]:
    """Every offered language with its reachable targets (best route each), in offer order."""
    table = RouteTable(installed_capabilities(settings))
    out = []
    for src in OFFERED_LANGUAGES:
        targets = []
        for tgt in OFFERED_LANGUAGES:
            route = table.best(src, tgt)
            if route is not None:
                targets.append(TargetOut(language=tgt, route=route.languages, backend=route.name,
                                         licence=route.licence, chrf=route.chrf, measured=route.measured))
        out.append(SourceLanguageOut(language=src, stt_model=settings.stt_model, targets=targets))
    return out


@router.get("/api/languages", response_model=list[SourceLanguageOut])
async def catalogue(settings: Settings = Depends(settings_of)) -> list[SourceLanguageOut]:
    """The spoken languages, their STT model, and the caption languages each reaches (route, backend,
    licence, chrF). Public."""
    return catalogue_of(settings)
